"""Shared bench plumbing: free ports, servers as subprocesses, wrk runs parsed into figures."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def server(args: list[str], env: dict[str, str], health: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess until the block ends; its output goes to a temp log."""
    log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=log, stderr=log, cwd=ROOT)
    try:
        wait_http(health)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def need_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    return wrk


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str,
    *,
    seconds: int = 8,
    connections: int = 32,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """One bounded wrk run on loopback: requests/s, p50 and p99 latency in ms, non-2xx count."""
    args = [need_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    if script:
        args += ["-s", script]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float:
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": float(bad.group(1)) if bad else 0.0,
    }


async def mint_bench_key(secret: str) -> Any:
    """An admin test key of the `bench` tenant that the rate limiter never throttles
    (the database must be open)."""
    from hadar.services import keys

    return await keys.mint_for_tenant(
        slug="bench",
        environment="test",
        role="admin",
        secret=secret,
        plan="enterprise",
        rate_limit=1_000_000,
    )
