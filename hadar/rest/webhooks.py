"""REST adapter for webhook endpoints and their deliveries (admin only)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.parsing import PAGE_PARAMS, query
from hadar.rest.spec import RouteSpec
from hadar.services import webhooks


def _allow_private(call: Call) -> bool:
    return call.runtime.settings.allow_private_webhook_urls


async def create(call: Call) -> tuple[int, Any]:
    endpoint = await webhooks.create_endpoint(
        scope=call.scope, data=call.body, allow_private=_allow_private(call)
    )
    return 201, webhooks.present_endpoint(endpoint, show_secret=True)


async def list_(call: Call) -> tuple[int, Any]:
    page = await webhooks.list_endpoints(scope=call.scope, **query(call.request, PAGE_PARAMS))
    return 200, page_body(page, webhooks.present_endpoint)


async def retrieve(call: Call) -> tuple[int, Any]:
    query(call.request, {})
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
        **query(call.request, PAGE_PARAMS),
    )
    return 200, page_body(page, lambda d: webhooks.present_delivery(d, attempts[d.id]))


async def retry(call: Call) -> tuple[int, Any]:
    delivery = await webhooks.retry_delivery(
        scope=call.scope, delivery_id=call.params["delivery_id"]
    )
    return 200, webhooks.present_delivery(delivery)


_READ_ERRORS = ("unauthorized", "invalid_api_key", "forbidden", "rate_limited")
_WRITE_ERRORS = ("validation_error", *_READ_ERRORS, "conflict")
_TAG = "Webhooks"
ROUTES = [
    RouteSpec(
        "POST",
        "/webhooks",
        create,
        "Register a webhook endpoint (admin; the secret is shown once)",
        _TAG,
        mutation=True,
        body=webhooks.WebhookCreate,
        status=201,
        errors=_WRITE_ERRORS,
    ),
    RouteSpec(
        "GET",
        "/webhooks",
        list_,
        "List webhook endpoints, newest first (admin)",
        _TAG,
        query=PAGE_PARAMS,
        errors=("validation_error", *_READ_ERRORS),
    ),
    RouteSpec(
        "GET",
        "/webhooks/{webhook_id}",
        retrieve,
        "Retrieve a webhook endpoint (admin)",
        _TAG,
        errors=(*_READ_ERRORS, "not_found"),
    ),
    RouteSpec(
        "PATCH",
        "/webhooks/{webhook_id}",
        update,
        "Update a webhook endpoint (admin)",
        _TAG,
        mutation=True,
        body=webhooks.WebhookUpdate,
        errors=(*_WRITE_ERRORS, "not_found"),
    ),
    RouteSpec(
        "DELETE",
        "/webhooks/{webhook_id}",
        delete,
        "Delete a webhook endpoint and its deliveries (admin)",
        _TAG,
        mutation=True,
        errors=(*_WRITE_ERRORS, "not_found"),
    ),
    RouteSpec(
        "POST",
        "/webhooks/{webhook_id}/rotate_secret",
        rotate_secret,
        "Rotate the signing secret; the old one keeps signing for 24 h (admin)",
        _TAG,
        mutation=True,
        errors=(*_WRITE_ERRORS, "not_found"),
    ),
    RouteSpec(
        "GET",
        "/webhooks/{webhook_id}/deliveries",
        deliveries,
        "List an endpoint's deliveries with every attempt (admin)",
        _TAG,
        query=PAGE_PARAMS,
        errors=("validation_error", *_READ_ERRORS, "not_found"),
    ),
    RouteSpec(
        "POST",
        "/webhook_deliveries/{delivery_id}/retry",
        retry,
        "Attempt a delivery again now (admin)",
        _TAG,
        mutation=True,
        errors=(*_WRITE_ERRORS, "not_found"),
    ),
]
