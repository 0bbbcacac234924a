"""WhatsApp's rules as pure functions: the 24-hour window to the second, opt-out words in
English and Arabic, and delivery statuses that only move forward whatever order reports arrive."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hadar.domain.conversations import advance_status, is_opt_out, window_expires_at, window_open

INBOUND = datetime(2026, 5, 15, 8, 42, 11, 103000, tzinfo=UTC)


def test_no_window_before_any_inbound() -> None:
    assert window_expires_at(None) is None
    assert not window_open(None, INBOUND)


def test_window_expires_24_hours_after_the_last_inbound() -> None:
    assert window_expires_at(INBOUND) == datetime(2026, 5, 16, 8, 42, 11, 103000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "is_open"),
    [
        (timedelta(0), True),
        (timedelta(hours=23, minutes=59, seconds=59), True),
        (timedelta(hours=23, minutes=59, seconds=59, milliseconds=999), True),
        (timedelta(hours=24), False),
        (timedelta(hours=24, seconds=1), False),
        (timedelta(days=3), False),
    ],
)
def test_window_edges(elapsed: timedelta, is_open: bool) -> None:
    assert window_open(INBOUND, INBOUND + elapsed) is is_open


def test_window_is_the_same_instant_in_any_offset() -> None:
    gst = INBOUND.astimezone(timezone(timedelta(hours=4)))
    assert window_open(gst, INBOUND + timedelta(hours=23, minutes=59, seconds=59))
    assert not window_open(gst, INBOUND + timedelta(hours=24, seconds=1))


@pytest.mark.parametrize(
    "text",
    [
        "stop",
        "STOP",
        "Stop",
        "  stop  ",
        "\tStop\n",
        "stop.",
        "STOP!",
        "unsubscribe",
        "UNSUBSCRIBE",
        " Unsubscribe ",
        "\uff33\uff34\uff2f\uff30",  # full-width STOP
        "إلغاء",
        "الغاء",
        "  إلغاء  ",
        "إلـغاء",  # with a tatweel
        "\u200fإلغاء",  # noqa: RUF001 (a right-to-left mark before it)
        "الغاء\u200f",
        "\u0627\u0655لغاء",  # noqa: RUF001 (alef + combining hamza below: NFKC composes إ)
        "إلغاء!",
        "\u00a0stop\u00a0",  # no-break spaces
    ],
)
def test_opt_out_words(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "stop it",
        "please stop",
        "stop?",
        "stopp",
        "s t o p",
        "don't stop",
        "unsubscribe me",
        "stop stop",
        "أوقف",
        "ألغاء",  # alef with hamza above: a different spelling, not guessed at
        "إلغاء الحجز",  # "cancel the booking": not an opt-out
        "الغاء؟",
        "cancel",
    ],
)
def test_not_opt_out(text: str | None) -> None:
    assert not is_opt_out(text)


def replay(statuses: list[str], start: str = "queued") -> str:
    """The status stored after the reports `statuses` arrive in this order."""
    current = start
    for status in statuses:
        moved = advance_status(current, status)
        if moved is not None:
            current = moved
    return current


def test_status_moves_forward_one_step_at_a_time() -> None:
    assert advance_status("queued", "sent") == "sent"
    assert advance_status("sent", "delivered") == "delivered"
    assert advance_status("delivered", "read") == "read"


def test_a_late_delivered_after_read_changes_nothing() -> None:
    assert advance_status("read", "delivered") is None
    assert advance_status("read", "sent") is None
    assert replay(["sent", "read", "delivered"]) == "read"


def test_read_without_delivered_is_accepted() -> None:
    assert advance_status("sent", "read") == "read"
    assert advance_status("queued", "read") == "read"


def test_duplicates_change_nothing() -> None:
    for status in ("queued", "sent", "delivered", "read", "failed"):
        assert advance_status(status, status) is None
    assert replay(["sent", "sent", "delivered", "delivered"]) == "delivered"


def test_failed_is_accepted_from_any_status_but_read() -> None:
    for current in ("queued", "sent", "delivered"):
        assert advance_status(current, "failed") == "failed"
    assert advance_status("read", "failed") is None
    # A late sent or delivered does not resurrect a failed message.
    assert advance_status("failed", "sent") is None
    assert advance_status("failed", "delivered") is None


@pytest.mark.parametrize(
    ("reports", "final"),
    [
        (["sent", "delivered", "read"], "read"),
        (["sent", "delivered"], "delivered"),
        (["sent", "failed"], "failed"),
        (["delivered", "failed"], "failed"),
        (["sent", "delivered", "read", "failed"], "read"),
    ],
)
def test_the_final_status_does_not_depend_on_arrival_order(reports: list[str], final: str) -> None:
    for order in itertools.permutations(reports + reports[:1]):
        assert replay(list(order)) == final, order


def test_unknown_status_is_an_error() -> None:
    with pytest.raises(ValueError):
        advance_status("sent", "seen")
