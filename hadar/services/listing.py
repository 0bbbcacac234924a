"""The reads every resource shares: "in the caller's scope or 404", a newest-first keyset page
that resumes after a signed cursor, and a list filtered by its query model's fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from hadar import clock
from hadar.domain.scope import Scope
from hadar.errors import NotFound
from hadar.ids import looks_like
from hadar.pagination import Page, check_limit, page_of, signer
from hadar.services.validation import PageQuery, parse

M = TypeVar("M", bound=Model)


def scoped(model: type[M], scope: Scope) -> QuerySet[M]:
    """Rows of `model` in the caller's tenant and environment: the start of every query."""
    return model.filter(tenant_id=scope.tenant_id, environment=scope.environment)


async def get_in_scope(
    model: type[M], *, scope: Scope, prefix: str, object_id: str, noun: str, lock: bool = False
) -> M:
    """The row with `object_id` in the caller's scope, else NotFound naming `noun` (another
    tenant's or environment's id is simply not there). `lock`: FOR UPDATE on PostgreSQL."""
    found = None
    if looks_like(prefix, object_id):
        query = scoped(model, scope).filter(id=object_id)
        if lock:
            query = query.select_for_update()
        found = await query.first()
    if found is None:
        raise NotFound(f"{noun} {object_id} does not exist")
    return found


def binding(
    scope: Scope, list_name: str, filters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a list's cursors are bound to: tenant, environment, list and filters."""
    return {"list": list_name, "t": scope.tenant_id, "e": scope.environment, **(filters or {})}


def keyset(
    query: QuerySet[Any], *, binding: Mapping[str, Any], limit: int, cursor: str | None
) -> QuerySet[Any]:
    """`query` after `cursor` (checked against `binding`), newest first, `limit + 1` rows so
    the page can tell whether more follow."""
    if cursor:
        query = query.filter(id__lt=signer().read(cursor, binding))
    return query.order_by("-id").limit(limit + 1)


async def newest_first(
    query: QuerySet[Any], *, binding: Mapping[str, Any], limit: int | None, cursor: str | None
) -> Page[Any]:
    """One page of `query`'s rows, newest first, with its next cursor."""
    size = check_limit(limit)
    rows = await keyset(query, binding=binding, limit=size, cursor=cursor)
    return page_of(rows, size, binding)


async def filtered(
    model: type[M],
    *,
    scope: Scope,
    name: str,
    query: type[PageQuery],
    given: Mapping[str, Any],
    lookups: Mapping[str, str] | None = None,
) -> Page[M]:
    """The list `name` of `model`: `given` checked against its `query` model, each filter set
    applied (equality, unless `lookups` maps it to another, e.g. starts_after ->
    starts_at__gte), newest first, with cursors bound to the filter set."""
    spec = parse(query, {k: v for k, v in given.items() if v is not None}, root="")
    filters = spec.model_dump(exclude={"limit", "cursor"})
    bound = binding(
        scope,
        name,
        {k: clock.isoformat(v) if isinstance(v, datetime) else v for k, v in filters.items()},
    )
    rows = scoped(model, scope)
    for field, value in filters.items():
        if value is not None:
            rows = rows.filter(**{(lookups or {}).get(field, field): value})
    return await newest_first(rows, binding=bound, limit=spec.limit, cursor=spec.cursor)
