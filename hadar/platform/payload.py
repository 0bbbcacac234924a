"""Reading what a client sent, before anything acts on it: the body (within its size limit, as
JSON only), the query string (as UTF-8 only) and the text a surface passes on. Every refusal is a
400 `validation_error` naming what was wrong, never a 500 from a parser or the database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from hadar.errors import PayloadTooLarge, ValidationError

MAX_JSON_DEPTH = 32  # deeper bodies are refused before anything walks them recursively
_JSON_TYPES = ("application/json", "application/graphql-response+json")


async def read_limited(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """A request body of at most `limit` bytes (declared or streamed); 413 past it, without
    reading further."""
    if declared is not None:
        try:
            too_big = int(declared) > limit
        except ValueError:
            raise ValidationError(
                "Content-Length is not a number", field="Content-Length"
            ) from None
        if too_big:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def check_content_type(value: str | None, raw: bytes) -> None:
    """A body is read only as JSON: one labelled anything else (a form, text) is refused rather
    than guessed at. An unlabelled body is read as JSON, as most clients send it."""
    if value is None or not raw.strip():
        return
    media = value.split(";", 1)[0].strip().lower()
    if media not in _JSON_TYPES and not media.endswith("+json"):
        raise ValidationError(
            "the request body must be JSON (Content-Type: application/json)",
            field="Content-Type",
        )


def check_query_string(raw: bytes) -> None:
    """Every query parameter decodes as UTF-8: invalid bytes (a lone surrogate among them) would
    otherwise become U+FFFD silently and be matched, stored or echoed as something else."""
    for part in raw.split(b"&"):
        name, _, value = part.partition(b"=")
        for piece in (name, value):
            try:
                unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                label = unquote_to_bytes(name).decode("utf-8", "replace")
                raise ValidationError(f"{label} is not valid UTF-8", field=label) from None


def check_text(value: str, field_name: str) -> str:
    """`value` unless it holds NUL, which no database column may store (400 naming the field)."""
    if "\x00" in value:
        raise ValidationError(f"{field_name} must not contain NUL characters", field=field_name)
    return value


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body (None when empty): 400 for bad UTF-8 or JSON, a key given twice,
    integers beyond 64 bits or nesting deeper than MAX_JSON_DEPTH. (NUL is refused by the input
    models, which can name the field.)"""
    if not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = "not valid UTF-8" if "utf-8" in str(exc).lower() else "not valid JSON"
        raise ValidationError(f"the request body is {reason}", field="body") from None
    _walk(value, 1)
    if isinstance(value, dict | list):
        _refuse_repeated_keys(raw)
    return value


def _walk(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(
            f"the request body nests deeper than {MAX_JSON_DEPTH} levels", field="body"
        )
    if isinstance(value, dict):
        for item in value.values():
            _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _walk(item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise ValidationError("the request body holds an integer beyond 64 bits", field="body")


class _Repeated(dict[str, Any]):
    """Stands in for an object that names a key twice, so the walk can say where it is."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            return _Repeated(key)
        out[key] = value
    return out


def _refuse_repeated_keys(raw: bytes) -> None:
    # orjson keeps the last of a repeated key silently; another reader of the same bytes (a
    # proxy, the client's own log) may keep the first. The body is ambiguous, so it is refused.
    # The stdlib parser reports duplicates; orjson has already vouched for everything else.
    parsed = json.loads(raw, object_pairs_hook=_pairs)
    path = _repeated_at(parsed, "body")
    if path is not None:
        raise ValidationError(f"{path} is given more than once", field=path)


def _repeated_at(value: Any, path: str) -> str | None:
    if isinstance(value, _Repeated):
        return f"{path}.{value.key}"
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _repeated_at(item, where)
        if found is not None:
            return found
    return None
