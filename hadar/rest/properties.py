"""REST routes for properties."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import properties


async def create(call: Call) -> tuple[int, Any]:
    row = await properties.create_property(scope=call.scope, data=call.body)
    return 201, properties.present_property(row)


async def list_(call: Call) -> tuple[int, Any]:
    query = call.query.model_dump(exclude_none=True)
    page = await properties.list_properties(scope=call.scope, **query)
    return 200, page_body(page, properties.present_property)


async def retrieve(call: Call) -> tuple[int, Any]:
    row = await properties.get_property(scope=call.scope, property_id=call.params["property_id"])
    return 200, properties.present_property(row)


async def update(call: Call) -> tuple[int, Any]:
    row = await properties.update_property(
        scope=call.scope, property_id=call.params["property_id"], data=call.body
    )
    return 200, properties.present_property(row)


async def delete(call: Call) -> tuple[int, Any]:
    gone = await properties.delete_property(
        scope=call.scope, property_id=call.params["property_id"]
    )
    return 200, {"id": gone, "object": "property", "deleted": True}


TAG = "Properties"
ROUTES = [
    RouteSpec(
        "POST",
        "/properties",
        create,
        properties.CREATE,
        "Create a property",
        TAG,
        body=properties.PropertyCreate,
        response=properties.PropertyOut,
        status=201,
        description="Required: `title`, `reference` (unique per tenant and environment: a "
        "duplicate is 409 `conflict`), `type`, `price_aed` (whole dirhams) and `purpose`. "
        "`status` defaults to `available`, `handover` to `ready`. Live `available` listings "
        "need a `permit_number` (the RERA/DLD permit).",
        example=properties.PROPERTY_EXAMPLE,
    ),
    RouteSpec(
        "GET",
        "/properties",
        list_,
        properties.LIST,
        "List properties, newest first",
        TAG,
        query=properties.PropertyQuery,
        response=properties.PropertyListOut,
        description="Newest first, keyset-paginated; `price_min` and `price_max` are inclusive.",
    ),
    RouteSpec(
        "GET",
        "/properties/{property_id}",
        retrieve,
        properties.RETRIEVE,
        "Retrieve a property",
        TAG,
        response=properties.PropertyOut,
    ),
    RouteSpec(
        "PATCH",
        "/properties/{property_id}",
        update,
        properties.UPDATE,
        "Update a property",
        TAG,
        body=properties.PropertyUpdate,
        response=properties.PropertyOut,
        description="Changes the given fields; `null` clears an optional one. A `reference` "
        "another property has is 409 `conflict`.",
        example={"status": "reserved", "price_aed": 1800000},
    ),
    RouteSpec(
        "DELETE",
        "/properties/{property_id}",
        delete,
        properties.DELETE,
        "Delete a property",
        TAG,
        response=properties.PropertyDeletedOut,
    ),
]
