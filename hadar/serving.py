"""What `hadar serve` runs: the app built once per server process with the garbage collector
set for a long-lived server, and uvicorn's httptools protocol with a limit on the request head.

The collector: CPython's default thresholds (700, 10, 10) run a young collection each time
tracked objects grow by 700, which is every five requests or so here (a lead POST leaves about
135 for the collector), and up to every 100th of those walks the whole heap: the modules, the
GraphQL schema, the models and the routes, about 126,000 objects that live as long as the
process. Once the app is built those are moved out of the collector's sight (`gc.freeze`), and
young collections run every 50,000 allocations instead. Cycles are still collected, a few
hundred requests later. Measured side by side in one run (bench/graphql_bench.py --baseline, wrk
-c32): on PostgreSQL GraphQL `leads(first: 25)` went from 737 to 854 req/s and the REST list
from 1,260 to 1,331; on SQLite both moved by 2 % or less, within the noise.

httptools buffers a header until it is complete and uvicorn sets no limit of its own, so one
endless header line would be read into memory whole. Here the bytes of a request's head (request
line and headers, counted raw as they arrive and again as the parser reports them) are capped at
MAX_HEAD_BYTES: past it the client gets 431 in the JSON envelope and the connection is closed,
and nothing more is read.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from hadar.errors import ValidationError
from hadar.platform.tracing import trace_id_from

if TYPE_CHECKING:
    from starlette.applications import Starlette

MAX_HEAD_BYTES = 32 * 1024
SERVED_GC_THRESHOLDS = (50_000, 20, 100)
log = logging.getLogger("hadar")


def create_served_app() -> Starlette:
    """The app of one `hadar serve` process (uvicorn's factory): settings from the environment,
    and everything built at start-up frozen out of the collector's generations."""
    from hadar.app import create_app

    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVED_GC_THRESHOLDS)
    return app


def head_too_large_response(trace_id: str) -> bytes:
    """The whole 431 answer, bytes on the wire: the error envelope, closing the connection."""
    error = ValidationError(f"request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB")
    body = orjson.dumps(
        {
            "data": None,
            "error": {"code": error.code, "message": error.message, "trace_id": trace_id},
        }
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-trace-id", trace_id.encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"connection", b"close"),
    ]
    lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return STATUS_LINE[431] + lines + b"\r\n" + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a request head over MAX_HEAD_BYTES with 431."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # the next bytes belong to a request line or headers
        self._raw_head = 0  # bytes received since this head began
        self._parsed_head = 0  # URL + header names and values the parser has reported
        self._refused = False

    def data_received(self, data: bytes) -> None:
        """Feed the parser no more than the head may still take; refuse the request once the
        head reaches the limit unfinished."""
        if self._refused:
            return
        if not self._in_head:
            super().data_received(data)
            self._refuse_if_over()
            return
        room = MAX_HEAD_BYTES - self._raw_head
        chunk, rest = data[:room], data[room:]
        self._raw_head += len(chunk)
        super().data_received(chunk)
        if self._refuse_if_over() or self.transport.is_closing():
            return
        if self._in_head and self._raw_head >= MAX_HEAD_BYTES:
            self._refuse()
            return
        # Here the head ended inside `chunk` (and maybe a whole request with it): go on.
        if rest:
            self.data_received(rest)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._parsed_head = 0

    def on_url(self, url: bytes) -> None:
        self._parsed_head += len(url)
        if self._parsed_head <= MAX_HEAD_BYTES:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_head += len(name) + len(value)
        if self._parsed_head <= MAX_HEAD_BYTES:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        # A pipelined request may have grown past the limit inside one read: never run it.
        self._in_head = False
        if self._parsed_head <= MAX_HEAD_BYTES:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._parsed_head <= MAX_HEAD_BYTES:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._parsed_head <= MAX_HEAD_BYTES:
            super().on_message_complete()
        self._in_head = True
        self._raw_head = 0

    def _refuse_if_over(self) -> bool:
        if self._parsed_head > MAX_HEAD_BYTES and not self._refused:
            self._refuse()
        return self._refused

    def _refuse(self) -> None:
        self._refused = True
        trace_id = trace_id_from(None)
        # Neither the head nor the client's address: the line says only what was refused.
        log.warning(
            "request head over %d bytes refused with 431 (trace_id=%s)", MAX_HEAD_BYTES, trace_id
        )
        if not self.transport.is_closing():
            self.transport.write(head_too_large_response(trace_id))
            self.transport.close()
