"""The base of every fake provider: a Starlette app on a free loopback port, served by uvicorn
as a task on the test's event loop, that records every request and can be scripted to fail.

    async with FakeMeta() as meta:          # started on 127.0.0.1:<free port>
        meta.fail_next(Fault(status=503), times=2)
        ...                                  # point an adapter at meta.url
        assert len(meta.requests) == 3

A queued `Fault` answers the next request in place of the provider's logic (after its
`delay`, which a test sets longer than the client's read timeout to provoke a timeout);
a Fault with `status=None` only delays, then the provider answers normally.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[["Recorded", Request], Awaitable[Response]]


@dataclass
class Recorded:
    """One request as the fake received it: exact raw bytes plus the parsed form or JSON."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    form: dict[str, str] | None = None
    json: Any = None


@dataclass
class Fault:
    """A scripted answer: `body` as JSON (dict/list), raw bytes, or text."""

    status: int | None = 500
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        """The scripted answer."""
        if isinstance(self.body, bytes):
            content = self.body
            media = "application/octet-stream"
        elif isinstance(self.body, str):
            content, media = self.body.encode(), "text/plain"
        elif self.body is None:
            content, media = b'{"error": "fake fault"}', "application/json"
        else:
            content, media = orjson.dumps(self.body), "application/json"
        assert self.status is not None
        return Response(content, status_code=self.status, media_type=media, headers=self.headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer, UTF-8 as is."""
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


class FakeProvider:
    """Subclasses declare `routes()` as (path, methods, handler) and answer in real shapes."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.faults: deque[Fault] = deque()
        self._sock: socket.socket | None = None
        self._port = 0  # kept after stop(): a stopped fake refuses connections there
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The fake's base URL, e.g. http://127.0.0.1:40123."""
        return f"http://127.0.0.1:{self._bind()}"

    def _bind(self) -> int:
        # Bound lazily, so a fake built only to sign webhooks holds no socket.
        if self._sock is None and not self._port:
            self._sock = socket.socket(socket.AF_INET)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(("127.0.0.1", 0))
            self._port = self._sock.getsockname()[1]
        return self._port

    def routes(self) -> list[tuple[str, list[str], Handler]]:
        raise NotImplementedError

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` requests with `fault`."""
        self.faults.extend([fault] * times)

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            recorded = await _record(request)
            self.requests.append(recorded)
            if self.faults:
                fault = self.faults.popleft()
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    return fault.response()
            return await handler(recorded, request)

        return endpoint

    def app(self) -> Starlette:
        """The Starlette app: every route recorded and fault-injectable."""
        return Starlette(
            routes=[
                Route(path, self._endpoint(handler), methods=methods)
                for path, methods, handler in self.routes()
            ]
        )

    async def start(self) -> None:
        """Serve on the bound loopback port until stop()."""
        config = uvicorn.Config(
            self.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._bind()
        assert self._sock is not None, "a fake starts once"
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class _QuietServer(uvicorn.Server):
    """A server that leaves signal handlers alone: several fakes start and stop in any order,
    and each would otherwise restore another's handler on exit (Ctrl+C belongs to pytest)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _record(request: Request) -> Recorded:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    form: dict[str, str] | None = None
    parsed: Any = None
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif content_type.startswith("application/json") and body:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
    return Recorded(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        form=form,
        json=parsed,
    )
