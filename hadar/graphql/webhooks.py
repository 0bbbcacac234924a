"""GraphQL twins of the webhook endpoint and delivery routes (admin)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.webhooks import WEBHOOKS
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.types import Connection, DeletedObject, Node, NodeKind, mutation, query
from hadar.services import webhooks as webhook_service

WebhookEndpoint = object_type(webhook_service.WebhookEndpointOut, interfaces=(Node,))
WebhookEndpointWithSecret = object_type(webhook_service.WebhookEndpointWithSecretOut)
WebhookDelivery = object_type(webhook_service.WebhookDeliveryOut)
WebhookCreateInput = input_type(webhook_service.WebhookCreate, "WebhookCreateInput")
WebhookUpdateInput = input_type(webhook_service.WebhookUpdate, "WebhookUpdateInput", optional=True)


def endpoint_of(row: Any) -> Any:
    return WebhookEndpoint.from_dict(webhook_service.present_endpoint(row))  # type: ignore[attr-defined]


async def find_endpoint(context: Context, endpoint_id: str) -> Any:
    """One webhook endpoint by id (admin; NotFound otherwise)."""
    return endpoint_of(
        await webhook_service.get_endpoint(scope=context.scope, endpoint_id=endpoint_id)
    )


NODES = (NodeKind("whk", WebhookEndpoint, WEBHOOKS, find_endpoint),)


def _with_secret(row: Any) -> Any:
    shown = webhook_service.present_endpoint(row, show_secret=True)
    return WebhookEndpointWithSecret.from_dict(shown)  # type: ignore[attr-defined]


def _allow_private(info: Info[Context, None]) -> bool:
    return info.context.runtime.settings.allow_private_webhook_urls


@strawberry.type
class Query:
    @query(
        webhook_service.LIST, "Webhook endpoints, newest first (admin; REST: GET /api/v1/webhooks)."
    )
    async def webhooks(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[WebhookEndpoint]:
        page = await webhook_service.list_endpoints(
            scope=info.context.scope, limit=first, cursor=after
        )
        return Connection.of(page, endpoint_of, after=after)

    @query(
        webhook_service.RETRIEVE, "One webhook endpoint (admin; REST: GET /api/v1/webhooks/{id})."
    )
    async def webhook(self, info: Info[Context, None], id: strawberry.ID) -> WebhookEndpoint:
        return await find_endpoint(info.context, str(id))

    @query(
        webhook_service.LIST_DELIVERIES,
        "An endpoint's deliveries with every attempt, newest first "
        "(admin; REST: GET /api/v1/webhooks/{id}/deliveries).",
    )
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        webhook_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        page, attempts = await webhook_service.list_deliveries(
            scope=info.context.scope, endpoint_id=str(webhook_id), limit=first, cursor=after
        )

        def delivery_of(row: Any) -> Any:
            shown = webhook_service.present_delivery(row, attempts[row.id])
            return WebhookDelivery.from_dict(shown)  # type: ignore[attr-defined]

        return Connection.of(page, delivery_of, after=after)


@strawberry.type
class Mutation:
    @mutation(
        webhook_service.CREATE,
        "Register a webhook endpoint; the secret is shown once (admin; REST: POST "
        "/api/v1/webhooks).",
    )
    async def create_webhook(
        self, info: Info[Context, None], input: WebhookCreateInput
    ) -> WebhookEndpointWithSecret:
        row = await webhook_service.create_endpoint(
            scope=info.context.scope, data=as_body(input), allow_private=_allow_private(info)
        )
        return _with_secret(row)

    @mutation(
        webhook_service.UPDATE,
        "Update a webhook endpoint (admin; REST: PATCH /api/v1/webhooks/{id}).",
    )
    async def update_webhook(
        self, info: Info[Context, None], id: strawberry.ID, input: WebhookUpdateInput
    ) -> WebhookEndpoint:
        row = await webhook_service.update_endpoint(
            scope=info.context.scope,
            endpoint_id=str(id),
            data=as_body(input),
            allow_private=_allow_private(info),
        )
        return endpoint_of(row)

    @mutation(
        webhook_service.DELETE,
        "Delete a webhook endpoint and its deliveries (admin; REST: DELETE /api/v1/webhooks/{id}).",
    )
    async def delete_webhook(self, info: Info[Context, None], id: strawberry.ID) -> DeletedObject:
        endpoint_id = await webhook_service.delete_endpoint(
            scope=info.context.scope, endpoint_id=str(id)
        )
        return DeletedObject(id=strawberry.ID(endpoint_id), deleted=True)

    @mutation(
        webhook_service.ROTATE_SECRET,
        "Rotate the signing secret; the old one keeps signing for 24 h (admin; REST: POST "
        "/api/v1/webhooks/{id}/rotate_secret).",
    )
    async def rotate_webhook_secret(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> WebhookEndpointWithSecret:
        row = await webhook_service.rotate_secret(scope=info.context.scope, endpoint_id=str(id))
        return _with_secret(row)

    @mutation(
        webhook_service.RETRY_DELIVERY,
        "Attempt a delivery again now (admin; REST: POST /api/v1/webhook_deliveries/{id}/retry).",
    )
    async def retry_webhook_delivery(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> WebhookDelivery:
        row = await webhook_service.retry_delivery(scope=info.context.scope, delivery_id=str(id))
        return WebhookDelivery.from_dict(webhook_service.present_delivery(row))  # type: ignore[attr-defined]
