"""Call statuses only move forward under repeated and reordered Vapi reports; endedReason
values map to ended or failed, unknown ones to ended."""

from __future__ import annotations

import itertools

import pytest

from hadar.domain.calls import advance_call_status, status_for_ended_reason, status_from_vapi


def replay(reports: list[str], start: str = "queued") -> str:
    current = start
    for report in reports:
        moved = advance_call_status(current, report)
        if moved is not None:
            current = moved
    return current


def test_forward_path() -> None:
    assert advance_call_status("queued", "ringing") == "ringing"
    assert advance_call_status("ringing", "in_progress") == "in_progress"
    assert advance_call_status("in_progress", "ended") == "ended"
    assert advance_call_status("in_progress", "failed") == "failed"


def test_steps_may_be_skipped() -> None:
    assert advance_call_status("queued", "in_progress") == "in_progress"
    assert advance_call_status("queued", "ended") == "ended"
    assert advance_call_status("ringing", "failed") == "failed"


def test_never_backwards_and_repeats_change_nothing() -> None:
    assert advance_call_status("in_progress", "ringing") is None
    assert advance_call_status("ringing", "queued") is None
    for status in ("queued", "ringing", "in_progress", "ended", "failed"):
        assert advance_call_status(status, status) is None


def test_ended_and_failed_are_final() -> None:
    for final in ("ended", "failed"):
        for report in ("queued", "ringing", "in_progress", "ended", "failed"):
            assert advance_call_status(final, report) is None


@pytest.mark.parametrize(
    ("reports", "final"),
    [
        (["ringing", "in_progress", "ended"], "ended"),
        (["ringing", "in_progress"], "in_progress"),
        (["ringing", "failed"], "failed"),
    ],
)
def test_reordered_and_duplicated_reports(reports: list[str], final: str) -> None:
    for order in itertools.permutations([*reports, reports[-1]]):
        assert replay(list(order)) == final, order


@pytest.mark.parametrize(
    "reason",
    [
        "customer-did-not-answer",
        "customer-busy",
        "twilio-failed-to-connect-call",
        "pipeline-error-eleven-labs-voice-not-found",
        "pipeline-error-eleven-labs-quota-exceeded",
        "pipeline-error-eleven-labs-unauthorized-access",
        "call.in-progress.error-vapifault-eleven-labs-voice-failed",
        "call.start.error-get-assistant",
    ],
)
def test_reasons_that_fail_the_call(reason: str) -> None:
    assert status_for_ended_reason(reason) == "failed"


@pytest.mark.parametrize(
    "reason",
    [
        "customer-ended-call",
        "assistant-ended-call",
        "assistant-said-end-call-phrase",
        "voicemail",
        "silence-timed-out",
        "exceeded-max-duration",
        "assistant-forwarded-call",
        "some-reason-vapi-adds-next-year",
        "",
        None,
    ],
)
def test_reasons_that_end_it(reason: str | None) -> None:
    assert status_for_ended_reason(reason) == "ended"


def test_vapi_statuses() -> None:
    assert status_from_vapi("queued") == "queued"
    assert status_from_vapi("scheduled") == "queued"
    assert status_from_vapi("ringing") == "ringing"
    assert status_from_vapi("in-progress") == "in_progress"
    assert status_from_vapi("forwarding") == "in_progress"
    assert status_from_vapi("ended", "customer-ended-call") == "ended"
    assert status_from_vapi("ended", "customer-busy") == "failed"
    assert status_from_vapi("not-found") is None
