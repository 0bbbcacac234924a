"""Batch lookups for callers that resolve many references at once (the GraphQL loaders): one
query for a whole page of parents, whatever the resource. A loader is keyed by the function
and its parameters, so `children(model=Booking, column="lead_id")` needs no code of its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.models import Model

from hadar.domain.scope import Resource, Scope
from hadar.ids import well_formed


async def by_ids(
    *, scope: Scope, keys: Sequence[str], model: type[Model], resource: Resource | None = None
) -> list[Any | None]:
    """The `model` rows with these ids in the caller's sandbox, in `keys` order; None where
    absent (or where the id is malformed: never sent to the database)."""
    if resource is not None:
        scope.require_read(resource)
    wanted = list({key for key in keys if well_formed(key)})
    rows = (
        await model.filter(tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted)
        if wanted
        else []
    )
    found = {row.pk: row for row in rows}
    return [found.get(key) for key in keys]


async def children(
    *,
    scope: Scope,
    keys: Sequence[str],
    model: type[Model],
    column: str,
    resource: Resource | None = None,
    order: str = "-id",
    per_parent: int | None = None,
) -> list[list[Any]]:
    """Each parent's `model` rows (`column` names the parent, e.g. lead_id), in `order`, at
    most `per_parent` each, in `keys` order: one query for all the parents."""
    if resource is not None:
        scope.require_read(resource)
    wanted = list({key for key in keys if well_formed(key)})
    rows = (
        await model.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, **{f"{column}__in": wanted}
        ).order_by(order)
        if wanted
        else []
    )
    found: dict[str, list[Any]] = {}
    for row in rows:
        bucket = found.setdefault(getattr(row, column), [])
        if per_parent is None or len(bucket) < per_parent:
            bucket.append(row)
    return [found.get(key, []) for key in keys]
