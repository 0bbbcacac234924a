"""Reading request bodies and query strings into plain values, with errors that name the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request

from hadar.errors import PayloadTooLarge, ValidationError


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refused with 413 past `max_bytes` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_big = int(declared) > max_bytes
        except ValueError:
            raise ValidationError(
                "Content-Length is not a number", field="Content-Length"
            ) from None
        if too_big:
            raise PayloadTooLarge(f"the request body exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the request body exceeds {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw` (None when empty); ValidationError for bad UTF-8 or bad JSON."""
    if not raw.strip():
        return None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the request body is not valid UTF-8", field="body") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationError("the request body is not valid JSON", field="body") from None


def as_int(name: str) -> Callable[[str], int]:
    def convert(value: str) -> int:
        try:
            return int(value)
        except ValueError:
            raise ValidationError(f"{name} must be an integer", field=name) from None

    return convert


def as_datetime(name: str) -> Callable[[str], datetime]:
    def convert(value: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value.replace(" ", "+"))
        except ValueError:
            raise ValidationError(f"{name} must be an ISO 8601 date-time", field=name) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    return convert


def as_str(name: str, max_length: int = 320) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if not 1 <= len(value) <= max_length:
            raise ValidationError(f"{name} must be 1-{max_length} characters", field=name)
        return value

    return convert


def query(request: Request, spec: dict[str, Callable[[str], Any]]) -> dict[str, Any]:
    """Query parameters converted by `spec`; unknown or repeated parameters are refused."""
    out: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name not in spec:
            raise ValidationError(f"{name} is not a recognised query parameter", field=name)
        if name in out:
            raise ValidationError(f"{name} may be given only once", field=name)
        out[name] = spec[name](value)
    return out


PAGE_PARAMS: dict[str, Callable[[str], Any]] = {
    "limit": as_int("limit"),
    "cursor": as_str("cursor", 512),
}
