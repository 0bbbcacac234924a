"""Tests against a real `hadar serve` process (shared by tests/fuzz and tests/browser)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.dbutil import create_database, drop_database

HADAR = str(Path(sys.executable).with_name("hadar"))
SECRET = "live-server-secret-0123456789-abcdefghij"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str
    token: str  # an enterprise-plan test admin key


def _database_url(tmp: Path) -> str:
    """SQLite in `tmp`, or on the PostgreSQL pass a fresh database on the test server."""
    server = os.environ.get("HADAR_TEST_DATABASE_URL")
    if not server:
        return f"sqlite://{tmp / 'hadar.db'}"
    url = f"{server.rpartition('/')[0]}/hadar_live_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(url))
    return url


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env["HADAR_DATABASE_URL"] = _database_url(tmp)
    env["HADAR_SECRET_KEY"] = SECRET
    return env


@contextlib.contextmanager
def live_server(
    tmp: Path,
    *,
    rate_limit: int | None = None,
    env: dict[str, str] | None = None,
    serve_args: tuple[str, ...] = (),
) -> Iterator[LiveServer]:
    """Migrate a fresh SQLite database, mint a key with the CLI, serve on a free port."""
    env = {**_env(tmp), **(env or {})}
    subprocess.run([HADAR, "migrate"], env=env, cwd=tmp, check=True, capture_output=True)
    create = [HADAR, "keys", "create", "--tenant", "docs", "--env", "test", "--role", "admin"]
    create += ["--plan", "enterprise"]
    if rate_limit is not None:
        create += ["--rate-limit", str(rate_limit)]
    done = subprocess.run(create, env=env, cwd=tmp, check=True, capture_output=True, text=True)
    token = done.stdout.strip()
    port = free_port()
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [HADAR, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text())
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("hadar serve did not become healthy in 30 s")
            time.sleep(0.1)
        yield LiveServer(url=url, token=token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if not env["HADAR_DATABASE_URL"].startswith("sqlite"):
            asyncio.run(drop_database(env["HADAR_DATABASE_URL"]))
