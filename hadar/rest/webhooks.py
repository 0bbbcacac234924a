"""REST adapter for webhook endpoints and their deliveries (admin only)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import webhooks
from hadar.services.validation import PageQuery


def _allow_private(call: Call) -> bool:
    return call.runtime.settings.allow_private_webhook_urls


async def create(call: Call) -> tuple[int, Any]:
    endpoint = await webhooks.create_endpoint(
        scope=call.scope, data=call.body, allow_private=_allow_private(call)
    )
    return 201, webhooks.present_endpoint(endpoint, show_secret=True)


async def list_(call: Call) -> tuple[int, Any]:
    page = await webhooks.list_endpoints(
        scope=call.scope, **call.query.model_dump(exclude_none=True)
    )
    return 200, page_body(page, webhooks.present_endpoint)


async def retrieve(call: Call) -> tuple[int, Any]:
    endpoint = await webhooks.get_endpoint(scope=call.scope, endpoint_id=call.params["webhook_id"])
    return 200, webhooks.present_endpoint(endpoint)


async def update(call: Call) -> tuple[int, Any]:
    endpoint = await webhooks.update_endpoint(
        scope=call.scope,
        endpoint_id=call.params["webhook_id"],
        data=call.body,
        allow_private=_allow_private(call),
    )
    return 200, webhooks.present_endpoint(endpoint)


async def delete(call: Call) -> tuple[int, Any]:
    endpoint_id = await webhooks.delete_endpoint(
        scope=call.scope, endpoint_id=call.params["webhook_id"]
    )
    return 200, {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


async def rotate_secret(call: Call) -> tuple[int, Any]:
    endpoint = await webhooks.rotate_secret(scope=call.scope, endpoint_id=call.params["webhook_id"])
    return 200, webhooks.present_endpoint(endpoint, show_secret=True)


async def deliveries(call: Call) -> tuple[int, Any]:
    page, attempts = await webhooks.list_deliveries(
        scope=call.scope,
        endpoint_id=call.params["webhook_id"],
        **call.query.model_dump(exclude_none=True),
    )
    return 200, page_body(page, lambda d: webhooks.present_delivery(d, attempts[d.id]))


async def retry(call: Call) -> tuple[int, Any]:
    delivery = await webhooks.retry_delivery(
        scope=call.scope, delivery_id=call.params["delivery_id"]
    )
    return 200, webhooks.present_delivery(delivery)


TAG = "Webhooks"
WEBHOOK_URLS = (
    "Live endpoints must be `https` and must not resolve to private addresses; test "
    "endpoints may be `http`."
)
ROUTES = [
    RouteSpec(
        "POST",
        "/webhooks",
        create,
        webhooks.CREATE,
        "Register a webhook endpoint (admin; the secret is shown once)",
        TAG,
        body=webhooks.WebhookCreate,
        response=webhooks.WebhookEndpointWithSecretOut,
        status=201,
        description=WEBHOOK_URLS,
        example={"url": "https://crm.example.com/hooks/hadar", "events": ["lead.created"]},
    ),
    RouteSpec(
        "GET",
        "/webhooks",
        list_,
        webhooks.LIST,
        "List webhook endpoints, newest first (admin)",
        TAG,
        query=PageQuery,
        response=webhooks.WebhookEndpointListOut,
    ),
    RouteSpec(
        "GET",
        "/webhooks/{webhook_id}",
        retrieve,
        webhooks.RETRIEVE,
        "Retrieve a webhook endpoint (admin)",
        TAG,
        response=webhooks.WebhookEndpointOut,
    ),
    RouteSpec(
        "PATCH",
        "/webhooks/{webhook_id}",
        update,
        webhooks.UPDATE,
        "Update a webhook endpoint (admin)",
        TAG,
        body=webhooks.WebhookUpdate,
        response=webhooks.WebhookEndpointOut,
        description=WEBHOOK_URLS,
    ),
    RouteSpec(
        "DELETE",
        "/webhooks/{webhook_id}",
        delete,
        webhooks.DELETE,
        "Delete a webhook endpoint and its deliveries (admin)",
        TAG,
        response=webhooks.WebhookEndpointDeletedOut,
    ),
    RouteSpec(
        "POST",
        "/webhooks/{webhook_id}/rotate_secret",
        rotate_secret,
        webhooks.ROTATE_SECRET,
        "Rotate the signing secret; the old one keeps signing for 24 h (admin)",
        TAG,
        response=webhooks.WebhookEndpointWithSecretOut,
    ),
    RouteSpec(
        "GET",
        "/webhooks/{webhook_id}/deliveries",
        deliveries,
        webhooks.LIST_DELIVERIES,
        "List an endpoint's deliveries with every attempt (admin)",
        TAG,
        query=PageQuery,
        response=webhooks.WebhookDeliveryListOut,
    ),
    RouteSpec(
        "POST",
        "/webhook_deliveries/{delivery_id}/retry",
        retry,
        webhooks.RETRY_DELIVERY,
        "Attempt a delivery again now (admin)",
        TAG,
        response=webhooks.WebhookDeliveryOut,
    ),
]
