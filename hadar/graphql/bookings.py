"""GraphQL twins of the booking routes; a booking's lead and property, and a lead's or a
property's bookings, resolve through batched loaders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.types import Info

from hadar.domain.bookings import BOOKINGS
from hadar.domain.bookings import Booking as BookingRow
from hadar.domain.leads import Lead as LeadRow
from hadar.domain.properties import Property as PropertyRow
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.scalars import DateTime
from hadar.graphql.types import Connection, Node, NodeKind, mutation, query
from hadar.services import bookings as service
from hadar.services import leads as lead_service
from hadar.services import properties as property_service

if TYPE_CHECKING:
    from hadar.graphql.leads import Lead
    from hadar.graphql.properties import Property

# Lazy: leads and properties import this module for their `bookings` field.
LazyLead = Annotated["Lead", strawberry.lazy("hadar.graphql.leads")]
LazyProperty = Annotated["Property", strawberry.lazy("hadar.graphql.properties")]


async def _lead(root: Any, info: Info[Context, None]) -> LazyLead | None:
    from hadar.graphql.leads import Lead

    row = await info.context.loaders.by_id(LeadRow).load(str(root.lead_id))
    return Lead.from_dict(lead_service.present_lead(row)) if row else None  # type: ignore[attr-defined]


async def _property(root: Any, info: Info[Context, None]) -> LazyProperty | None:
    from hadar.graphql.properties import Property

    row = await info.context.loaders.by_id(PropertyRow).load(str(root.property_id))
    if row is None:
        return None
    return Property.from_dict(property_service.present_property(row))  # type: ignore[attr-defined]


Booking = object_type(
    service.BookingOut,
    interfaces=(Node,),
    relations={
        "lead": strawberry.field(resolver=_lead, description="The lead shown the property."),
        "property": strawberry.field(resolver=_property, description="The property viewed."),
    },
)
BookingCreateInput = input_type(service.BookingCreate, "BookingCreateInput")
BookingUpdateInput = input_type(service.BookingUpdate, "BookingUpdateInput", optional=True)


def booking_of(row: BookingRow) -> Any:
    return Booking.from_dict(service.present_booking(row))  # type: ignore[attr-defined]


async def find_booking(context: Context, booking_id: str) -> Any:
    """One booking by id in the caller's sandbox (NotFound otherwise)."""
    return booking_of(await service.get_booking(scope=context.scope, booking_id=booking_id))


NODES = (NodeKind("bkg", Booking, BOOKINGS, find_booking),)


async def lead_bookings(root: Any, info: Info[Context, None]) -> list[Booking]:  # type: ignore[valid-type]
    """A lead's bookings, newest first (batched across a page of leads)."""
    rows = await info.context.loaders.children(BookingRow, "lead_id").load(str(root.id))
    return [booking_of(row) for row in rows]


async def property_bookings(root: Any, info: Info[Context, None]) -> list[Booking]:  # type: ignore[valid-type]
    """A property's bookings, newest first (batched across a page of properties)."""
    rows = await info.context.loaders.children(BookingRow, "property_id").load(str(root.id))
    return [booking_of(row) for row in rows]


@strawberry.type
class Query:
    @query(
        service.LIST,
        "Bookings, newest first: the pages, filters and signed cursors of GET "
        "/api/v1/bookings (first = limit, 1-100, default 25; after = cursor).",
    )
    async def bookings(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        lead_id: strawberry.ID | None = None,
        property_id: strawberry.ID | None = None,
        agent: str | None = None,
        status: str | None = None,
        starts_after: DateTime | None = None,
        starts_before: DateTime | None = None,
    ) -> Connection[Booking]:  # type: ignore[valid-type]
        page = await service.list_bookings(
            scope=info.context.scope,
            limit=first,
            cursor=after,
            lead_id=str(lead_id) if lead_id is not None else None,
            property_id=str(property_id) if property_id is not None else None,
            agent=agent,
            status=status,
            starts_after=cast(datetime | None, starts_after),  # the scalar parses to datetime
            starts_before=cast(datetime | None, starts_before),
        )
        return Connection.of(page, booking_of, after=after)

    @query(service.RETRIEVE, "One booking (REST: GET /api/v1/bookings/{id}).")
    async def booking(self, info: Info[Context, None], id: strawberry.ID) -> Booking:  # type: ignore[valid-type]
        return await find_booking(info.context, str(id))


@strawberry.type
class Mutation:
    @mutation(service.CREATE, "Book a viewing (REST: POST /api/v1/bookings).")
    async def create_booking(
        self,
        info: Info[Context, None],
        input: BookingCreateInput,  # type: ignore[valid-type]
    ) -> Booking:  # type: ignore[valid-type]
        row = await service.create_booking(scope=info.context.scope, data=as_body(input))
        return booking_of(row)

    @mutation(
        service.UPDATE, "Move, re-assign or change the status (REST: PATCH /api/v1/bookings/{id})."
    )
    async def update_booking(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        input: BookingUpdateInput,  # type: ignore[valid-type]
    ) -> Booking:  # type: ignore[valid-type]
        row = await service.update_booking(
            scope=info.context.scope, booking_id=str(id), data=as_body(input)
        )
        return booking_of(row)

    @mutation(service.CANCEL, "Cancel a booking (REST: POST /api/v1/bookings/{id}/cancel).")
    async def cancel_booking(self, info: Info[Context, None], id: strawberry.ID) -> Booking:  # type: ignore[valid-type]
        row = await service.cancel_booking(scope=info.context.scope, booking_id=str(id))
        return booking_of(row)
