"""Inbound WhatsApp through the ASGI app: Meta's handshake and signed POSTs (exact bytes),
UltraMsg's token URL, atomic dedupe, unknown numbers becoming leads, forward-only statuses
under reordered and duplicated callbacks, and nothing stored for a bad signature."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from hadar.app import create_app
from hadar.domain.conversations import Conversation, Message
from hadar.domain.leads import Lead
from hadar.domain.webhooks import Event
from hadar.providers import registry
from hadar.rest import inbound as inbound_routes
from hadar.settings import Settings
from tests.api.test_whatsapp_live import (
    TEMPLATE,
    Live,
    connect_meta,
    connect_ultramsg,
    live_lead,
    live_providers,
    send,
)
from tests.conftest import Workspace
from tests.fakes.meta import APP_SECRET

VERIFY = "hadar-verify-token"
META = "/api/v1/whatsapp/inbound/meta"


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    async with live_providers(settings) as providers:
        yield providers


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as providers reach it: Hadar's Meta app secret and verify token configured."""
    kept = registry.current()
    app = create_app(
        dataclasses.replace(settings, meta_app_secret=APP_SECRET, meta_verify_token=VERIFY)
    )
    registry.install(kept)  # keep the fakes' factory of the `live` fixture
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hadar.test") as client:
        yield client


def text_message(
    sender: str, body: str, wamid: str | None = None, ts: str = "1749416383"
) -> dict[str, Any]:
    return {
        "from": sender.removeprefix("+"),
        "id": wamid or f"wamid.in.{uuid.uuid4().hex}",
        "timestamp": ts,
        "type": "text",
        "text": {"body": body},
    }


def webhook(
    phone_number_id: str,
    messages: list[Any] = (),
    statuses: list[Any] = (),
    name: str = "Sheena Nelson",
) -> bytes:  # type: ignore[assignment]
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": m["from"]} for m in messages],
    }
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "419561257915477", "changes": [{"field": "messages", "value": value}]}
            ],
        }
    )


def signed(live: Live, raw: bytes) -> dict[str, str]:
    return live.meta.sign(raw)


def new_number() -> str:
    return f"+97155{uuid.uuid4().int % 10_000_000:07d}"


