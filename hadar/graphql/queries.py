"""Query: lists as Relay connections over the same service pages as REST, and lookups by id."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import cast

import strawberry
from strawberry.types import Info

from hadar.errors import NotFound, ValidationError
from hadar.graphql.context import Context
from hadar.graphql.scalars import DateTime
from hadar.graphql.types import ApiKey, AuditEvent, Connection, Lead, Node
from hadar.ids import looks_like
from hadar.pagination import MAX_LIMIT
from hadar.services import audit, keys, leads


@strawberry.type
class Query:
    @strawberry.field(
        description="Leads, newest first: the pages, filters and signed cursors of "
        "GET /api/v1/leads (first = limit, 1-100, default 25; after = cursor)."
    )
    async def leads(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        source: str | None = None,
        score_min: int | None = None,
        created_after: DateTime | None = None,
        assigned_to: str | None = None,
        status: str | None = None,
    ) -> Connection[Lead]:
        context = info.context
        page = await leads.list_leads(
            scope=context.scope,
            limit=first,
            cursor=after,
            source=source,
            score_min=score_min,
            # The DateTime scalar parses input into a datetime.
            created_after=cast(datetime | None, created_after),
            assigned_to=assigned_to,
            status=status,
        )
        context.loaders.prime_leads(page.items)
        return Connection.of(page, Lead.from_domain, after=after)

    @strawberry.field(description="One lead (REST: GET /api/v1/leads/{id}).")
    async def lead(self, info: Info[Context, None], id: strawberry.ID) -> Lead:
        row = await info.context.loaders.lead.load(str(id))
        if row is None:
            raise NotFound(f"lead {id} does not exist")
        return Lead.from_domain(row)

    @strawberry.field(description="The tenant's API keys in this environment (admin).")
    async def api_keys(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        page = await keys.list_keys(scope=info.context.scope, limit=first, cursor=after)
        return Connection.of(page, ApiKey.from_domain, after=after)

    @strawberry.field(description="The audit log of this environment, newest first (admin).")
    async def audit_events(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[AuditEvent]:
        page = await audit.list_events(scope=info.context.scope, limit=first, cursor=after)
        return Connection.of(page, AuditEvent.from_domain, after=after)

    @strawberry.field(description="Any object by its id; null when it does not exist here.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        return await _node(info.context, str(id))

    @strawberry.field(description="Objects by id, in order; null where one does not exist.")
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_LIMIT:
            raise ValidationError(f"ids may name at most {MAX_LIMIT} objects", field="ids")
        # Gathered, so the loaders see every id in one tick and batch them into one query.
        return list(await asyncio.gather(*(_node(info.context, str(i)) for i in ids)))


async def _node(context: Context, node_id: str) -> Node | None:
    if looks_like("lead", node_id):
        lead = await context.loaders.lead.load(node_id)
        return Lead.from_domain(lead) if lead else None
    if looks_like("key", node_id):
        await context.runtime.guard.require_reachable()  # API keys fail closed, as in apiKeys
        key = await context.loaders.api_key.load(node_id)
        return ApiKey.from_domain(key) if key else None
    return None
