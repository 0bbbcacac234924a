"""Booking rules: the interval (default 30 min, at most 8 h), half-open overlap, every status
move allowed and refused, and the lead status a booking moves a lead to."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from hadar.domain.bookings import (
    check_move,
    interval,
    is_active,
    lead_status_after_booking,
    overlaps,
)
from hadar.errors import Conflict, ValidationError

T10 = datetime(2026, 5, 16, 10, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return T10.replace(hour=hour, minute=minute)


def test_ends_at_defaults_to_30_minutes() -> None:
    assert interval(T10, None) == (T10, at(10, 30))


@pytest.mark.parametrize(
    "length",
    [timedelta(seconds=1), timedelta(minutes=30), timedelta(hours=8)],
)
def test_lengths_accepted(length: timedelta) -> None:
    assert interval(T10, T10 + length) == (T10, T10 + length)


@pytest.mark.parametrize(
    "length",
    [timedelta(0), -timedelta(minutes=1), timedelta(hours=8, seconds=1), timedelta(days=1)],
)
def test_lengths_refused_on_booking_ends_at(length: timedelta) -> None:
    with pytest.raises(ValidationError) as info:
        interval(T10, T10 + length)
    assert info.value.field == "booking.ends_at"
    assert "booking.ends_at" in info.value.message


def test_overlap_is_half_open() -> None:
    ten_to_eleven = (at(10), at(11))
    assert not overlaps(ten_to_eleven, (at(11), at(12)))  # touching
    assert not overlaps((at(11), at(12)), ten_to_eleven)
    assert overlaps(ten_to_eleven, (at(10, 59), at(12)))
    assert overlaps(ten_to_eleven, (at(9), at(10, 1)))
    assert overlaps(ten_to_eleven, (at(10, 15), at(10, 45)))  # inside
    assert overlaps(ten_to_eleven, (at(9), at(12)))  # around
    assert overlaps(ten_to_eleven, ten_to_eleven)
    assert not overlaps(ten_to_eleven, (at(8), at(9)))


STATUSES = ("scheduled", "confirmed", "completed", "cancelled", "no_show")
ALLOWED = {
    ("scheduled", "confirmed"),
    ("scheduled", "completed"),
    ("scheduled", "no_show"),
    ("scheduled", "cancelled"),
    ("confirmed", "completed"),
    ("confirmed", "no_show"),
    ("confirmed", "cancelled"),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(STATUSES, STATUSES)))
def test_every_move(current: str, new: str) -> None:
    if (current, new) in ALLOWED:
        check_move(current, new)
        return
    with pytest.raises(Conflict) as info:
        check_move(current, new)
    assert f"the booking is {current}" in info.value.message


def test_only_scheduled_and_confirmed_hold_a_slot() -> None:
    assert [s for s in STATUSES if is_active(s)] == ["scheduled", "confirmed"]


@pytest.mark.parametrize(
    ("lead_status", "after"),
    [
        ("new", "viewing"),
        ("contacted", "viewing"),
        ("qualified", "viewing"),
        ("viewing", None),
        ("negotiating", None),
        ("won", None),
        ("lost", None),
    ],
)
def test_booking_moves_an_early_lead_to_viewing(lead_status: str, after: str | None) -> None:
    assert lead_status_after_booking(lead_status) == after
