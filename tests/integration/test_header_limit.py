"""The 32 KiB limit on request line + headers (SPEC 5), against a real `hadar serve` process:
a head just under it is served, one just over it gets 431 in the JSON envelope, and a 64 MiB
header is cut off early, without the server reading (or holding) it."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.conftest import SECRET
from tests.integration.conftest import HADAR, free_port

KIB = 1024
MIB = 1024 * KIB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(port, pid) of `hadar serve` over a SQLite file of its own, no Redis, no worker."""
    workdir = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env.update(HADAR_DATABASE_URL=f"sqlite://{workdir / 'hadar.db'}", HADAR_SECRET_KEY=SECRET)
    port = free_port()
    log = workdir / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [HADAR, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError):
                status, _, _ = exchange(port, head_of(0))
                if status == 200:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"hadar serve did not come up:\n{log.read_text()[-3000:]}")
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
    # Nothing of the oversized headers may reach the log.
    assert "aaaaaaaaaaaaaaaa" not in log.read_text()


def head_of(padding: int) -> bytes:
    """A GET /healthz whose request line + headers total about `padding` bytes more than a
    minimal request, spread over headers of 1 KiB."""
    lines = [b"GET /healthz HTTP/1.1", b"Host: 127.0.0.1"]
    index = 0
    while padding > 0:
        value = b"a" * min(1000, padding)
        lines.append(b"X-Pad-%d: %s" % (index, value))
        padding -= len(value) + 12
        index += 1
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def exchange(port: int, request: bytes) -> tuple[int | None, dict[str, str], bytes]:
    """Send `request`, read the answer until the server closes: (status, headers, body), status
    None when the connection was closed without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(request)
        data = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                data += chunk
    if not data:
        return None, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_headers_just_under_32_kib_are_served(server: tuple[int, int]) -> None:
    port, _ = server
    request = head_of(31 * KIB)
    assert 31 * KIB < len(request) < 32 * KIB
    status, _, body = exchange(port, request)
    assert status == 200, body
    assert orjson.loads(body)["data"] == {"status": "ok"}


def test_headers_just_over_32_kib_get_431_in_the_envelope(server: tuple[int, int]) -> None:
    port, _ = server
    request = head_of(33 * KIB)
    assert len(request) > 33 * KIB
    status, headers, body = exchange(port, request)
    assert status == 431, body
    error = orjson.loads(body)["error"]
    assert error["code"] == "validation_error"
    assert headers["x-trace-id"] == error["trace_id"]
    assert headers["content-type"].startswith("application/json")
    assert headers["cache-control"] == "no-store"
    assert headers["connection"] == "close"
    assert "aaaa" not in body.decode()


def test_one_huge_header_line_is_refused_too(server: tuple[int, int]) -> None:
    port, _ = server
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (40 * KIB) + b"\r\n\r\n"
    status, _, _ = exchange(port, request)
    assert status in (431, None)


def test_a_long_request_line_counts(server: tuple[int, int]) -> None:
    port, _ = server
    request = b"GET /healthz?q=" + b"a" * (33 * KIB) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, _ = exchange(port, request)
    assert status in (431, None)


def test_a_64_mib_header_stream_is_cut_off_early(server: tuple[int, int]) -> None:
    port, pid = server
    before = rss_kib(pid)
    sent = 0
    answered = b""
    started = time.monotonic()
    chunk = b"a" * (64 * KIB)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setblocking(False)
        pending = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
        while sent < 64 * MIB and time.monotonic() - started < 20:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                try:
                    answered = sock.recv(65536)
                except OSError:
                    pass
                break  # an answer, or the connection closed
            if writable:
                try:
                    sent += sock.send(pending or chunk)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    break  # reset: the server stopped reading and closed
                pending = b""
    elapsed = time.monotonic() - started
    grown = rss_kib(pid) - before
    # Only what fits in the loopback socket buffers got out before the server closed.
    assert sent < 16 * MIB, f"sent {sent / MIB:.1f} MiB before being cut off"
    assert elapsed < 10
    assert grown < 5 * KIB, f"server RSS grew by {grown} KiB"
    assert answered == b"" or answered.startswith(b"HTTP/1.1 431")
    print(f"cut off after {sent / MIB:.2f} MiB sent, {elapsed:.3f} s, RSS {grown:+d} KiB")


def test_the_limit_is_per_request_on_a_kept_alive_connection(server: tuple[int, int]) -> None:
    port, _ = server
    keep = head_of(20 * KIB).replace(b"Connection: close", b"Connection: keep-alive")
    request = keep + keep + head_of(20 * KIB)  # pipelined: 60 KiB of heads, each under 32
    _, _, body = exchange(port, request)
    assert body.count(b'"status":"ok"') == 3, body
