"""Bookings (viewings): a lead, a property and an agent for a half-open interval of time.

Overlap is decided by the database, so two concurrent requests cannot both pass a check:
- PostgreSQL: two exclusion constraints (migration 0004, btree_gist) refuse a second active
  (`scheduled`/`confirmed`) booking whose [starts_at, ends_at) overlaps one of the same agent
  (AGENT_CONSTRAINT) or of the same property (PROPERTY_CONSTRAINT). The INSERT or UPDATE fails
  with IntegrityError (SQLSTATE 23P01) naming the constraint; the service answers 409 conflict.
  Cancelling, completing or marking a no-show frees the slot, since the constraints only cover
  active rows.
- SQLite has no exclusion constraints. The service opens a transaction, calls
  `hadar.domain.locks.take_write_lock(conn)` first, then checks for an overlapping active booking
  (`overlap_filter`) and writes. Tortoise begins SQLite transactions with a plain (deferred)
  BEGIN, so without that first write two processes could both read "free" before either
  writes; the no-op UPDATE takes SQLite's write lock at once, as BEGIN IMMEDIATE would, and
  holds it until commit (other writers wait up to the busy timeout). Inside one process
  Tortoise's single SQLite connection already runs one transaction at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.leads import Lead, LeadStatus
from hadar.domain.properties import Property
from hadar.domain.scope import AGENTS, Resource
from hadar.domain.tenants import Tenant
from hadar.errors import Conflict, ValidationError

DEFAULT_LENGTH = timedelta(minutes=30)
MAX_LENGTH = timedelta(hours=8)
AGENT_CONSTRAINT = "bookings_agent_no_overlap"
PROPERTY_CONSTRAINT = "bookings_property_no_overlap"


class BookingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


ACTIVE_STATUSES = (BookingStatus.SCHEDULED.value, BookingStatus.CONFIRMED.value)
MOVES = {
    BookingStatus.SCHEDULED: frozenset(
        {
            BookingStatus.CONFIRMED,
            BookingStatus.COMPLETED,
            BookingStatus.NO_SHOW,
            BookingStatus.CANCELLED,
        }
    ),
    BookingStatus.CONFIRMED: frozenset(
        {BookingStatus.COMPLETED, BookingStatus.NO_SHOW, BookingStatus.CANCELLED}
    ),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}
# Booking a viewing moves an early-stage lead on; later stages are left where they are.
LEAD_STAGES_BEFORE_VIEWING = frozenset(
    {LeadStatus.NEW.value, LeadStatus.CONTACTED.value, LeadStatus.QUALIFIED.value}
)


ids.declare("bkg", param="booking_id")
BOOKINGS = Resource("bookings", writers=AGENTS)


class Booking(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="bookings", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "hadar.Lead", related_name="bookings", on_delete=fields.CASCADE
    )
    lead_id: str
    property: fields.ForeignKeyRelation[Property] = fields.ForeignKeyField(
        "hadar.Property", related_name="bookings", on_delete=fields.CASCADE
    )
    property_id: str
    # The agent's name or e-mail, as a lead's assigned_to.
    agent = fields.CharField(max_length=320)
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    notes = fields.TextField(null=True)
    status = fields.CharField(max_length=16, default=BookingStatus.SCHEDULED.value)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "bookings"
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            Index(fields=("tenant_id", "environment", "lead_id", "id")),
            Index(fields=("tenant_id", "environment", "status", "id")),
            # The SQLite overlap check and the agent/property/starts_* filters.
            Index(fields=("tenant_id", "environment", "agent", "starts_at")),
            Index(fields=("tenant_id", "environment", "property_id", "starts_at")),
        ]


def interval(starts_at: datetime, ends_at: datetime | None) -> tuple[datetime, datetime]:
    """(starts_at, ends_at), ends_at defaulting to +30 min; ValidationError on `booking.ends_at`.

    ends_at must be after starts_at (a zero-length viewing occupies nothing) and at most 8 h
    after it; exactly 8 h is allowed.
    """
    end = starts_at + DEFAULT_LENGTH if ends_at is None else ends_at
    if end <= starts_at:
        raise ValidationError(
            "booking.ends_at must be after booking.starts_at", field="booking.ends_at"
        )
    if end - starts_at > MAX_LENGTH:
        raise ValidationError(
            "booking.ends_at must be at most 8 hours after booking.starts_at",
            field="booking.ends_at",
        )
    return starts_at, end


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """True when half-open [start, end) intervals share an instant (11:00 end, 11:00 start: no)."""
    return a[0] < b[1] and b[0] < a[1]


def overlap_filter(starts_at: datetime, ends_at: datetime) -> dict[str, Any]:
    """Tortoise filter kwargs for active bookings overlapping [starts_at, ends_at)."""
    return {"status__in": ACTIVE_STATUSES, "starts_at__lt": ends_at, "ends_at__gt": starts_at}


def is_active(status: str) -> bool:
    """True for the statuses that hold a slot (scheduled, confirmed)."""
    return status in ACTIVE_STATUSES


def check_move(current: str, new: str) -> None:
    """Raise Conflict, naming the current status, unless a booking may move current → new.

    current == new is a move too (and refused): a PATCH that repeats the status is no move,
    and the service skips this check for it.
    """
    allowed = MOVES[BookingStatus(current)]
    if BookingStatus(new) not in allowed:
        if not allowed:
            raise Conflict(f"the booking is {current}; a {current} booking cannot change status")
        raise Conflict(f"the booking is {current}; it cannot move to {new}")


def lead_status_after_booking(current: str) -> str | None:
    """The lead status a new booking moves the lead to (viewing), or None to leave it."""
    return LeadStatus.VIEWING.value if current in LEAD_STAGES_BEFORE_VIEWING else None
