"""REST routes for API keys (admin only; fail-closed)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import keys
from hadar.services.validation import PageQuery


async def create(call: Call) -> tuple[int, Any]:
    minted = await keys.create_key(
        scope=call.scope,
        data=call.body,  # an empty body is refused like on every route that takes one
        secret=call.runtime.settings.secret_key,
    )
    return 201, keys.present_key(minted.key, token=minted.token, tenant_slug=minted.tenant_slug)


async def list_(call: Call) -> tuple[int, Any]:
    page = await keys.list_keys(scope=call.scope, **call.query.model_dump(exclude_none=True))
    return 200, page_body(page, keys.present_key)


async def update(call: Call) -> tuple[int, Any]:
    key = await keys.update_key(scope=call.scope, key_id=call.params["key_id"], data=call.body)
    return 200, keys.present_key(key)


async def revoke(call: Call) -> tuple[int, Any]:
    key = await keys.revoke_key(scope=call.scope, key_id=call.params["key_id"])
    return 200, keys.present_key(key)


TAG = "API keys"
TEMPORARY_KEY = (
    "Set `expires_in_seconds` (60 s to 90 days) to mint a short-lived key, e.g. a temporary "
    'test key for these docs: `{"role": "admin", "environment": "test", '
    '"expires_in_seconds": 3600}`. The full `token` is in this response only.'
)
ROUTES = [
    RouteSpec(
        "POST",
        "/api_keys",
        create,
        keys.CREATE,
        "Mint an API key (admin)",
        TAG,
        body=keys.KeyCreate,
        response=keys.NewApiKeyOut,
        status=201,
        description=TEMPORARY_KEY,
        example={"role": "admin", "environment": "test", "expires_in_seconds": 3600},
    ),
    RouteSpec(
        "GET",
        "/api_keys",
        list_,
        keys.LIST,
        "List API keys (admin)",
        TAG,
        query=PageQuery,
        response=keys.ApiKeyListOut,
        description="Keys of the caller's environment.",
    ),
    RouteSpec(
        "PATCH",
        "/api_keys/{key_id}",
        update,
        keys.UPDATE,
        "Rename a key or replace its IP allow-list (admin)",
        TAG,
        body=keys.KeyUpdate,
        response=keys.ApiKeyOut,
        description="`allowed_ips` replaces the whole list; `[]` accepts any address again. "
        "Effective on the key's very next request, on every instance.",
        example={"allowed_ips": ["203.0.113.0/24", "2001:db8::/32"]},
    ),
    RouteSpec(
        "POST",
        "/api_keys/{key_id}/revoke",
        revoke,
        keys.REVOKE,
        "Revoke an API key at once (admin)",
        TAG,
        response=keys.ApiKeyOut,
        description="Effective on the very next request; revoking twice is harmless.",
    ),
]
