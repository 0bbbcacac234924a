"""Keyset pages and the signed, opaque cursors that walk them.

A cursor carries the id of the last row of its page (ids are ULIDs stamped with created_at,
so id order is exactly `created_at desc, id desc`), signed with HMAC and bound to the tenant,
environment, list and filters it was issued for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from hadar.errors import ValidationError

T = TypeVar("T")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    has_more: bool
    limit: int
    binding: Mapping[str, Any] | None = None  # what this list's cursors are bound to

    def cursor_after(self, item_id: str) -> str:
        """A cursor that resumes this list right after `item_id` (a Relay edge cursor)."""
        assert self.binding is not None, "page built without its cursor binding"
        return signer().issue(item_id, self.binding)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """Issues and checks cursors; one per process, keyed by HADAR_SECRET_KEY."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"hadar-cursor\x00" + secret.encode()).digest()

    def _binding(self, binding: Mapping[str, Any]) -> str:
        canonical = orjson.dumps(dict(binding), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()[:16]

    def _mac(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest()[:18])

    def issue(self, last_id: str, binding: Mapping[str, Any]) -> str:
        """A cursor that resumes after `last_id`, valid only for the same `binding`."""
        payload = orjson.dumps({"after": last_id, "b": self._binding(binding)})
        return f"{_b64(payload)}.{self._mac(payload)}"

    def read(self, cursor: str, binding: Mapping[str, Any]) -> str:
        """The id to resume after; ValidationError(field=cursor) when tampered or foreign."""
        error = ValidationError(
            "cursor is invalid, tampered with, or was issued for another list or filters",
            field="cursor",
        )
        if len(cursor) > 512 or cursor.count(".") != 1:
            raise error
        encoded, mac = cursor.split(".")
        try:
            payload = _unb64(encoded)
        except (ValueError, TypeError):
            raise error from None
        # As bytes: compare_digest refuses non-ASCII str (a mangled cursor would be a 500).
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise error
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise error from None
        if not isinstance(data, dict) or data.get("b") != self._binding(binding):
            raise error
        after = data.get("after")
        if not isinstance(after, str):
            raise error
        return after


_signer: CursorSigner | None = None


def configure(secret: str) -> None:
    """Install the process-wide signer (called once at bootstrap)."""
    global _signer
    _signer = CursorSigner(secret)


def signer() -> CursorSigner:
    assert _signer is not None, "hadar.pagination.configure() was not called"
    return _signer


def page_of(rows: list[Any], limit: int, binding: Mapping[str, Any]) -> Page[Any]:
    """Cut `limit + 1` rows fetched in id-descending order into a page with its next cursor."""
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = signer().issue(items[-1].id, binding) if has_more else None
    return Page(
        items=items, next_cursor=next_cursor, has_more=has_more, limit=limit, binding=binding
    )


def check_limit(limit: int | None) -> int:
    """The page size: DEFAULT_LIMIT when absent; ValidationError outside 1..MAX_LIMIT."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit
