"""Mutation: one field per REST mutation, calling the same services with the same bodies."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from hadar.graphql.context import Context
from hadar.graphql.inputs import ApiKeyCreateInput, LeadCreateInput, LeadUpdateInput, as_body
from hadar.graphql.types import ApiKey, CreateApiKeyPayload, CreateLeadPayload, DeletedObject, Lead
from hadar.services import keys, leads


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a lead, or merge it into the one with the same phone or email "
        "(REST: POST /api/v1/leads)."
    )
    async def create_lead(
        self, info: Info[Context, None], input: LeadCreateInput
    ) -> CreateLeadPayload:
        row, created = await leads.create_lead(scope=info.context.scope, data=as_body(input))
        return CreateLeadPayload(lead=Lead.from_domain(row), created=created)

    @strawberry.mutation(description="Change the given fields (REST: PATCH /api/v1/leads/{id}).")
    async def update_lead(
        self, info: Info[Context, None], id: strawberry.ID, input: LeadUpdateInput
    ) -> Lead:
        row = await leads.update_lead(
            scope=info.context.scope, lead_id=str(id), data=as_body(input)
        )
        return Lead.from_domain(row)

    @strawberry.mutation(description="Delete a lead for good (REST: DELETE /api/v1/leads/{id}).")
    async def delete_lead(self, info: Info[Context, None], id: strawberry.ID) -> DeletedObject:
        lead_id = await leads.delete_lead(scope=info.context.scope, lead_id=str(id))
        return DeletedObject(id=strawberry.ID(lead_id), deleted=True)

    @strawberry.mutation(description="Mint an API key (admin; REST: POST /api/v1/api_keys).")
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
            api_key=ApiKey.from_domain(minted.key), token=minted.token, tenant=minted.tenant_slug
        )

    @strawberry.mutation(
        description="Revoke an API key at once (admin; REST: POST /api/v1/api_keys/{id}/revoke)."
    )
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> ApiKey:
        key = await keys.revoke_key(scope=info.context.scope, key_id=str(id))
        return ApiKey.from_domain(key)
