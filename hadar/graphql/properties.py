"""GraphQL twins of the property routes: the same services, the same Operations."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.properties import PROPERTIES
from hadar.domain.properties import Property as PropertyRow
from hadar.graphql.bookings import property_bookings
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.scalars import BigInt
from hadar.graphql.types import Connection, DeletedObject, Node, NodeKind, mutation, query
from hadar.services import properties as property_service

Property = object_type(
    property_service.PropertyOut,
    interfaces=(Node,),
    relations={
        "bookings": strawberry.field(
            resolver=property_bookings, description="The property's viewings, newest first."
        )
    },
)
PropertyCreateInput = input_type(property_service.PropertyCreate, "PropertyCreateInput")
PropertyUpdateInput = input_type(
    property_service.PropertyUpdate, "PropertyUpdateInput", optional=True
)


def property_of(row: Any) -> Any:
    return Property.from_dict(property_service.present_property(row))  # type: ignore[attr-defined]


async def find_property(context: Context, property_id: str) -> Any:
    """One property by id, through the request's loader (a list may have primed it)."""
    return property_of(await context.loaders.one(PropertyRow, property_id, "property"))


NODES = (NodeKind("prop", Property, PROPERTIES, find_property),)


@strawberry.type
class Query:
    @query(
        property_service.LIST,
        "Properties, newest first: the pages, filters and signed cursors of GET "
        "/api/v1/properties (first = limit, 1-100, default 25; after = cursor; price bounds "
        "inclusive).",
    )
    async def properties(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        area: str | None = None,
        bedrooms: int | None = None,
        price_min: BigInt | None = None,
        price_max: BigInt | None = None,
        status: str | None = None,
        purpose: str | None = None,
        type: str | None = None,
    ) -> Connection[Property]:
        context = info.context
        page = await property_service.list_properties(
            scope=context.scope,
            limit=first,
            cursor=after,
            area=area,
            bedrooms=bedrooms,
            price_min=price_min,
            price_max=price_max,
            status=status,
            purpose=purpose,
            type=type,
        )
        context.loaders.prime_by_id(page.items, PropertyRow)
        return Connection.of(page, property_of, after=after)

    @query(property_service.RETRIEVE, "One property (REST: GET /api/v1/properties/{id}).")
    async def property(self, info: Info[Context, None], id: strawberry.ID) -> Property:
        return await find_property(info.context, str(id))


@strawberry.type
class Mutation:
    @mutation(property_service.CREATE, "Add a listing (REST: POST /api/v1/properties).")
    async def create_property(
        self, info: Info[Context, None], input: PropertyCreateInput
    ) -> Property:
        row = await property_service.create_property(scope=info.context.scope, data=as_body(input))
        return property_of(row)

    @mutation(
        property_service.UPDATE, "Change the given fields (REST: PATCH /api/v1/properties/{id})."
    )
    async def update_property(
        self, info: Info[Context, None], id: strawberry.ID, input: PropertyUpdateInput
    ) -> Property:
        row = await property_service.update_property(
            scope=info.context.scope, property_id=str(id), data=as_body(input)
        )
        return property_of(row)

    @mutation(
        property_service.DELETE, "Delete a listing for good (REST: DELETE /api/v1/properties/{id})."
    )
    async def delete_property(self, info: Info[Context, None], id: strawberry.ID) -> DeletedObject:
        gone = await property_service.delete_property(scope=info.context.scope, property_id=str(id))
        return DeletedObject(id=strawberry.ID(gone), deleted=True)
