"""REST adapter for API keys (admin only; fail-closed)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.parsing import PAGE_PARAMS, query
from hadar.rest.spec import RouteSpec
from hadar.services import keys


async def create(call: Call) -> tuple[int, Any]:
    minted = await keys.create_key(
        scope=call.scope,
        data=call.body if call.body is not None else {},
        secret=call.runtime.settings.secret_key,
    )
    return 201, keys.present_key(minted.key, token=minted.token, tenant_slug=minted.tenant_slug)


async def list_(call: Call) -> tuple[int, Any]:
    page = await keys.list_keys(scope=call.scope, **query(call.request, PAGE_PARAMS))
    return 200, page_body(page, keys.present_key)


async def revoke(call: Call) -> tuple[int, Any]:
    key = await keys.revoke_key(scope=call.scope, key_id=call.params["key_id"])
    return 200, keys.present_key(key)


_ERRORS = ("unauthorized", "invalid_api_key", "forbidden", "rate_limited", "service_unavailable")
ROUTES = [
    RouteSpec(
        "POST",
        "/api_keys",
        create,
        "Mint an API key (admin)",
        "API keys",
        mutation=True,
        fail_closed=True,
        body=keys.KeyCreate,
        status=201,
        shown_once=("token",),
        errors=("validation_error", *_ERRORS, "conflict"),
    ),
    RouteSpec(
        "GET",
        "/api_keys",
        list_,
        "List API keys (admin)",
        "API keys",
        fail_closed=True,
        query=PAGE_PARAMS,
        errors=("validation_error", *_ERRORS),
    ),
    RouteSpec(
        "POST",
        "/api_keys/{key_id}/revoke",
        revoke,
        "Revoke an API key at once (admin)",
        "API keys",
        mutation=True,
        fail_closed=True,
        errors=("validation_error", *_ERRORS, "not_found", "conflict"),
    ),
]
