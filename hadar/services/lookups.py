"""Batch lookups by id, for callers that resolve many references at once (GraphQL loaders)."""

from __future__ import annotations

from collections.abc import Sequence

from hadar.domain.leads import Lead
from hadar.domain.properties import Property
from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.ids import looks_like


async def leads_by_ids(*, scope: Scope, ids: Sequence[str]) -> list[Lead | None]:
    """The leads with these ids in the caller's sandbox, in `ids` order; None where absent."""
    wanted = list({i for i in ids if looks_like("lead", i)})
    rows = (
        await Lead.filter(tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted)
        if wanted
        else []
    )
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def keys_by_ids(*, scope: Scope, ids: Sequence[str]) -> list[ApiKey | None]:
    """The API keys with these ids in the caller's sandbox (admin only), in `ids` order."""
    scope.require_read("api_keys")
    wanted = list({i for i in ids if looks_like("key", i)})
    rows = (
        await ApiKey.filter(tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted)
        if wanted
        else []
    )
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def properties_by_ids(*, scope: Scope, ids: Sequence[str]) -> list[Property | None]:
    """The properties with these ids in the caller's sandbox, in `ids` order; None where absent."""
    wanted = list({i for i in ids if looks_like("prop", i)})
    rows = (
        await Property.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted
        )
        if wanted
        else []
    )
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]
