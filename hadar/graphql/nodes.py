"""`node(id:)` and `nodes(ids:)`: any object by its prefixed id, batched through the loaders."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.types import Info

from hadar.errors import NotFound, ValidationError
from hadar.graphql.bookings import booking_of
from hadar.graphql.calls import call_of
from hadar.graphql.context import Context
from hadar.graphql.conversations import conversation_node
from hadar.graphql.invoices import invoice_of
from hadar.graphql.keys import key_of
from hadar.graphql.leads import lead_of
from hadar.graphql.properties import property_of
from hadar.graphql.types import Node
from hadar.graphql.webhooks import endpoint_of
from hadar.ids import looks_like
from hadar.pagination import MAX_LIMIT
from hadar.services import bookings, calls, invoices, webhooks


@strawberry.type
class Query:
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
        return lead_of(lead) if lead else None
    if looks_like("prop", node_id):
        row = await context.loaders.property.load(node_id)
        return property_of(row) if row else None
    if looks_like("bkg", node_id):
        try:
            return booking_of(await bookings.get_booking(scope=context.scope, booking_id=node_id))
        except NotFound:
            return None
    if looks_like("key", node_id):
        await context.runtime.guard.require_reachable()  # API keys fail closed, as in apiKeys
        key = await context.loaders.api_key.load(node_id)
        return key_of(key) if key else None
    found = await conversation_node(context, node_id)
    if found is not None:
        return found
    if looks_like("whk", node_id):
        try:
            return endpoint_of(
                await webhooks.get_endpoint(scope=context.scope, endpoint_id=node_id)
            )
        except NotFound:
            return None
    if looks_like("call", node_id):
        try:
            return call_of(await calls.get_call(scope=context.scope, call_id=node_id))
        except NotFound:
            return None
    if looks_like("inv", node_id):
        await context.runtime.guard.require_reachable()  # invoices fail closed, as in invoices
        try:
            return invoice_of(await invoices.get_invoice(scope=context.scope, invoice_id=node_id))
        except NotFound:
            return None
    return None
