"""The list shape every collection route answers with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hadar.pagination import Page


def page_body(page: Page[Any], present: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": [present(item) for item in page.items],
        "pagination": {
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
            "limit": page.limit,
        },
    }
