"""UltraMsg webhooks, Vapi server messages (both report shapes) and Stripe events, parsed."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from hadar.providers.inbound import stripe as stripe_in
from hadar.providers.inbound import ultramsg as ultramsg_in
from hadar.providers.inbound import vapi as vapi_in
from tests.fakes import FakeStripe, FakeUltraMsg, FakeVapi
from tests.providers.conftest import fixture, fixture_bytes

# --- UltraMsg -------------------------------------------------------------------------------


def test_ultramsg_sample_message_received() -> None:
    event = ultramsg_in.parse_event(fixture_bytes("ultramsg_message_received"))
    assert (event.event_type, event.instance_id, event.ignored) == (
        "message_received",
        "1150",
        None,
    )
    message = event.message
    assert message is not None
    assert message.sender == "+10172127174"
    assert (message.text, message.type, message.profile_name) == ("Hi", "chat", "E.St")
    assert message.message_id == "false_10172127174@c.us_3EB02E5EB89CE03FB034"
    assert message.timestamp == datetime.fromtimestamp(1650002663, UTC)


def test_ultramsg_dubai_number_and_arabic_body() -> None:
    body = FakeUltraMsg().message_received(sender="+971501234567", body="إلغاء")
    event = ultramsg_in.parse_event(body)
    assert event.message is not None
    assert (event.message.sender, event.message.text) == ("+971501234567", "إلغاء")


def test_ultramsg_echoes_acks_and_groups_are_ignored() -> None:
    fake = FakeUltraMsg()
    create = ultramsg_in.parse_event(
        fake.message_received(sender="+9715", body="x", event_type="message_create")
    )
    echo = ultramsg_in.parse_event(
        fake.message_received(sender="+971501234567", body="x", from_me=True)
    )
    ack = ultramsg_in.parse_event({"event_type": "message_ack", "instanceId": "1150", "data": {}})
    group = fixture("ultramsg_message_received")
    group["data"]["from"] = "120363-1650@g.us"
    for event in (create, echo, ack, ultramsg_in.parse_event(group)):
        assert event.message is None and event.ignored
    assert ultramsg_in.parse_event(b"garbage").message is None


def test_ultramsg_instance_digits() -> None:
    assert ultramsg_in.instance_digits("instance1150") == "1150"
    assert ultramsg_in.instance_digits("1150") == "1150"
    assert ultramsg_in.instance_digits(1150) == "1150"
    assert ultramsg_in.instance_digits("instanceABC") is None
    assert ultramsg_in.instance_digits(None) is None


# --- Vapi -----------------------------------------------------------------------------------


def test_vapi_sample_status_update() -> None:
    parsed = vapi_in.parse_message(fixture_bytes("vapi_status_update"))
    update = parsed.status_update
    assert update is not None and parsed.type == "status-update"
    assert (update.provider_call_id, update.status, update.ended_reason) == (
        "call-id-uuid",
        "in-progress",
        None,
    )
    assert update.at == datetime.fromtimestamp(1760000000, UTC)


def test_vapi_sample_end_of_call_report_current_shape() -> None:
    report = vapi_in.parse_message(fixture("vapi_end_of_call_report")).report
    assert report is not None
    assert (report.provider_call_id, report.status) == ("call-id-uuid", "ended")
    assert report.ended_reason == "customer-ended-call"
    assert report.summary == "Lead confirmed Tuesday 5pm viewing."
    assert report.transcript == "AI: Hi Sara… User: Yes, Tuesday works…"
    assert report.recording_url == "https://storage.vapi.ai/…-mono.wav"
    assert report.duration_seconds == 150.0
    assert report.ended_at == datetime(2026, 10, 14, 13, 2, 32, tzinfo=UTC)


@pytest.mark.parametrize("legacy", [False, True])
def test_vapi_reports_in_both_shapes_read_the_same(legacy: bool) -> None:
    fake = FakeVapi()
    fake.calls["c1"] = {
        "id": "c1",
        "status": "in-progress",
        "assistant": {"metadata": {"call_id": "call_X"}},
    }
    report = vapi_in.parse_message(
        fake.end_call("c1", summary="S", transcript="T", legacy=legacy)
    ).report
    assert report is not None
    assert (report.summary, report.transcript, report.status) == ("S", "T", "ended")
    assert report.recording_url == "https://storage.vapi.ai/fake-mono.wav"
    assert report.metadata == {"call_id": "call_X"}


def test_vapi_status_ended_carries_the_reason_and_overrides_metadata() -> None:
    fake = FakeVapi()
    fake.calls["c2"] = {"id": "c2", "assistantOverrides": {"metadata": {"lead_id": "lead_1"}}}
    update = vapi_in.parse_message(fake.status_update("c2", "ended")).status_update
    assert update is not None
    assert (update.status, update.ended_reason) == ("ended", "customer-ended-call")
    assert update.metadata == {"lead_id": "lead_1"}


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[1]",
        orjson.dumps({"message": {"type": "end-of-call-report"}}),
        orjson.dumps({"message": {"type": "status-update", "call": {"id": "c"}}}),
        orjson.dumps({"message": {"type": "speech-update", "call": {"id": "c"}}}),
    ],
)
def test_vapi_odd_messages_never_raise(payload: bytes) -> None:
    parsed = vapi_in.parse_message(payload)
    assert parsed.report is None and parsed.status_update is None and parsed.unknown


# --- Stripe ---------------------------------------------------------------------------------


def test_stripe_sample_payment_intent_succeeded() -> None:
    event = stripe_in.parse_event(fixture_bytes("stripe_payment_intent_succeeded"))
    assert (event.id, event.type, event.livemode) == ("evt_3Q…", "payment_intent.succeeded", False)
    intent = event.intent
    assert intent is not None
    assert (intent.id, intent.status, intent.amount, intent.currency) == (
        "pi_3Q…",
        "succeeded",
        1250000,
        "aed",
    )
    assert intent.metadata["invoice_id"] == "INV-2026-0042"
    assert intent.failure_code is None


def test_stripe_payment_failed_carries_the_last_payment_error() -> None:
    intent = fixture("stripe_payment_intent")
    intent.update(
        status="requires_payment_method", last_payment_error=fixture("stripe_card_error")["error"]
    )
    event = stripe_in.parse_event(FakeStripe().event("payment_intent.payment_failed", intent))
    assert event.intent is not None
    assert event.intent.status == "requires_payment_method"
    assert event.intent.failure_code == "insufficient_funds"
    assert event.intent.failure_message == "Your card has insufficient funds."


@pytest.mark.parametrize(
    "payload",
    [
        b"{",
        b"[]",
        orjson.dumps({"id": "evt_1", "type": "charge.refunded", "data": {}}),
        orjson.dumps(
            {
                "id": "evt_2",
                "type": "payment_intent.succeeded",
                "data": {"object": {"object": "charge", "id": "ch"}},
            }
        ),
        orjson.dumps({"type": "payment_intent.succeeded"}),
    ],
)
def test_stripe_other_events_and_odd_shapes_never_raise(payload: bytes) -> None:
    event = stripe_in.parse_event(payload)
    assert event.intent is None and event.unknown
