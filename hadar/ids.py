"""Prefixed ULIDs whose timestamp is the row's created_at, so id order is creation order."""

from __future__ import annotations

import re
from datetime import datetime

from ulid import ULID

PREFIXES = frozenset(
    {
        "lead",
        "conv",
        "msg",
        "prop",
        "bkg",
        "inv",
        "call",
        "int",
        "whk",
        "dlv",
        "evt",
        "key",
        "tpl",
        "ten",
        "aud",
    }
)
_ID_RE = re.compile(r"^([a-z]+)_([0-9A-HJKMNP-TV-Z]{26})$")


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
