"""GraphQL twins of the API key routes (admin; fail-closed like REST)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.tenants import API_KEYS
from hadar.domain.tenants import ApiKey as ApiKeyRow
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.types import Connection, Node, NodeKind, mutation, query
from hadar.services import keys

ApiKey = object_type(keys.ApiKeyOut, interfaces=(Node,))
ApiKeyCreateInput = input_type(keys.KeyCreate, "ApiKeyCreateInput")
ApiKeyUpdateInput = input_type(keys.KeyUpdate, "ApiKeyUpdateInput", optional=True)


def key_of(row: ApiKeyRow) -> Any:
    return ApiKey.from_dict(keys.present_key(row))  # type: ignore[attr-defined]


async def find_key(context: Context, key_id: str) -> Any:
    """One API key by id (admin: the loader checks the caller may read keys)."""
    row = await context.loaders.by_id(ApiKeyRow, API_KEYS).load(key_id)
    return key_of(row) if row else None


NODES = (NodeKind("key", ApiKey, API_KEYS, find_key),)


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey
    token: str | None = strawberry.field(
        description="The full token; shown only this once (null on an idempotent replay)."
    )
    tenant: str


@strawberry.type
class Query:
    @query(keys.LIST, "The tenant's API keys in this environment (admin).")
    async def api_keys(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        page = await keys.list_keys(scope=info.context.scope, limit=first, cursor=after)
        return Connection.of(page, key_of, after=after)


@strawberry.type
class Mutation:
    @mutation(keys.CREATE, "Mint an API key (admin; REST: POST /api/v1/api_keys).")
    async def create_api_key(
        self, info: Info[Context, None], input: ApiKeyCreateInput | None = None
    ) -> CreateApiKeyPayload:
        context = info.context
        minted = await keys.create_key(
            scope=context.scope,
            data=as_body(input) if input is not None else {},
            secret=context.runtime.settings.secret_key,
        )
        return CreateApiKeyPayload(
            api_key=key_of(minted.key), token=minted.token, tenant=minted.tenant_slug
        )

    @mutation(
        keys.UPDATE,
        "Rename a key or replace its IP allow-list (admin; REST: PATCH /api/v1/api_keys/{id}).",
    )
    async def update_api_key(
        self, info: Info[Context, None], id: strawberry.ID, input: ApiKeyUpdateInput
    ) -> ApiKey:
        row = await keys.update_key(scope=info.context.scope, key_id=str(id), data=as_body(input))
        return key_of(row)

    @mutation(
        keys.REVOKE, "Revoke an API key at once (admin; REST: POST /api/v1/api_keys/{id}/revoke)."
    )
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> ApiKey:
        return key_of(await keys.revoke_key(scope=info.context.scope, key_id=str(id)))
