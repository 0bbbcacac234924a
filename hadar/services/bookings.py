"""Bookings (viewings): an agent shows a property to a lead, never double-booked.

The overlap rule is decided atomically (see hadar.domain.bookings): PostgreSQL's exclusion
constraints refuse the write; on SQLite the write lock is taken before the check.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import bookings as rules
from hadar.domain.bookings import BOOKINGS, Booking, BookingStatus
from hadar.domain.conversations import Message
from hadar.domain.leads import Lead
from hadar.domain.locks import take_write_lock
from hadar.domain.properties import Property, PropertyStatus
from hadar.domain.scope import Operation, Scope
from hadar.errors import Conflict, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page
from hadar.services import audit, events, leads
from hadar.services.listing import filtered, get_in_scope, scoped
from hadar.services.models import DATETIME, Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery, Strict, UtcDatetime, parse

CREATE = Operation("bookings.create", BOOKINGS, mutation=True)
LIST = Operation("bookings.list", BOOKINGS)
RETRIEVE = Operation("bookings.retrieve", BOOKINGS)
UPDATE = Operation("bookings.update", BOOKINGS, mutation=True)
CANCEL = Operation("bookings.cancel", BOOKINGS, mutation=True)

Agent = Annotated[str, pydantic.Field(min_length=1, max_length=320)]
Notes = Annotated[str, pydantic.Field(max_length=10_000)]
# JSON carries times as text, so these fields parse strings even in a strict model.
Instant = Annotated[UtcDatetime, pydantic.Field(strict=False), DATETIME]
StatusName = Literal["scheduled", "confirmed", "completed", "cancelled", "no_show"]


class BookingCreate(Strict):
    """A viewing: who, what, when; ends_at defaults to 30 minutes after starts_at."""

    lead_id: id_of("lead")  # type: ignore[valid-type]
    property_id: id_of("prop")  # type: ignore[valid-type]
    agent: Agent = pydantic.Field(description="the agent's name or e-mail")
    starts_at: Instant
    ends_at: Instant | None = pydantic.Field(
        default=None, description="after starts_at, at most 8 h after it (default +30 min)"
    )
    notes: Notes | None = None


class BookingUpdate(Strict):
    """Fields of a booking; `status` moves it through scheduled → confirmed → completed."""

    agent: Agent | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    notes: Notes | None = None
    status: StatusName | None = None


class BookingQuery(PageQuery):
    """The filters of GET /bookings (the GraphQL `bookings` field takes the same)."""

    lead_id: str | None = pydantic.Field(default=None, min_length=1, max_length=40)
    property_id: str | None = pydantic.Field(default=None, min_length=1, max_length=40)
    agent: str | None = pydantic.Field(default=None, min_length=1, max_length=320)
    status: StatusName | None = None
    starts_after: UtcDatetime | None = pydantic.Field(
        default=None, description="Starting at or after this instant."
    )
    starts_before: UtcDatetime | None = pydantic.Field(
        default=None, description="Starting before this instant."
    )


class BookingOut(Out):
    """A viewing of a property by a lead with an agent, over [starts_at, ends_at)."""

    id: id_of("bkg")  # type: ignore[valid-type]
    object: Literal["booking"]
    lead_id: id_of("lead")  # type: ignore[valid-type]
    property_id: id_of("prop")  # type: ignore[valid-type]
    agent: str
    starts_at: Timestamp
    ends_at: Timestamp
    notes: str | None
    status: StatusName
    created_at: Timestamp
    updated_at: Timestamp


BookingListOut = list_of(BookingOut)
BOOKING_EXAMPLE = {
    "lead_id": "lead_01J0000000000000000000000A",
    "property_id": "prop_01J0000000000000000000000A",
    "agent": "sara@agency.ae",
    "starts_at": "2026-05-20T10:00:00+04:00",
    "notes": "Client prefers a high floor",
}


def _taken(scope: Scope) -> Conflict:
    return Conflict(
        "the agent or the property already has a viewing at this time", field="booking.starts_at"
    )


async def _write(scope: Scope, row: Booking, *, create: bool) -> None:
    """Check overlap and write `row`, atomically; Conflict when the slot is taken."""
    try:
        async with in_transaction() as conn:  # a savepoint inside the request's transaction
            await take_write_lock(conn)  # SQLite: serialise check-then-write; PostgreSQL: no-op
            if rules.is_active(row.status):
                clash = (
                    scoped(Booking, scope)
                    .filter(**rules.overlap_filter(row.starts_at, row.ends_at))
                    .exclude(id=row.id)
                )
                by_agent = await clash.filter(agent=row.agent).exists()
                if by_agent or await clash.filter(property_id=row.property_id).exists():
                    raise _taken(scope)
            await row.save(force_create=create)
    except IntegrityError:
        # PostgreSQL's exclusion constraint: a concurrent request took the slot after our check.
        raise _taken(scope) from None


async def create_booking(*, scope: Scope, data: Any) -> Booking:
    """Book a viewing; an overlapping active booking of the agent or property is 409."""
    scope.require_write(BOOKINGS)
    spec = parse(BookingCreate, data, root="booking")
    starts_at, ends_at = rules.interval(spec.starts_at, spec.ends_at)
    lead = await leads.get_lead(scope=scope, lead_id=spec.lead_id, lock=True)
    prop = await get_in_scope(
        Property, scope=scope, prefix="prop", object_id=spec.property_id, noun="property"
    )
    if prop.status != PropertyStatus.AVAILABLE.value:
        raise Conflict(
            f"property {prop.id} is {prop.status}, not available", field="booking.property_id"
        )
    at = clock.now()
    row = Booking(
        id=new_id("bkg", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        lead_id=lead.id,
        property_id=prop.id,
        agent=spec.agent,
        starts_at=starts_at,
        ends_at=ends_at,
        notes=spec.notes,
        status=BookingStatus.SCHEDULED.value,
        created_at=at,
        updated_at=at,
    )
    await _write(scope, row, create=True)
    await _advance_lead(scope, lead)
    await audit.record(scope=scope, action="booking.created", object_id=row.id)
    await events.emit(scope=scope, type="booking.created", obj=present_booking(row))
    return row


async def _advance_lead(scope: Scope, lead: Lead) -> None:
    # A booked viewing moves an early-stage lead to `viewing`; its score follows the status.
    status = rules.lead_status_after_booking(lead.status)
    if status is None:
        return
    lead.status = status
    inbound = await scoped(Message, scope).filter(lead_id=lead.id, direction="inbound").count()
    leads.rescore(lead=lead, inbound_messages=inbound)
    lead.updated_at = clock.now()
    await lead.save(update_fields=["status", "score", "score_factors", "updated_at"])
    await audit.record(scope=scope, action="lead.updated", object_id=lead.id)
    await events.emit(scope=scope, type="lead.updated", obj=leads.present_lead(lead))


async def get_booking(*, scope: Scope, booking_id: str, lock: bool = False) -> Booking:
    """The booking with `booking_id` in the caller's tenant and environment, else NotFound."""
    return await get_in_scope(
        Booking, scope=scope, prefix="bkg", object_id=booking_id, noun="booking", lock=lock
    )