async def test_the_subscription_handshake(provider: httpx.AsyncClient) -> None:
    ok = await provider.get(
        META,
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert ok.headers["content-type"].startswith("text/plain")
    bad = await provider.get(
        META, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (403, "forbidden")


async def test_an_unknown_number_becomes_a_lead_with_an_open_window(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    await connect_meta(ws, live)
    number = new_number()
    raw = webhook(live.meta.phone_number_id, [text_message(number, "Is the 2BR still available?")])
    r = await provider.post(META, content=raw, headers=signed(live, raw))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["messages"] == 1
    lead = await Lead.get(phone=number)
    assert (lead.name, lead.source, lead.environment) == ("Sheena Nelson", "whatsapp", "live")
    assert "engagement" in [f["factor"] for f in lead.score_factors]
    (msg,) = await Message.filter(lead_id=lead.id)
    assert (msg.direction, msg.kind, msg.provider, msg.text) == (
        "inbound",
        "text",
        "meta",
        "Is the 2BR still available?",
    )
    assert await Event.filter(type="message.received", payload__contains=msg.id).count() == 1
    # Replayed by Meta: 200 and no change.
    again = await provider.post(META, content=raw, headers=signed(live, raw))
    assert again.status_code == 200 and again.json()["data"]["messages"] == 0
    assert await Message.filter(lead_id=lead.id).count() == 1
    conv = await Conversation.get(lead_id=lead.id)
    assert conv.unread_count == 1


@pytest.mark.parametrize("header", ["forged", "missing", "sha1"])
async def test_bad_signatures_store_nothing(
    ws: Workspace, live: Live, provider: httpx.AsyncClient, header: str
) -> None:
    await connect_meta(ws, live)
    number = new_number()
    raw = webhook(live.meta.phone_number_id, [text_message(number, "hello")])
    headers = {"Content-Type": "application/json"}
    if header == "forged":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    if header == "sha1":
        sha256 = signed(live, raw)["X-Hub-Signature-256"]
        headers["X-Hub-Signature"] = "sha1=" + sha256.removeprefix("sha256=")[:40]
    r = await provider.post(META, content=raw, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
    assert not await Lead.filter(phone=number).exists()


async def test_arabic_and_emoji_are_verified_over_the_exact_bytes(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_meta(ws, live)
    number = new_number()
    text = "مرحبا 👋 هل الشقة متاحة؟"
    raw = webhook(live.meta.phone_number_id, [text_message(number, text)])
    assert text.encode("utf-8") in raw  # UTF-8 as is, not \\u escapes
    # The same JSON re-serialised with escapes is different bytes: its signature fails.
    escaped = orjson.dumps(orjson.loads(raw)).decode().encode("ascii", "backslashreplace")
    r = await provider.post(META, content=escaped, headers=signed(live, raw))
    assert r.status_code == 401
    r = await provider.post(META, content=raw, headers=signed(live, raw))
    assert r.status_code == 200
    (msg,) = await Message.filter(lead_id=(await Lead.get(phone=number)).id)
    assert msg.text == text


async def test_one_post_carries_several_messages_types_and_statuses(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_meta(ws, live)
    number = new_number()
    button = {
        "from": number[1:],
        "id": f"wamid.b.{uuid.uuid4().hex}",
        "timestamp": "1749416390",
        "type": "button",
        "button": {"payload": "CONFIRM", "text": "Confirm viewing"},
    }
    image = {
        "from": number[1:],
        "id": f"wamid.i.{uuid.uuid4().hex}",
        "timestamp": "1749416391",
        "type": "image",
        "image": {"id": "1", "mime_type": "image/jpeg"},
    }
    unknown_status = {
        "id": "wamid.never-stored",
        "status": "delivered",
        "timestamp": "1",
        "recipient_id": "1",
    }
    raw = webhook(
        live.meta.phone_number_id, [text_message(number, "hi"), button, image], [unknown_status]
    )
    r = await provider.post(META, content=raw, headers=signed(live, raw))
    assert r.status_code == 200 and r.json()["data"]["messages"] == 3
    rows = await Message.filter(lead_id=(await Lead.get(phone=number)).id).order_by("id")
    assert [(m.kind, m.provider_kind, m.text) for m in rows] == [
        ("text", None, "hi"),
        ("text", "button", "Confirm viewing"),
        ("other", "image", None),
    ]


async def test_numbers_nobody_connected_are_ignored(
    provider: httpx.AsyncClient, live: Live
) -> None:
    number = new_number()
    raw = webhook("999000111222333", [text_message(number, "hello")])
    r = await provider.post(META, content=raw, headers=signed(live, raw))
    assert r.status_code == 200 and r.json()["data"]["ignored"] == 1
    assert not await Lead.filter(phone=number).exists()


async def test_statuses_only_move_forward(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    sent = (await send(ws, lead, TEMPLATE)).json()["data"]
    wamid = sent["provider_message_id"]
    for status in ("read", "delivered", "sent", "read", "delivered"):
        raw = live.meta.status_webhook(wamid, status)
        assert (
            await provider.post(META, content=raw, headers=signed(live, raw))
        ).status_code == 200
    row = await Message.get(id=sent["id"])
    assert row.status == "read"
    updates = await Event.filter(
        type="message.status_updated", payload__contains=sent["id"]
    ).count()
    assert updates == 2  # sent (the send itself), then read; every later callback changed nothing


async def test_a_failed_callback_records_metas_reason(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    sent = (await send(ws, lead, TEMPLATE)).json()["data"]
    raw = live.meta.status_webhook(sent["provider_message_id"], "failed", error_code=131026)
    await provider.post(META, content=raw, headers=signed(live, raw))
    got = (await ws.request("GET", f"/api/v1/messages/{sent['id']}", env="live")).json()["data"]
    assert got["status"] == "failed"
    assert (
        got["error"]
        == {"code": "131026", "title": "Receiver is incapable of receiving this message"}
        or got["error"]["code"] == "131026"
    )


async def test_an_opt_out_word_over_meta_sets_do_not_contact(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_meta(ws, live)
    number = new_number()
    raw = webhook(live.meta.phone_number_id, [text_message(number, " إلغاء ")])
    await provider.post(META, content=raw, headers=signed(live, raw))
    lead = await Lead.get(phone=number)
    assert lead.do_not_contact["whatsapp"] is True


async def test_ultramsg_posts_need_the_token_and_the_instance(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_ultramsg(ws, live)
    data = (await ws.request("GET", "/api/v1/integrations/whatsapp", env="live")).json()["data"]
    path = data["webhook_url"].removeprefix("http://127.0.0.1:8000")
    number = new_number()
    raw = live.ultramsg.message_received(sender=number, body="Hi from UltraMsg")
    wrong = await provider.post(path.split("?")[0] + "?token=wrong", content=raw)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "unauthorized")
    assert not await Lead.filter(phone=number).exists()
    other = orjson.dumps({**orjson.loads(raw), "instanceId": "4242"})
    assert (await provider.post(path, content=other)).status_code == 401
    ok = await provider.post(path, content=raw)
    assert ok.status_code == 200 and ok.json()["data"]["messages"] == 1
    dup = await provider.post(path, content=raw)
    assert dup.json()["data"]["messages"] == 0
    lead = await Lead.get(phone=number)
    assert lead.name == "E.St"
    (msg,) = await Message.filter(lead_id=lead.id)
    assert (msg.provider, msg.text, msg.kind) == ("ultramsg", "Hi from UltraMsg", "text")
    echo = live.ultramsg.message_received(
        sender=number, body="ours", event_type="message_create", from_me=True
    )
    assert (await provider.post(path, content=echo)).json()["data"]["ignored"] == 1


async def test_inbound_is_metered_per_integration(
    ws: Workspace, live: Live, provider: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound_routes, "PER_INTEGRATION", 1)
    await connect_ultramsg(ws, live)
    data = (await ws.request("GET", "/api/v1/integrations/whatsapp", env="live")).json()["data"]
    path = data["webhook_url"].removeprefix("http://127.0.0.1:8000")
    first = live.ultramsg.message_received(sender=new_number(), body="one")
    second = live.ultramsg.message_received(sender=new_number(), body="two")
    assert (await provider.post(path, content=first)).status_code == 200
    r = await provider.post(path, content=second)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limited")


async def test_metas_template_review_approves_a_pending_live_template(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    waba = live.meta.business_account_id
    await connect_meta(ws, live)
    name = f"price_drop_{uuid.uuid4().hex[:8]}"
    template = {
        "name": name,
        "language": "en",
        "category": "marketing",
        "body": "Hi {{name}}, the price dropped.",
        "variables": ["name"],
    }
    made = await ws.request("POST", "/api/v1/whatsapp/templates", env="live", json=template)
    assert made.json()["data"]["status"] == "pending"
    lead = await live_lead(ws)
    refused = await send(ws, lead, {"template": name, "variables": {"name": "Omar"}})
    assert refused.json()["error"]["field"] == "message.template"
    review = orjson.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": waba,
                    "time": 1,
                    "changes": [
                        {
                            "field": "message_template_status_update",
                            "value": {
                                "event": "APPROVED",
                                "message_template_id": 1,
                                "message_template_name": name,
                                "message_template_language": "en",
                                "reason": "NONE",
                            },
                        }
                    ],
                }
            ],
        }
    )
    r = await provider.post(META, content=review, headers=signed(live, review))
    assert r.status_code == 200 and r.json()["data"]["statuses"] == 1
    listed = await ws.request("GET", "/api/v1/whatsapp/templates", env="live")
    assert {t["name"]: t["status"] for t in listed.json()["data"]["items"]}[name] == "approved"
    assert (
        await send(ws, lead, {"template": name, "variables": {"name": "Omar"}})
    ).status_code == 201
