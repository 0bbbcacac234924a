"""The lead lists: newest first, filtered, keyset-paginated with cursors bound to the tenant,
environment and filter set; each lead straight from its row to the public shape, never through
a model or a record (GraphQL's loaders build one from a row only if asked)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hadar import clock
from hadar.domain import normalise
from hadar.domain.leads import LeadRecord
from hadar.domain.scope import Scope
from hadar.pagination import Page, check_limit, signer
from hadar.services import lead_sql
from hadar.services.lead_models import LeadQuery
from hadar.services.listing import binding
from hadar.services.validation import parse


async def list_lead_bodies(*, scope: Scope, **given: Any) -> Page[Any]:
    """list_lead_views (the same filters, checked by the same LeadQuery), each lead in its
    public shape as orjson writes it (its JSON columns as stored)."""
    query = given
    rows, size, bound = await _page_rows(scope, query, shaped=True)
    return _page([lead_sql.shape(row) for row in rows[:size]], rows, size, bound)


async def list_lead_views(
    *,
    scope: Scope,
    source: str | None = None,
    score_min: int | None = None,
    created_after: datetime | None = None,
    assigned_to: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Newest first, filtered; the cursor is bound to this tenant, environment and filter set.
    Each lead in its public shape as Python values (GraphQL selects inside its JSON columns);
    `record_of` makes one into a record."""
    query = {
        "source": source,
        "score_min": score_min,
        "created_after": created_after,
        "assigned_to": assigned_to,
        "status": status,
        "limit": limit,
        "cursor": cursor,
    }
    rows, size, bound = await _page_rows(scope, query, shaped=True)
    return _page([lead_sql.shape(row, decoded=True) for row in rows[:size]], rows, size, bound)


def record_of(view: Mapping[str, Any], scope: Scope) -> LeadRecord:
    """The record of a lead listed by list_lead_views in `scope` (what a loader answers)."""
    return LeadRecord(
        id=view["id"],
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        **{name: view[name] for name in _RECORD_FIELDS},
        created_at=datetime.fromisoformat(view["created_at"]),
        updated_at=datetime.fromisoformat(view["updated_at"]),
    )


_RECORD_FIELDS = (
    "name phone email source source_raw sources utm budget_aed bedrooms area handover_horizon"
    " status assigned_to do_not_contact score score_factors"
).split()


def _page(
    items: list[Any], rows: Sequence[Mapping[str, Any]], size: int, bound: dict[str, Any]
) -> Page[Any]:
    """The page of `items`, the first `size` of `rows` (fetched `size + 1` at most)."""
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