async def update_booking(*, scope: Scope, booking_id: str, data: Any) -> Booking:
    """Change agent, times, notes or status; a new time or agent re-checks overlap."""
    scope.require_write(BOOKINGS)
    spec = parse(BookingUpdate, data, root="booking")
    row = await get_booking(scope=scope, booking_id=booking_id, lock=True)
    return await _apply(scope, row, spec)


async def _apply(scope: Scope, row: Booking, spec: BookingUpdate) -> Booking:
    given = spec.model_fields_set
    for name in ("agent", "starts_at", "status"):
        if name in given and getattr(spec, name) is None:
            raise ValidationError(f"booking.{name} may not be null", field=f"booking.{name}")
    if spec.status is not None and spec.status != row.status:
        rules.check_move(row.status, spec.status)
        row.status = spec.status
    if spec.agent is not None:
        row.agent = spec.agent
    if "notes" in given:
        row.notes = spec.notes  # type: ignore[assignment]  # the column is nullable
    if "starts_at" in given or "ends_at" in given:
        start = spec.starts_at or row.starts_at
        # A new start without an end keeps the booking's length.
        end = spec.ends_at if "ends_at" in given else start + (row.ends_at - row.starts_at)
        row.starts_at, row.ends_at = rules.interval(start, end)
    row.updated_at = clock.now()
    await _write(scope, row, create=False)
    await audit.record(scope=scope, action="booking.updated", object_id=row.id)
    await events.emit(scope=scope, type="booking.updated", obj=present_booking(row))
    return row


async def cancel_booking(*, scope: Scope, booking_id: str) -> Booking:
    """Cancel the booking (frees its slot); a completed, cancelled or no-show one is 409."""
    scope.require_write(BOOKINGS)
    row = await get_booking(scope=scope, booking_id=booking_id, lock=True)
    # Unlike a PATCH repeating the status, cancelling a cancelled booking is refused.
    rules.check_move(row.status, BookingStatus.CANCELLED.value)
    return await _apply(scope, row, BookingUpdate(status="cancelled"))


async def list_bookings(
    *,
    scope: Scope,
    lead_id: str | None = None,
    property_id: str | None = None,
    agent: str | None = None,
    status: str | None = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Booking]:
    """Newest first, filtered (starts_after inclusive, starts_before exclusive)."""
    given = {
        "lead_id": lead_id,
        "property_id": property_id,
        "agent": agent,
        "status": status,
        "starts_after": starts_after,
        "starts_before": starts_before,
        "limit": limit,
        "cursor": cursor,
    }
    return await filtered(
        Booking,
        scope=scope,
        name="bookings",
        query=BookingQuery,
        given=given,
        lookups={"starts_after": "starts_at__gte", "starts_before": "starts_at__lt"},
    )


def present_booking(row: Booking) -> dict[str, Any]:
    """The public shape of a booking (REST body, GraphQL node, webhook payload)."""
    return {
        "id": row.id,
        "object": "booking",
        "lead_id": row.lead_id,
        "property_id": row.property_id,
        "agent": row.agent,
        "starts_at": clock.isoformat(row.starts_at),
        "ends_at": clock.isoformat(row.ends_at),
        "notes": row.notes,
        "status": row.status,
        "created_at": clock.isoformat(row.created_at),
        "updated_at": clock.isoformat(row.updated_at),
    }
