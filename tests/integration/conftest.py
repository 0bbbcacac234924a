"""Integration helpers: the in-process app over the shared test Redis, a private redis-server
that a test may stop and restart, and `hadar serve` processes on free ports over a fresh
PostgreSQL database and Redis.

Redis tests need HADAR_TEST_REDIS_URL (`make test` always sets it) and fail, not skip, without
it. Multi-process tests need PostgreSQL and skip only on the SQLite pass
(HADAR_TEST_DATABASE_URL unset).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hadar.app import create_app
from hadar.services import keys
from hadar.settings import Settings
from tests.conftest import SECRET
from tests.dbutil import create_database, drop_database

HADAR = str(Path(sys.executable).with_name("hadar"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shared_redis_url() -> str:
    url = os.environ.get("HADAR_TEST_REDIS_URL")
    if not url:
        pytest.fail(
            "HADAR_TEST_REDIS_URL is not set: these tests need a real redis-server. Run "
            '`scripts/services.sh start && eval "$(scripts/services.sh env)"` (make test does).',
            pytrace=False,
        )
    return url


async def mint(
    *, plan: str = "enterprise", rate_limit: int | None = None, role: str = "admin"
) -> keys.MintedKey:
    """A key of a fresh tenant in the session database (for in-process apps)."""
    return await keys.mint_for_tenant(
        slug=f"r-{uuid.uuid4().hex[:12]}",
        environment="test",
        role=role,
        secret=SECRET,
        plan=plan,
        rate_limit=rate_limit,
    )


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


# ----------------------------------------------------------------- in-process apps ----


AppClient = Callable[..., Any]


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[AppClient]:
    """app_client(redis_url=None, address="127.0.0.1") -> (app, httpx client) over the
    session database; each app gets its own store, closed afterwards."""
    stack = contextlib.AsyncExitStack()

    async def make(redis_url: str | None = None, address: str = "127.0.0.1") -> Any:
        app = create_app(dataclasses.replace(settings, redis_url=redis_url))
        stack.push_async_callback(app.state.runtime.guard.store.aclose)
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://hadar.test")
        )
        return app, client

    async with stack:
        yield make


# ------------------------------------------------------------------- private Redis ----


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port; stop() and start() again on
    the same port simulate an outage without touching the shared one."""

    def __init__(self, workdir: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed (scripts/services.sh start installs it)")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.workdir / f"redis-{self.port}.log", "ab") as log:
            args = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            args += ["--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)]
            self.proc = subprocess.Popen(
                ["redis-server", *args], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"private redis-server did not start on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------- `hadar serve` processes ----


@dataclasses.dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    """Several `hadar serve` processes sharing one fresh PostgreSQL database and Redis."""

    def __init__(self, database_url: str, redis_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.workdir = workdir
        self.servers: list[Server] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
        env.update(
            HADAR_DATABASE_URL=self.database_url,
            HADAR_REDIS_URL=self.redis_url,
            HADAR_SECRET_KEY=SECRET,
        )
        return env

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [HADAR, *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hadar {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    def mint(
        self, *, plan: str = "enterprise", rate_limit: int | None = None, role: str = "admin"
    ) -> dict[str, Any]:
        args = ["keys", "create", "--tenant", f"m-{uuid.uuid4().hex[:12]}", "--env", "test"]
        args += ["--role", role, "--plan", plan, "--json"]
        if rate_limit is not None:
            args += ["--rate-limit", str(rate_limit)]
        return dict(json.loads(self.cli(*args)))

    async def start(self, count: int) -> list[Server]:
        started = []
        for _ in range(count):
            port = free_port()
            log = self.workdir / f"serve-{port}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [HADAR, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=self.env(),
                    cwd=self.workdir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Server(proc, port, log))
        self.servers += started
        async with httpx.AsyncClient(timeout=1.0) as client:
            for server in started:
                await self._wait_ready(client, server)
        return started

    async def _wait_ready(self, client: httpx.AsyncClient, server: Server) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{server.url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"hadar serve did not come up:\n{server.log.read_text()[-3000:]}")

    def stop(self) -> None:
        for server in self.servers:
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in self.servers:
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(5)
        self.servers = []


def postgres_server_url() -> str:
    server = os.environ.get("HADAR_TEST_DATABASE_URL")
    if not server:
        pytest.skip("multi-process tests need PostgreSQL (HADAR_TEST_DATABASE_URL): PG pass only")
    return server


@pytest.fixture(scope="session")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """Two `hadar serve` processes over a fresh PostgreSQL database and the shared Redis."""
    server = postgres_server_url()
    redis_url = shared_redis_url()
    base, _, _ = server.rpartition("/")
    database_url = f"{base}/hadar_mp_{uuid.uuid4().hex[:10]}"
    await create_database(database_url)
    group = Cluster(database_url, redis_url, tmp_path_factory.mktemp("cluster"))
    try:
        group.cli("migrate")
        await group.start(2)
        yield group
    finally:
        group.stop()
        await drop_database(database_url)
