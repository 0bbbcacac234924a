"""Fixtures for the operator-facing tests: captured JSON log lines and apps built with a given
observability configuration."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import io
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from hadar.app import create_app
from hadar.observability import logs
from hadar.observability.config import ObservabilityConfig
from hadar.settings import Settings

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_log() -> Iterator[Lines]:
    """The JSON lines our handler writes (every logger, INFO and up) while the test runs."""
    stream = io.StringIO()
    handler = logs.install_filters(logging.StreamHandler(stream), "json")
    handler.setLevel(logging.INFO)  # what `hadar serve` writes (the suite capture opens DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) or logging.INFO)

    def lines() -> list[dict[str, Any]]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "hadar.access"]


AppFactory = Callable[..., Any]


@pytest.fixture
async def app_with(settings: Settings) -> AsyncIterator[AppFactory]:
    """app_with(**observability) -> an httpx client over a fresh app with that configuration."""
    stack = contextlib.AsyncExitStack()

    async def make(**config: Any) -> httpx.AsyncClient:
        app = create_app(settings, ObservabilityConfig(**config))
        stack.push_async_callback(app.state.runtime.guard.store.aclose)
        transport = httpx.ASGITransport(app=app)
        return await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://hadar.test")
        )

    async with stack:
        yield make


class Sink:
    """A loopback HTTP server on its own thread that records every POST and answers `status`
    (a webhook receiver, a Sentry ingestion endpoint)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                sink.received.append((self.path, dict(self.headers), body))
                self.send_response(sink.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    try:
        yield server
    finally:
        server.close()
