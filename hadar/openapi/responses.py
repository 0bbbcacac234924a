"""Response objects: the envelope for success and for each documented error, with headers."""

from __future__ import annotations

from typing import Any

from hadar import errors
from hadar.errors import HadarError, PayloadTooLarge

TRACE_EXAMPLE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def error_classes() -> list[type[HadarError]]:
    """The documented error tree of hadar.errors, minus internal_error (never expected)."""
    found: list[type[HadarError]] = []
    todo = [HadarError]
    while todo:
        cls = todo.pop(0)
        # Only the one tree: private subclasses elsewhere (GraphQL plumbing) are not codes.
        todo.extend(sub for sub in cls.__subclasses__() if sub.__module__ == errors.__name__)
        if cls is not HadarError:
            found.append(cls)
    return found


def statuses_of(code: str, *, mutation: bool) -> list[int]:
    """The HTTP statuses error `code` answers with (413 only where a body is read)."""
    return sorted(
        {
            cls.status
            for cls in error_classes()
            if cls.code == code and (mutation or not issubclass(cls, PayloadTooLarge))
        }
    )


HEADERS: dict[str, dict[str, Any]] = {
    "X-Trace-Id": {
        "description": "This request's trace id (the body's `trace_id` on errors); quote it "
        "to support. A W3C `traceparent` request header provides it.",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "Requests a minute this key (or, unauthenticated, this address) may make.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current budget.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) when the budget is whole again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with "
        "the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def header_components() -> dict[str, Any]:
    """Each header twice, required and optional, for responses to reference."""
    out: dict[str, Any] = {}
    for name, header in HEADERS.items():
        out[name] = {**header, "required": True}
        out[f"{name}-optional"] = {**header, "required": False}
    return out


def _header(name: str, *, required: bool) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}{'' if required else '-optional'}"}


def response_headers(status: int, *, mutation: bool) -> dict[str, Any]:
    """Trace and rate-limit headers on every response; the status-specific ones beside them."""
    metered = status != 503  # a fail-closed 503 is refused before metering
    headers = {"X-Trace-Id": _header("X-Trace-Id", required=True)}
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        headers[name] = _header(name, required=metered)
    if status in (409, 429):
        # Every 429 carries it; a 409 only while the first request with the key still runs.
        headers["Retry-After"] = _header("Retry-After", required=status == 429)
    if mutation and status < 500 and status not in (400, 401, 403, 413, 429):
        headers["Idempotent-Replayed"] = _header("Idempotent-Replayed", required=False)
    return headers


def error_example(cls: type[HadarError]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": cls.code, "message": cls.default_message}
    if cls.code == "validation_error":
        error["field"] = "lead.email"
        error["message"] = "lead.email must be a valid email address"
    error["trace_id"] = TRACE_EXAMPLE
    return {"data": None, "error": error}


def error_response(status: int, codes: list[str], *, mutation: bool) -> dict[str, Any]:
    classes = [c for c in error_classes() if c.status == status and c.code in codes]
    schema = {
        "allOf": [
            {"$ref": "#/components/schemas/ErrorEnvelope"},
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
        ]
    }
    return {
        "description": " or ".join(f"`{c}`" for c in codes),
        "headers": response_headers(status, mutation=mutation),
        "content": {
            "application/json": {
                "schema": schema,
                "examples": {c.code: {"value": error_example(c)} for c in classes},
            }
        },
    }


def success_response(
    description: str, data: dict[str, Any], *, mutation: bool, status: int
) -> dict[str, Any]:
    return {
        "description": description,
        "headers": response_headers(status, mutation=mutation),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data", "error"],
                    "additionalProperties": False,
                    "properties": {
                        "data": data,
                        "error": {"type": "null"},
                    },
                }
            }
        },
    }
