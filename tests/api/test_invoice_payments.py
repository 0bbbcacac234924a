"""Live invoice payments through the API against the local fake Stripe (real HTTP on
loopback): success, decline, requires_action, timeout, 500, idempotency_error, concurrent pays
and replays that never create a second PaymentIntent, and the signed Stripe webhook."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import stripe

from hadar.domain.tenants import Tenant
from hadar.domain.webhooks import Event
from hadar.platform.guard import Guard
from hadar.platform.runtime import Runtime
from hadar.providers import breaker, registry
from hadar.providers.factory import ProviderFactory
from hadar.providers.http import new_client
from hadar.settings import Settings
from tests.api.test_graphql import DownStore
from tests.conftest import Workspace, lead_body
from tests.fakes.server import Fault
from tests.fakes.stripe import API_KEY, WEBHOOK_SECRET, FakeStripe

TOTAL = 3_780_000  # 36,000 AED + 5 % VAT, in fils


@dataclass
class Live:
    ws: Workspace
    fake: FakeStripe
    webhook_path: str

    async def open_invoice(self) -> dict[str, Any]:
        r = await self.ws.request("POST", "/api/v1/leads", env="live", json=lead_body())
        lead = r.json()["data"]["id"]
        lines = [{"description": "Commission", "quantity": 1, "unit_amount": 3_600_000}]
        r = await self.ws.request(
            "POST", "/api/v1/invoices", env="live", json={"lead_id": lead, "line_items": lines}
        )
        inv = r.json()["data"]["id"]
        r = await self.ws.request("POST", f"/api/v1/invoices/{inv}/finalize", env="live")
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    async def pay(self, inv: str, method: str | None = None, **headers: str) -> httpx.Response:
        body = {"payment_method": method} if method else None
        return await self.ws.request(
            "POST", f"/api/v1/invoices/{inv}/pay", env="live", json=body, headers=headers
        )

    async def get(self, inv: str) -> dict[str, Any]:
        r = await self.ws.request("GET", f"/api/v1/invoices/{inv}", env="live")
        return dict(r.json()["data"])

    def keys_sent(self) -> list[str | None]:
        return [r.headers.get("idempotency-key") for r in self.fake.requests]

    async def post_event(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        return await self.ws.client.post(self.webhook_path, content=body, headers=headers)


@pytest.fixture
async def live(ws: Workspace, settings: Settings) -> AsyncIterator[Live]:
    async with FakeStripe() as fake:
        factory = ProviderFactory(dataclasses.replace(settings, stripe_url=fake.url))
        factory._client = new_client(connect=1.0, read=0.3)  # a 1 s delay is a timeout
        previous = registry.install(factory)
        breaker.registry.reset()
        try:
            r = await ws.request(
                "PUT",
                "/api/v1/integrations/stripe",
                env="live",
                json={"secret_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
            )
            assert r.status_code == 200, r.text
            path = httpx.URL(r.json()["data"]["webhook_url"]).path
            yield Live(ws, fake, path)
        finally:
            registry.install(previous)
            await factory.aclose()
            breaker.registry.reset()


async def test_a_live_pay_creates_one_intent_keyed_by_the_invoice(live: Live) -> None:
    invoice = await live.open_invoice()
    r = await live.pay(invoice["id"], "pm_card_visa")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "paid" and data["payment"]["status"] == "succeeded"
    assert data["payment"]["intent_id"] in live.fake.intents
    assert live.fake.created == 1
    sent = live.fake.requests[0]
    assert sent.headers["idempotency-key"] == f"hadar-invoice-{invoice['id']}-pay"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.form == {
        "amount": str(TOTAL),
        "currency": "aed",
        "metadata[invoice_id]": invoice["id"],
        "metadata[tenant]": (await Tenant.get(slug=live.ws.slug)).id,
        "description": invoice["number"],
        "payment_method": "pm_card_visa",
        "confirm": "true",
    }
    assert (await live.pay(invoice["id"], "pm_card_visa")).status_code == 409
    assert live.fake.created == 1


async def test_a_decline_keeps_it_open_and_the_next_card_is_a_new_attempt(live: Live) -> None:
    inv = (await live.open_invoice())["id"]
    r = await live.pay(inv, "pm_card_chargeDeclined")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["status"] == "open"
    assert data["payment"]["status"] == "failed"
    assert data["payment"]["failure_code"] == "generic_decline"  # Stripe's decline_code
    assert data["payment"]["failure_message"] == "Your card was declined."
    r = await live.pay(inv, "pm_card_visa")
    assert r.json()["data"]["status"] == "paid"
    assert live.keys_sent() == [f"hadar-invoice-{inv}-pay", f"hadar-invoice-{inv}-pay-2"]


async def test_requires_action_stays_open_and_a_different_retry_is_a_conflict(
    live: Live,
) -> None:
    inv = (await live.open_invoice())["id"]
    r = await live.pay(inv, "pm_card_authenticationRequired")
    data = r.json()["data"]
    assert r.status_code == 200 and data["status"] == "open"
    assert data["payment"]["status"] == "requires_action" and data["payment"]["intent_id"]
    # The attempt may still charge (3-D Secure pending): another card under the same key is
    # Stripe's idempotency_error, answered 409 with nothing changed and no second intent.
    r = await live.pay(inv, "pm_card_visa")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert await live.get(inv) == data
    assert live.fake.created == 1


async def test_a_timeout_is_503_unchanged_and_the_retry_reuses_the_intent(live: Live) -> None:
    invoice = await live.open_invoice()
    live.fake.processing_delay = 1.0  # Stripe creates the intent; we stop waiting at 0.3 s
    r = await live.pay(invoice["id"], "pm_card_visa")
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert await live.get(invoice["id"]) == invoice
    await asyncio.sleep(1.0)
    live.fake.processing_delay = 0.0
    r = await live.pay(invoice["id"], "pm_card_visa")
    assert r.json()["data"]["status"] == "paid"
    assert live.fake.created == 1  # Stripe replayed the intent it created for the first try
    assert len(set(live.keys_sent())) == 1


async def test_a_stripe_500_is_503_unchanged(live: Live) -> None:
    invoice = await live.open_invoice()
    live.fake.fail_next(Fault(500, {"error": {"type": "api_error", "message": "boom"}}))
    r = await live.pay(invoice["id"], "pm_card_visa")
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert "boom" not in r.text
    assert await live.get(invoice["id"]) == invoice
    assert (await live.pay(invoice["id"], "pm_card_visa")).json()["data"]["status"] == "paid"
    assert live.fake.created == 1


async def test_ten_concurrent_pays_and_replays_create_one_intent(live: Live) -> None:
    inv = (await live.open_invoice())["id"]
    live.fake.processing_delay = 0.1
    key = str(uuid.uuid4())

    async def attempt(i: int) -> httpx.Response:
        extra = {"Idempotency-Key": key} if i % 2 else {}
        return await live.pay(inv, "pm_card_visa", **extra)

    answers = await asyncio.gather(*(attempt(i) for i in range(10)))
    paid = [a for a in answers if a.status_code == 200 and "idempotent-replayed" not in a.headers]
    assert len(paid) == 1 and paid[0].json()["data"]["status"] == "paid"
    assert {a.status_code for a in answers} <= {200, 409}
    for _ in range(3):
        again = await live.pay(inv, "pm_card_visa", **{"Idempotency-Key": key})
        assert again.headers.get("idempotent-replayed") == "true"
    assert live.fake.created == 1
    assert set(live.keys_sent()) == {f"hadar-invoice-{inv}-pay"}


async def test_a_live_pay_without_stripe_connected_is_409(ws: Workspace) -> None:
    r = await ws.request("POST", "/api/v1/leads", env="live", json=lead_body())
    lines = [{"description": "Fee", "quantity": 1, "unit_amount": 500}]
    body = {"lead_id": r.json()["data"]["id"], "line_items": lines}
    inv = (await ws.request("POST", "/api/v1/invoices", env="live", json=body)).json()["data"]
    await ws.request("POST", f"/api/v1/invoices/{inv['id']}/finalize", env="live")
    r = await ws.request("POST", f"/api/v1/invoices/{inv['id']}/pay", env="live")
    assert r.status_code == 409 and "/api/v1/integrations/stripe" in r.json()["error"]["message"]


async def paid_events(inv: str) -> int:
    return await Event.filter(type="invoice.paid", payload__contains=inv).count()


async def test_payment_intent_succeeded_marks_it_paid_once(live: Live) -> None:
    await live.ws.subscribe()  # events are recorded only for a subscriber
    inv = (await live.open_invoice())["id"]
    pending = (await live.pay(inv)).json()["data"]  # no card: the customer confirms later
    assert pending["payment"]["status"] == "requires_payment_method"
    intent = {**live.fake.intents[pending["payment"]["intent_id"]], "status": "succeeded"}
    body = live.fake.event("payment_intent.succeeded", intent)
    r = await live.post_event(body, live.fake.sign(body))
    assert r.status_code == 200 and r.json()["data"] == {"received": True, "result": "paid"}
    paid = await live.get(inv)
    assert paid["status"] == "paid" and paid["paid_at"]
    assert await paid_events(inv) == 1
    replay = await live.post_event(body, live.fake.sign(body))
    assert replay.json()["data"]["result"] == "ignored"
    assert await live.get(inv) == paid and await paid_events(inv) == 1
    failed = live.fake.event("payment_intent.payment_failed", intent)  # late and out of order
    await live.post_event(failed, live.fake.sign(failed))
    assert await live.get(inv) == paid


@pytest.mark.parametrize("forgery", ["wrong secret", "stale", "missing", "tampered"])
async def test_a_forged_or_stale_signature_is_401_and_changes_nothing(
    live: Live, forgery: str
) -> None:
    inv = (await live.open_invoice())["id"]
    pending = (await live.pay(inv)).json()["data"]
    intent = {**live.fake.intents[pending["payment"]["intent_id"]], "status": "succeeded"}
    body = live.fake.event("payment_intent.succeeded", intent)
    now = int(time.time())
    signature: str | None = {
        "wrong secret": live.fake.sign(body, signing_secrets=["whsec_someone_else"]),
        "stale": live.fake.sign(body, timestamp=now - 301),
        "missing": None,
        "tampered": live.fake.sign(body),
    }[forgery]
    sent = body.replace(b'"succeeded"', b'"succeeded" ') if forgery == "tampered" else body
    r = await live.post_event(sent, signature)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert await live.get(inv) == pending and await paid_events(inv) == 0


async def test_an_event_signed_by_the_official_stripe_library_is_accepted(live: Live) -> None:
    inv = (await live.open_invoice())["id"]
    pending = (await live.pay(inv)).json()["data"]
    error = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}
    intent = {
        **live.fake.intents[pending["payment"]["intent_id"]],
        "last_payment_error": {**error, "message": "Your card has insufficient funds."},
    }
    body = live.fake.event("payment_intent.payment_failed", intent)
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    r = await live.post_event(body, header)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["result"] == "failed"
    payment = (await live.get(inv))["payment"]
    assert payment["status"] == "failed" and payment["failure_code"] == "insufficient_funds"
    # Stripe's other signature scheme (several v1, one of them right) is accepted too.
    two = live.fake.sign(body, signing_secrets=["whsec_old_secret", WEBHOOK_SECRET])
    assert (await live.post_event(body, two)).json()["data"]["result"] == "ignored"


async def test_an_unknown_webhook_endpoint_is_401(live: Live) -> None:
    body = orjson.dumps({"id": "evt_1", "type": "payment_intent.succeeded"})
    r = await live.ws.client.post(
        "/api/v1/invoices/inbound/stripe/int_01HMNZ0000000000000000000Z",
        content=body,
        headers={"Stripe-Signature": live.fake.sign(body)},
    )
    assert r.status_code == 401


async def test_invoices_and_the_stripe_webhook_fail_closed_while_redis_is_down(
    live: Live, settings: Settings
) -> None:
    from hadar.app import create_app

    inv = (await live.open_invoice())["id"]
    previous = registry.current()
    app = create_app(settings)
    registry.install(previous)  # create_app installs its own factory; keep the fake's
    app.state.runtime = Runtime(
        settings=settings,
        guard=Guard(DownStore(), shared=True),
        authenticate=app.state.runtime.authenticate,
    )
    headers = await live.ws.headers("live", "admin")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hadar.test"
    ) as down:
        for method, path in (
            ("GET", "/api/v1/invoices"),
            ("GET", f"/api/v1/invoices/{inv}"),
            ("GET", f"/api/v1/invoices/{inv}.pdf"),
            ("POST", f"/api/v1/invoices/{inv}/pay"),
        ):
            r = await down.request(method, path, headers=headers)
            assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
        body = live.fake.event("payment_intent.succeeded", {"id": "pi_1", "status": "succeeded"})
        r = await down.post(
            live.webhook_path, content=body, headers={"Stripe-Signature": live.fake.sign(body)}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
        r = await down.post(
            "/graphql", headers=headers, json={"query": "{ invoices { edges { cursor } } }"}
        )
        assert r.status_code == 503
    assert live.fake.created == 0


async def test_a_late_failure_of_an_earlier_attempt_changes_nothing(live: Live) -> None:
    inv = (await live.open_invoice())["id"]
    first = (await live.pay(inv, "pm_card_chargeDeclined")).json()["data"]["payment"]
    current = (await live.pay(inv, "pm_card_authenticationRequired")).json()["data"]
    assert current["payment"]["intent_id"] != first["intent_id"]
    old = live.fake.intents[first["intent_id"]]
    body = live.fake.event("payment_intent.payment_failed", old)
    r = await live.post_event(body, live.fake.sign(body))
    assert r.json()["data"]["result"] == "ignored"
    # Still the second attempt's pending intent: a new pay may not start a third attempt.
    assert await live.get(inv) == current
