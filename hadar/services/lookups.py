"""Batch lookups by id, for callers that resolve many references at once (GraphQL loaders)."""

from __future__ import annotations

from collections.abc import Sequence

from hadar.domain.invoices import Invoice
from hadar.domain.leads import Lead
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


LEAD_INVOICES = 100  # a lead's invoices shown through GraphQL `Lead.invoices`, newest first


async def invoices_by_lead_ids(*, scope: Scope, lead_ids: Sequence[str]) -> list[list[Invoice]]:
    """Each lead's invoices (newest first, at most LEAD_INVOICES), in `lead_ids` order."""
    scope.require_read("invoices")
    wanted = list({i for i in lead_ids if looks_like("lead", i)})
    rows = (
        await Invoice.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, lead_id__in=wanted
        ).order_by("-id")
        if wanted
        else []
    )
    found: dict[str, list[Invoice]] = {}
    for row in rows:
        bucket = found.setdefault(row.lead_id, [])
        if len(bucket) < LEAD_INVOICES:
            bucket.append(row)
    return [found.get(i, []) for i in lead_ids]
