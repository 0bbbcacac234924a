"""Meta webhook parsing on PROVIDERS.md's samples and on the shapes that trip naive parsers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from hadar.providers.inbound.meta import parse_webhook
from tests.fakes import FakeMeta
from tests.providers.conftest import fixture, fixture_bytes


def test_the_sample_inbound_text() -> None:
    parsed = parse_webhook(fixture_bytes("meta_inbound_text"))
    (message,) = parsed.messages
    assert message.phone_number_id == "106540352242922"
    assert message.wamid == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert message.sender == "+16505551234"
    assert (message.type, message.text) == ("text", "Does it come in another color?")
    assert message.profile_name == "Sheena Nelson"
    assert message.timestamp == datetime.fromtimestamp(1749416383, UTC)
    assert (parsed.statuses, parsed.unknown) == ((), ())


def test_the_sample_statuses_sent_and_failed_with_errors() -> None:
    (sent,) = parse_webhook(fixture("meta_status_sent")).statuses
    assert (sent.status, sent.recipient_id, sent.errors) == ("sent", "5516992318222", ())
    assert sent.phone_number_id == "590968830767958"
    assert sent.timestamp == datetime.fromtimestamp(1750857384, UTC)
    (failed,) = parse_webhook(fixture("meta_status_failed")).statuses
    assert failed.status == "failed"
    (error,) = failed.errors
    assert (error.code, error.title) == (131026, "Receiver is incapable of receiving this message")
    assert error.details == "Message Undeliverable."


def test_a_template_status_change_is_kept_as_unknown_not_an_error() -> None:
    parsed = parse_webhook(fixture("meta_template_status"))
    assert parsed.messages == () and parsed.statuses == ()
    assert parsed.unknown == ("field message_template_status_update",)


def _with(*messages: dict[str, Any]) -> bytes:
    return FakeMeta().webhook(messages=list(messages))


def test_buttons_interactive_replies_and_unknown_types() -> None:
    base = {"from": "971501234567", "timestamp": "1760000000"}
    parsed = parse_webhook(
        _with(
            {
                **base,
                "id": "wamid.1",
                "type": "button",
                "button": {"payload": "CONFIRM_VIEWING_8812", "text": "Confirm"},
                "context": {"from": "15550783881", "id": "wamid.sent"},
            },
            {
                **base,
                "id": "wamid.2",
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "yes", "title": "نعم"},
                },
            },
            {
                **base,
                "id": "wamid.3",
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "2br", "title": "2 BR"}},
            },
            {**base, "id": "wamid.4", "type": "reaction", "reaction": {"emoji": "👍"}},
            {
                **base,
                "id": "wamid.5",
                "type": "image",
                "image": {"id": "m1", "caption": "the view"},
            },
            {**base, "id": "wamid.6", "type": "unsupported", "errors": [{"code": 131051}]},
        )
    )
    button, reply, listed, reaction, image, unsupported = parsed.messages
    assert (button.type, button.text, button.payload, button.context_id) == (
        "button",
        "Confirm",
        "CONFIRM_VIEWING_8812",
        "wamid.sent",
    )
    assert (reply.type, reply.text, reply.reply_id) == ("interactive", "نعم", "yes")
    assert (listed.text, listed.reply_id) == ("2 BR", "2br")
    assert (reaction.type, reaction.text, reaction.raw["reaction"]) == (
        "reaction",
        None,
        {"emoji": "👍"},
    )
    assert (image.type, image.text) == ("image", "the view")
    assert (unsupported.type, unsupported.text) == ("unsupported", None)


def test_several_entries_changes_messages_and_statuses_in_one_post() -> None:
    one = orjson.loads(
        FakeMeta().webhook(
            messages=[
                {
                    "from": "971501234567",
                    "id": "wamid.a",
                    "timestamp": "1760000000",
                    "type": "text",
                    "text": {"body": "first"},
                },
            ]
        )
    )
    other = copy.deepcopy(one)
    value = other["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = "999"
    value["messages"][0].update(id="wamid.b", text={"body": "second"})
    value["statuses"] = [
        {"id": "wamid.x", "status": "delivered", "timestamp": "1760000001", "recipient_id": "1"},
        {"id": "wamid.y", "status": "read", "timestamp": "1760000002", "recipient_id": "1"},
    ]
    one["entry"].append(other["entry"][0])
    one["entry"][0]["changes"].append({"field": "messages", "value": {"messaging_product": "x"}})
    parsed = parse_webhook(orjson.dumps(one))
    assert [(m.phone_number_id, m.text) for m in parsed.messages] == [
        ("106540352242922", "first"),
        ("999", "second"),
    ]
    assert [(s.wamid, s.status) for s in parsed.statuses] == [
        ("wamid.x", "delivered"),
        ("wamid.y", "read"),
    ]
    assert parsed.unknown == ("change without metadata.phone_number_id",)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"null",
        orjson.dumps({"object": "page"}),
        orjson.dumps({"object": "whatsapp_business_account", "entry": "nope"}),
        orjson.dumps(
            {"object": "whatsapp_business_account", "entry": [None, 3, {"changes": [None]}]}
        ),
    ],
)
def test_odd_payloads_never_raise(payload: bytes) -> None:
    parsed = parse_webhook(payload)
    assert parsed.messages == () and parsed.statuses == ()


def test_one_broken_item_does_not_lose_the_others() -> None:
    parsed = parse_webhook(
        FakeMeta().webhook(
            messages=[
                {"id": "wamid.nofrom", "type": "text"},
                {
                    "from": "971501234567",
                    "id": "wamid.ok",
                    "timestamp": "x",
                    "type": "text",
                    "text": {"body": "still here"},
                },
            ],
            statuses=[{"status": "read"}, {"id": "wamid.s", "status": "failed", "errors": "bad"}],
        )
    )
    (message,) = parsed.messages
    assert (message.text, message.timestamp) == ("still here", None)
    (status,) = parsed.statuses
    assert (status.wamid, status.errors) == ("wamid.s", ())
    assert parsed.unknown == ("message without id or from", "status without id or status")
