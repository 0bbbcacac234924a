"""Live WhatsApp sends through the API against the local fake Meta and UltraMsg servers (real
HTTP on loopback): shapes on the wire, every mapped Meta error kept on the message, UltraMsg's
HTTP-200 failures, outages, the circuit breaker, idempotent replays that never send twice, and
test keys that never reach a provider."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hadar import clock
from hadar.domain.conversations import Conversation, Message
from hadar.domain.tenants import Tenant
from hadar.ids import new_id
from hadar.providers import registry
from hadar.providers.breaker import BreakerRegistry
from hadar.providers.factory import ProviderFactory
from hadar.providers.http import new_client
from hadar.settings import Settings
from tests.conftest import Workspace, lead_body
from tests.fakes import FakeMeta, FakeUltraMsg
from tests.fakes.server import Fault
from tests.fakes.ultramsg import NOT_CONNECTED, STOPPED

VARS = {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Sat 11:00"}
TEMPLATE = {"template": "viewing_confirmation_en", "variables": VARS}


@dataclasses.dataclass
class Live:
    meta: FakeMeta
    ultramsg: FakeUltraMsg
    breakers: BreakerRegistry


@contextlib.asynccontextmanager
async def live_providers(settings: Settings) -> AsyncIterator[Live]:
    """Fakes on loopback, the adapter factory pointed at them (short read timeout, own breakers)."""
    number = str(uuid.uuid4().int % 10**15)
    waba = str(uuid.uuid4().int % 10**15)
    instance = f"instance{uuid.uuid4().int % 10**6}"
    async with (
        FakeMeta(phone_number_id=number, business_account_id=waba) as meta,
        FakeUltraMsg(instance=instance) as um,
    ):
        pointed = dataclasses.replace(settings, meta_graph_url=meta.url, ultramsg_url=um.url)
        breakers = BreakerRegistry()
        factory = ProviderFactory(
            pointed, breakers=breakers, client=new_client(connect=1.0, read=0.3)
        )
        previous = registry.install(factory)
        try:
            yield Live(meta, um, breakers)
        finally:
            registry.install(previous)
            await factory.aclose()


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    async with live_providers(settings) as providers:
        yield providers


@pytest.fixture
def frozen() -> Iterator[list[datetime]]:
    at = [datetime(2026, 5, 15, 8, 0, 0, tzinfo=UTC)]
    clock.set_clock(lambda: at[0])
    yield at
    clock.set_clock(None)


async def connect_meta(ws: Workspace, live: Live, *, waba: bool = True) -> None:
    body = {
        "provider": "meta",
        "phone_number_id": live.meta.phone_number_id,
        "access_token": live.meta.token,
    }
    if waba:
        body["business_account_id"] = live.meta.business_account_id
    r = await ws.request("PUT", "/api/v1/integrations/whatsapp", env="live", json=body)
    assert r.status_code == 200, r.text


async def connect_ultramsg(ws: Workspace, live: Live) -> None:
    body = {
        "provider": "ultramsg",
        "instance_id": live.ultramsg.instance,
        "token": live.ultramsg.token,
    }
    r = await ws.request("PUT", "/api/v1/integrations/whatsapp", env="live", json=body)
    assert r.status_code == 200, r.text


async def live_lead(ws: Workspace, *, window: bool = False) -> str:
    r = await ws.request("POST", "/api/v1/leads", env="live", json=lead_body())
    lead = str(r.json()["data"]["id"])
    if window:
        tenant = await Tenant.get(slug=ws.slug)
        at = clock.now()
        await Conversation.create(
            id=new_id("conv", at),
            tenant_id=tenant.id,
            environment="live",
            lead_id=lead,
            channel="whatsapp",
            last_inbound_at=at - timedelta(minutes=5),
            created_at=at,
            updated_at=at,
        )
    return lead


async def send(ws: Workspace, lead: str, body: dict[str, Any], **kw: Any) -> Any:
    return await ws.request(
        "POST", "/api/v1/whatsapp/messages", env="live", json={"lead_id": lead, **body}, **kw
    )


async def only_message(lead: str) -> Message:
    (row,) = await Message.filter(lead_id=lead)
    return row


async def test_meta_template_send_reaches_meta_in_its_shape(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    r = await send(ws, lead, TEMPLATE)
    assert r.status_code == 201, r.text
    msg = r.json()["data"]
    assert (msg["status"], msg["provider"]) == ("sent", "meta")
    assert msg["provider_message_id"].startswith("wamid.")
    (req,) = live.meta.requests
    assert req.path == f"/v23.0/{live.meta.phone_number_id}/messages"
    assert req.headers["authorization"] == f"Bearer {live.meta.token}"
    phone = (await ws.request("GET", f"/api/v1/leads/{lead}", env="live")).json()["data"]["phone"]
    assert req.json["to"] == phone.removeprefix("+")
    assert req.json["template"]["language"] == {"code": "en"}
    params = req.json["template"]["components"][0]["parameters"]
    assert [p["text"] for p in params] == ["Sara", "Marina Vista 2BR", "Sat 11:00"]


async def test_arabic_and_emoji_text_reach_meta_byte_for_byte(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws, window=True)
    text = "مرحباً سارة 👋🏽 الشقة متاحة"
    r = await send(ws, lead, {"text": text})
    assert r.status_code == 201, r.text
    (req,) = live.meta.requests
    assert ('"body":"' + text + '"').encode("utf-8") in req.body
    assert req.json["text"] == {"body": text, "preview_url": False}


async def test_free_form_outside_the_window_never_reaches_meta(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    r = await send(ws, lead, {"text": "hello"})
    assert r.json()["error"]["code"] == "outside_24h_window"
    assert live.meta.requests == []


@pytest.mark.parametrize(
    "code,status,answer",
    [
        (131047, 400, ("outside_24h_window", 422)),
        (132000, 400, ("validation_error", 400)),
        (132001, 404, ("validation_error", 400)),
        (132012, 400, ("validation_error", 400)),
        (100, 400, ("validation_error", 400)),
        (130429, 429, ("service_unavailable", 503)),
        (131056, 400, ("service_unavailable", 503)),
        (131000, 500, ("service_unavailable", 503)),
        (131016, 503, ("service_unavailable", 503)),
        (190, 401, ("service_unavailable", 503)),
    ],
)
async def test_meta_errors_are_mapped_and_kept_on_the_message(
    ws: Workspace, live: Live, code: int, status: int, answer: tuple[str, int]
) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    live.meta.fail_with(code, status=status)
    r = await send(ws, lead, TEMPLATE)
    error = r.json()["error"]
    assert (error["code"], r.status_code) == answer
    if answer[0] == "validation_error":
        assert error["field"] == "message.template"
    row = await only_message(lead)
    assert row.status == "failed" and row.error_code == str(code)
    assert row.error_title and live.meta.token not in row.error_title
    shown = (await ws.request("GET", f"/api/v1/messages/{row.id}", env="live")).json()["data"]
    assert shown["error"] == {"code": str(code), "title": row.error_title}


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=502, body="<html>Bad gateway</html>"),
        Fault(status=None, delay=1.0),  # longer than the 0.3 s read timeout
        Fault(status=200, body=b"not json at all"),
        Fault(status=200, body={"messages": []}),
    ],
    ids=["5xx", "timeout", "not-json", "no-wamid"],
)
async def test_outages_answer_503_and_keep_the_failed_message(
    ws: Workspace, live: Live, fault: Fault
) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    live.meta.fail_next(fault)
    r = await send(ws, lead, TEMPLATE)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
    assert (await only_message(lead)).status == "failed"


async def test_a_replay_never_sends_twice(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await send(ws, lead, TEMPLATE, headers=key)
    again = await send(ws, lead, TEMPLATE, headers=key)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert len(live.meta.requests) == 1
    # A failed send is answered the same way on replay, without a second call either.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    live.meta.fail_next(Fault(status=None, delay=1.0))
    failed = await send(ws, lead, TEMPLATE, headers=key)
    replay = await send(ws, lead, TEMPLATE, headers=key)
    assert failed.status_code == replay.status_code == 503
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(live.meta.requests) == 2
    assert await Message.filter(lead_id=lead).count() == 2


async def test_the_breaker_opens_after_five_outages_and_closes_after_a_probe(
    ws: Workspace, live: Live, frozen: list[datetime]
) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    live.meta.fail_next(Fault(status=503), times=5)
    for _ in range(5):
        assert (await send(ws, lead, TEMPLATE)).status_code == 503
    assert len(live.meta.requests) == 5
    r = await send(ws, lead, TEMPLATE)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
    assert len(live.meta.requests) == 5  # refused without a network call
    assert await Message.filter(lead_id=lead).count() == 5  # and nothing recorded for it
    frozen[0] += timedelta(seconds=31)
    assert (await send(ws, lead, TEMPLATE)).status_code == 201
    assert (await send(ws, lead, TEMPLATE)).status_code == 201
    assert len(live.meta.requests) == 7


async def test_a_test_key_never_reaches_a_provider(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    lead = r.json()["data"]["id"]
    r = await ws.request("POST", "/api/v1/whatsapp/messages", json={"lead_id": lead, **TEMPLATE})
    assert r.status_code == 201 and r.json()["data"]["provider"] == "sandbox"
    assert live.meta.requests == [] and live.ultramsg.requests == []


async def test_ultramsg_sends_the_rendered_template_as_text(ws: Workspace, live: Live) -> None:
    await connect_ultramsg(ws, live)
    lead = await live_lead(ws)
    r = await send(ws, lead, TEMPLATE)
    assert r.status_code == 201, r.text
    msg = r.json()["data"]
    assert (msg["provider"], msg["provider_message_id"]) == ("ultramsg", "44898")
    (req,) = live.ultramsg.requests
    assert req.path == f"/{live.ultramsg.instance}/messages/chat"
    assert req.form is not None and req.form["token"] == live.ultramsg.token
    assert req.form["to"].startswith("+971") and "Sara" in req.form["body"]


@pytest.mark.parametrize("answer", [NOT_CONNECTED, STOPPED, {"sent": "queued", "id": 1}])
async def test_ultramsg_http_200_failures_are_503_with_its_text(
    ws: Workspace, live: Live, answer: dict[str, Any]
) -> None:
    await connect_ultramsg(ws, live)
    lead = await live_lead(ws)
    live.ultramsg.answer_next(answer)
    r = await send(ws, lead, TEMPLATE)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
    row = await only_message(lead)
    assert row.status == "failed" and row.error_title


async def test_graphql_send_keeps_the_failed_message_too(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    live.meta.fail_with(131047)
    doc = "mutation($i: WhatsAppMessageInput!) { sendWhatsappMessage(input: $i) { id } }"
    variables = {"i": {"leadId": lead, "template": "viewing_confirmation_en", "variables": VARS}}
    r = await ws.request(
        "POST", "/graphql", env="live", json={"query": doc, "variables": variables}
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "outside_24h_window"
    assert (await only_message(lead)).error_code == "131047"


async def test_concurrent_requests_with_one_key_send_once(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    lead = await live_lead(ws)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    live.meta.fail_next(Fault(status=None, delay=0.2))  # slow, but within the read timeout
    first, second = await asyncio.gather(
        send(ws, lead, TEMPLATE, headers=key), send(ws, lead, TEMPLATE, headers=key)
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409], (first.text, second.text)
    assert len(live.meta.requests) == 1
    assert await Message.filter(lead_id=lead).count() == 1
