"""The lead lists: newest first, filtered, keyset-paginated with cursors bound to the tenant,
environment and filter set; as records (GraphQL, loaders) or straight to the public shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hadar import clock
from hadar.domain import normalise
from hadar.domain.leads import LeadRecord
from hadar.domain.scope import Scope
from hadar.pagination import Page, check_limit, page_of, signer
from hadar.services import lead_sql
from hadar.services.lead_models import LeadQuery
from hadar.services.listing import binding
from hadar.services.validation import parse


async def list_leads(
    *,
    scope: Scope,
    source: str | None = None,
    score_min: int | None = None,
    created_after: datetime | None = None,
    assigned_to: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[LeadRecord]:
    """Newest first, filtered; the cursor is bound to this tenant, environment and filter set."""
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
    return page_of([LeadRecord.from_row(row) for row in rows], size, bound)


async def list_lead_bodies(*, scope: Scope, **given: Any) -> Page[Any]:
    """list_leads (the same filters, checked by the same LeadQuery), each lead already in its
    public shape (no record built per row)."""
    query = given
    rows, size, bound = await _page_rows(scope, query, shaped=True)
    items = [lead_sql.shape(row) for row in rows[:size]]
    more = len(rows) > size
    cursor = signer().issue(rows[size - 1]["id"], bound) if more else None
    return Page(items=items, next_cursor=cursor, has_more=more, limit=size, binding=bound)


async def _page_rows(
    scope: Scope, query: dict[str, Any], *, shaped: bool = False
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
        shaped=shaped,
    )
    return rows, size, bound
