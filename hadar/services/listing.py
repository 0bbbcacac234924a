"""Newest-first keyset lists: the one way every list resumes after a signed cursor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.queryset import QuerySet

from hadar.pagination import Page, page_of, signer


def keyset(
    query: QuerySet[Any], *, binding: Mapping[str, Any], limit: int, cursor: str | None
) -> QuerySet[Any]:
    """`query` after `cursor` (checked against `binding`), newest first, `limit + 1` rows so
    the page can tell whether more follow."""
    if cursor:
        query = query.filter(id__lt=signer().read(cursor, binding))
    return query.order_by("-id").limit(limit + 1)


async def newest_first(
    query: QuerySet[Any], *, binding: Mapping[str, Any], limit: int, cursor: str | None
) -> Page[Any]:
    """One page of `query`'s rows, newest first, with its next cursor."""
    rows = await keyset(query, binding=binding, limit=limit, cursor=cursor)
    return page_of(rows, limit, binding)
