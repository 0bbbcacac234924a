"""The `{data, error}` envelope: the REST translator of HadarError."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from hadar.errors import HadarError
from hadar.platform.tracing import current_trace_id


def data_body(data: Any) -> bytes:
    return orjson.dumps({"data": data, "error": None})


def error_body(err: HadarError, trace_id: str | None = None) -> bytes:
    error: dict[str, Any] = {"code": err.code, "message": err.message}
    if err.field is not None:
        error["field"] = err.field
    error["trace_id"] = trace_id or current_trace_id()
    return orjson.dumps({"data": None, "error": error})


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_response(err: HadarError, headers: dict[str, str] | None = None) -> Response:
    return json_response(err.status, error_body(err), {**(headers or {}), **err.headers})
