"""REST routes for bookings (viewings)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import bookings


async def create(call: Call) -> tuple[int, Any]:
    row = await bookings.create_booking(scope=call.scope, data=call.body)
    return 201, bookings.present_booking(row)


async def list_(call: Call) -> tuple[int, Any]:
    query = call.query.model_dump(exclude_none=True)
    page = await bookings.list_bookings(scope=call.scope, **query)
    return 200, page_body(page, bookings.present_booking)


async def retrieve(call: Call) -> tuple[int, Any]:
    row = await bookings.get_booking(scope=call.scope, booking_id=call.params["booking_id"])
    return 200, bookings.present_booking(row)


async def update(call: Call) -> tuple[int, Any]:
    row = await bookings.update_booking(
        scope=call.scope, booking_id=call.params["booking_id"], data=call.body
    )
    return 200, bookings.present_booking(row)


async def cancel(call: Call) -> tuple[int, Any]:
    row = await bookings.cancel_booking(scope=call.scope, booking_id=call.params["booking_id"])
    return 200, bookings.present_booking(row)


TAG = "Bookings"
ROUTES = [
    RouteSpec(
        "POST",
        "/bookings",
        create,
        bookings.CREATE,
        "Book a viewing",
        TAG,
        body=bookings.BookingCreate,
        response=bookings.BookingOut,
        status=201,
        errors=("not_found",),  # an unknown lead_id or property_id
        description="Required: `lead_id`, `property_id`, `agent`, `starts_at` (any offset; "
        "answered in UTC). `ends_at` defaults to 30 minutes later and must be after "
        "`starts_at` and at most 8 hours after it. The property must be `available` and "
        "neither the agent nor the property may have a `scheduled` or `confirmed` booking "
        "overlapping [starts_at, ends_at), else 409 `conflict`. A `new`, `contacted` or "
        "`qualified` lead moves to `viewing`.",
        example=bookings.BOOKING_EXAMPLE,
    ),
    RouteSpec(
        "GET",
        "/bookings",
        list_,
        bookings.LIST,
        "List bookings, newest first",
        TAG,
        query=bookings.BookingQuery,
        response=bookings.BookingListOut,
        description="Newest first, keyset-paginated; `starts_after` is inclusive, "
        "`starts_before` exclusive.",
    ),
    RouteSpec(
        "GET",
        "/bookings/{booking_id}",
        retrieve,
        bookings.RETRIEVE,
        "Retrieve a booking",
        TAG,
        response=bookings.BookingOut,
    ),
    RouteSpec(
        "PATCH",
        "/bookings/{booking_id}",
        update,
        bookings.UPDATE,
        "Update a booking",
        TAG,
        body=bookings.BookingUpdate,
        response=bookings.BookingOut,
        description="`status` moves `scheduled`→`confirmed`, `scheduled|confirmed`→"
        "`completed|no_show|cancelled`; any other move is 409 `conflict` naming the current "
        "status. A new `starts_at`, `ends_at` or `agent` re-checks overlap (409 `conflict`).",
        example={"status": "confirmed"},
    ),
    RouteSpec(
        "POST",
        "/bookings/{booking_id}/cancel",
        cancel,
        bookings.CANCEL,
        "Cancel a booking",
        TAG,
        response=bookings.BookingOut,
        description="Frees the slot; a `completed`, `cancelled` or `no_show` booking is 409 "
        "`conflict`.",
    ),
]
