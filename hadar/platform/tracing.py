"""The trace id of the current request: from W3C `traceparent` when sent, else a new UUID."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_current: ContextVar[str | None] = ContextVar("hadar_trace_id", default=None)


def trace_id_from(traceparent: str | None) -> str:
    """The traceparent's trace-id when it is a valid, non-zero one; otherwise a fresh UUID."""
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return str(uuid.uuid4())


def set_trace_id(value: str) -> None:
    _current.set(value)


def current_trace_id() -> str | None:
    return _current.get()
