"""Forgiving readers for decoded JSON: each returns None instead of raising on a wrong type."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def decode(payload: object) -> Any:
    """Raw bytes or text decoded as JSON (None when it is not JSON); other values as given."""
    if isinstance(payload, bytes | bytearray | memoryview):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return None
    return payload


def obj(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text(value: Any) -> str | None:
    """A non-empty string, or a number as text; else None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def number(value: Any) -> float | None:
    """A JSON number (or numeric string) as float; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def unix_seconds(value: Any) -> datetime | None:
    """Unix seconds (a number or, as Meta sends it, a string) as an aware UTC datetime."""
    seconds = number(value)
    if seconds is None or not 0 <= seconds < 253402300800:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def unix_millis(value: Any) -> datetime | None:
    """Unix milliseconds (Vapi's `timestamp`) as an aware UTC datetime."""
    millis = number(value)
    return None if millis is None else unix_seconds(millis / 1000)


def iso(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (`2026-10-14T13:00:02.000Z`) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def string_map(value: Any) -> dict[str, str]:
    """A JSON object of scalars as `{str: str}` (metadata); other entries are dropped."""
    return {str(k): t for k, v in obj(value).items() if (t := text(v)) is not None}
