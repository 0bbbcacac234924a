"""Limits that keep hostile documents cheap to refuse (introspection stays allowed)."""

from __future__ import annotations

MAX_DEPTH = 10  # introspection fields (`__schema`, `__type`) are not counted
MAX_ALIASES = 30
MAX_TOKENS = 2_000
