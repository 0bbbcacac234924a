"""GraphQL twins of the integration routes (admin; connecting needs a live key)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.integrations import Integration as IntegrationRow
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.types import Connection, DeletedObject, Node, mutation, query
from hadar.services import integrations as service

Integration = object_type(service.IntegrationOut, interfaces=(Node,))
WhatsAppIntegrationInput = input_type(service.WhatsAppIntegrationIn, "WhatsAppIntegrationInput")
StripeIntegrationInput = input_type(service.StripeIntegrationIn, "StripeIntegrationInput")
VapiIntegrationInput = input_type(service.VapiIntegrationIn, "VapiIntegrationInput")


def integration_of(row: IntegrationRow) -> Any:
    return Integration.from_dict(service.present_integration(row))  # type: ignore[attr-defined]


TYPES = (Integration,)  # addressed by kind, not through node(id:)


@strawberry.type
class Query:
    @query(service.LIST, "Connected provider accounts (admin; REST: GET /api/v1/integrations).")
    async def integrations(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Integration]:
        page = await service.list_integrations(scope=info.context.scope, limit=first, cursor=after)
        return Connection.of(page, integration_of, after=after)

    @query(service.RETRIEVE, "One integration by kind (REST: GET /api/v1/integrations/{kind}).")
    async def integration(self, info: Info[Context, None], kind: str) -> Integration:
        return integration_of(await service.get_integration(scope=info.context.scope, kind=kind))


@strawberry.type
class Mutation:
    @mutation(
        service.PUT_WHATSAPP,
        "Connect the agency's Meta or UltraMsg number (REST: PUT /api/v1/integrations/whatsapp).",
    )
    async def connect_whatsapp(
        self, info: Info[Context, None], input: WhatsAppIntegrationInput
    ) -> Integration:
        row = await service.put_integration(
            scope=info.context.scope, kind="whatsapp", data=as_body(input)
        )
        return integration_of(row)

    @mutation(
        service.PUT_STRIPE, "Connect the agency's Stripe (REST: PUT /api/v1/integrations/stripe)."
    )
    async def connect_stripe(
        self, info: Info[Context, None], input: StripeIntegrationInput
    ) -> Integration:
        row = await service.put_integration(
            scope=info.context.scope, kind="stripe", data=as_body(input)
        )
        return integration_of(row)

    @mutation(service.PUT_VAPI, "Connect the agency's Vapi (REST: PUT /api/v1/integrations/vapi).")
    async def connect_vapi(
        self, info: Info[Context, None], input: VapiIntegrationInput
    ) -> Integration:
        row = await service.put_integration(
            scope=info.context.scope, kind="vapi", data=as_body(input)
        )
        return integration_of(row)

    @mutation(service.DELETE, "Disconnect (REST: DELETE /api/v1/integrations/{kind}).")
    async def delete_integration(self, info: Info[Context, None], kind: str) -> DeletedObject:
        row_id = await service.delete_integration(scope=info.context.scope, kind=kind)
        return DeletedObject(id=strawberry.ID(row_id), deleted=True)
