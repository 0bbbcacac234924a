"""The lead lists: newest first, filtered, keyset-paginated with cursors bound to the tenant,
environment and filter set; each lead straight from its row to the public shape, never through
a model or a record (GraphQL's loaders build one from a row only if asked)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hadar import clock
from hadar.domain import normalise
from hadar.domain.scope import Scope
from hadar.pagination import Page, check_limit, signer
from hadar.services import lead_sql
from hadar.services.lead_models import LeadQuery
from hadar.services.listing import binding
from hadar.services.validation import parse


async def list_lead_bodies(*, scope: Scope, **given: Any) -> Page[Any]:
    """list_lead_rows (the same filters, checked by the same LeadQuery), each lead in its
    public shape as orjson writes it (its JSON columns as stored)."""
    query = given
    rows, size, bound = await _page_rows(scope, query)
    return _page([lead_sql.present_row(row) for row in rows[:size]], rows, size, bound)


async def list_lead_rows(
    *,
    scope: Scope,
    source: str | None = None,
    score_min: int | None = None,
    created_after: datetime | None = None,
    assigned_to: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[Page[dict[str, Any]], Sequence[Mapping[str, Any]]]:
    """Newest first, filtered; the cursor is bound to this tenant, environment and filter set.
    Each lead in its public shape with its JSON columns decoded (GraphQL selects inside them),
    and the page's rows, to build records from only if something asks for one."""
    query = {
        "source": source,
        "score_min": score_min,
        "created_after": created_after,
        "assigned_to": assigned_to,
        "status": status,
        "limit": limit,
        "cursor": cursor,
    }
    rows, size, bound = await _page_rows(scope, query)
    shown = rows[:size]
    bodies = [lead_sql.present_row(row, decoded=True) for row in shown]
    return _page(bodies, rows, size, bound), shown


def _page(
    items: list[Any], rows: Sequence[Mapping[str, Any]], size: int, bound: dict[str, Any]
) -> Page[Any]:
    """The page of `items`, the first `size` of `rows` (fetched `size + 1` at most)."""
    more = len(rows) > size
    cursor = signer().issue(rows[size - 1]["id"], bound) if more else None
    return Page(items=items, next_cursor=cursor, has_more=more, limit=size, binding=bound)


async def _page_rows(
    scope: Scope, query: dict[str, Any]
) -> tuple[Sequence[Mapping[str, Any]], int, dict[str, Any]]:
    spec = parse(LeadQuery, {k: v for k, v in query.items() if v is not None}, root="")
    size = check_limit(spec.limit)
    source = normalise.normalise_source(spec.source)[0] if spec.source is not None else None
    filters: dict[str, Any] = {
        "source": source,
        "score_min": spec.score_min,
        "assigned_to": spec.assigned_to,
        "status": spec.status,
        "created_after": clock.isoformat(spec.created_after) if spec.created_after else None,
    }
    bound = binding(scope, "leads", filters)
    before = signer().read(spec.cursor, bound) if spec.cursor else None
    rows = await lead_sql.page_rows(
        scope=scope,
        filters={**filters, "created_after": spec.created_after, "before": before},
        limit=size + 1,
    )
    return rows, size, bound
