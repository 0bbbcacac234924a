"""Prefixed ULIDs whose timestamp is the row's created_at, so id order is creation order."""

from __future__ import annotations

import re
from datetime import datetime

from ulid import ULID

# prefix -> the path parameter that carries such an id ("lead" -> "lead_id"), or None. Each
# model's module declares its own prefixes (SPEC 3 lists them), so no list here grows.
PREFIXES: dict[str, str | None] = {}
_ID_RE = re.compile(r"^([a-z]+)_([0-9A-HJKMNP-TV-Z]{26})$")


def declare(prefix: str, *, param: str | None = None) -> str:
    """Declare the id prefix of one kind of object (beside its model), and the path parameter
    routes name such ids by (the OpenAPI document gives that parameter the id's pattern)."""
    assert re.fullmatch(r"[a-z]{2,5}", prefix), prefix
    assert PREFIXES.get(prefix, param) == param, f"{prefix} declared twice, differently"
    PREFIXES[prefix] = param
    return prefix


def new_id(prefix: str, at: datetime) -> str:
    """A new `prefix_` ULID stamped with `at` (the row's created_at)."""
    assert prefix in PREFIXES, prefix
    return f"{prefix}_{ULID.from_datetime(at)}"


def looks_like(prefix: str, value: str) -> bool:
    """True when `value` has the shape of an id with `prefix`."""
    match = _ID_RE.match(value)
    return match is not None and match.group(1) == prefix


def well_formed(value: str) -> bool:
    """True when `value` has the shape of some Hadar id: safe to put in a query (no NUL, no
    over-long text), even when nothing answers to it."""
    return _ID_RE.match(value) is not None
