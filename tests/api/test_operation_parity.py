"""Every REST mutation and its GraphQL twin through one scenario, compared: replay, conflict,
shown-once fields, trace ids, role refusal, body limit and fail-closed.

The operations come from the route table and the GraphQL schema, not from a list kept here:
a new operation without a twin, or without a scenario below, fails this module.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from hadar.domain.records import IdempotencyRecord
from hadar.graphql.schema import root_operations
from hadar.rest.routes import ROUTES
from tests.conftest import Workspace, lead_body

MISSING = {
    "lead": "lead_01HMNZ0000000000000000000Z",
    "key": "key_01HMNZ0000000000000000000Z",
    "whk": "whk_01HMNZ0000000000000000000Z",
    "dlv": "dlv_01HMNZ0000000000000000000Z",
    "prop": "prop_01HMNZ0000000000000000000Z",
    "inv": "inv_01HMNZ0000000000000000000Z",
    "bkg": "bkg_01HMNZ0000000000000000000Z",
    "conv": "conv_01HMNZ0000000000000000000Z",
}
INVOICE_LINES = [{"description": "Commission", "quantity": 1, "unit_amount": 3600000}]
WEBHOOK = {"url": "https://hooks.example.com/hadar", "events": ["lead.created"]}
STRIPE = {"secret_key": "sk_live_parity_0000", "webhook_secret": "whsec_parity00"}
VAPI = {"api_key": "vapi-parity-key-0000", "phone_number_id": "pn_parity"}


def _ultramsg(ids: dict[str, str], *, camel: bool = False) -> dict[str, str]:
    instance = "instance" + str(int(hashlib.sha256(ids["phone"].encode()).hexdigest(), 16))[:9]
    if camel:
        return {"provider": "ultramsg", "instanceId": instance, "token": "ultra-parity-0000"}
    return {"provider": "ultramsg", "instance_id": instance, "token": "ultra-parity-0000"}


def _meta(ids: dict[str, str], *, camel: bool = False) -> dict[str, str]:
    # A phone number id of its own per scenario (derived, so the twin reuses it), never the
    # lead's phone: the suite's leak check refuses a test phone anywhere in the logs.
    number = str(int(hashlib.sha256(ids["phone"].encode()).hexdigest(), 16))[:15]
    if camel:
        return {"provider": "meta", "phoneNumberId": number, "accessToken": "EAAG-parity-0000"}
    return {"provider": "meta", "phone_number_id": number, "access_token": "EAAG-parity-0000"}


@dataclass(frozen=True)
class Twin:
    """How to call one mutation on each surface: REST (method, path, body) and GraphQL
    (document, variables), given the ids a fixture prepared."""

    rest: Callable[[dict[str, str]], tuple[str, str, Any]]
    graphql: Callable[[dict[str, str]], tuple[str, dict[str, Any]]]
    env: str = "test"  # integrations are connected with live keys only


def _gql_lead(ids: dict[str, str]) -> dict[str, Any]:
    return {"i": {"name": "Parity", "phone": ids["phone"]}}


def _property(ids: dict[str, str]) -> dict[str, Any]:
    return {"title": "Parity", "reference": ids["ref"], "type": "villa", "purpose": "sale"}


SCENARIOS: dict[str, Twin] = {
    "leads.create": Twin(
        lambda ids: ("POST", "/api/v1/leads", {"name": "Parity", "phone": ids["phone"]}),
        lambda ids: (
            "mutation($i: LeadCreateInput!) { createLead(input: $i) { created lead { id } } }",
            _gql_lead(ids),
        ),
    ),
    "leads.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/leads/{ids['lead']}", {"area": "JBR"}),
        lambda ids: (
            'mutation($id: ID!) { updateLead(id: $id, input: {area: "JBR"}) { id area } }',
            {"id": ids["lead"]},
        ),
    ),
    "leads.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/leads/{ids['lead']}", None),
        lambda ids: (
            "mutation($id: ID!) { deleteLead(id: $id) { id deleted } }",
            {"id": ids["lead"]},
        ),
    ),
    "properties.create": Twin(
        lambda ids: ("POST", "/api/v1/properties", {**_property(ids), "price_aed": 4_000_000}),
        lambda ids: (
            "mutation($i: PropertyCreateInput!) { createProperty(input: $i) { id reference } }",
            {"i": {**_property(ids), "priceAed": 4_000_000}},
        ),
    ),
    "properties.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/properties/{ids['prop']}", {"status": "reserved"}),
        lambda ids: (
            'mutation($id: ID!) { updateProperty(id: $id, input: {status: "reserved"}) '
            "{ id status } }",
            {"id": ids["prop"]},
        ),
    ),
    "properties.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/properties/{ids['prop']}", None),
        lambda ids: (
            "mutation($id: ID!) { deleteProperty(id: $id) { id deleted } }",
            {"id": ids["prop"]},
        ),
    ),
    "api_keys.create": Twin(
        lambda ids: ("POST", "/api/v1/api_keys", {"role": "agent"}),
        lambda ids: (
            'mutation { createApiKey(input: {role: "agent"}) { token apiKey { id } } }',
            {},
        ),
    ),
    "api_keys.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/api_keys/{ids['key']}", {"allowed_ips": ["10.0.0.0/8"]}),
        lambda ids: (
            'mutation($id: ID!) { updateApiKey(id: $id, input: {allowedIps: ["10.0.0.0/8"]})'
            " { id allowedIps } }",
            {"id": ids["key"]},
        ),
    ),
    "api_keys.revoke": Twin(
        lambda ids: ("POST", f"/api/v1/api_keys/{ids['key']}/revoke", None),
        lambda ids: ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": ids["key"]}),
    ),
    "webhooks.create": Twin(
        lambda ids: ("POST", "/api/v1/webhooks", WEBHOOK),
        lambda ids: (
            "mutation($i: WebhookCreateInput!) { createWebhook(input: $i) { id secret } }",
            {"i": WEBHOOK},
        ),
    ),
    "webhooks.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/webhooks/{ids['whk']}", {"description": "p"}),
        lambda ids: (
            'mutation($id: ID!) { updateWebhook(id: $id, input: {description: "p"}) { id } }',
            {"id": ids["whk"]},
        ),
    ),
    "webhooks.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/webhooks/{ids['whk']}", None),
        lambda ids: (
            "mutation($id: ID!) { deleteWebhook(id: $id) { id deleted } }",
            {"id": ids["whk"]},
        ),
    ),
    "webhooks.rotate_secret": Twin(
        lambda ids: ("POST", f"/api/v1/webhooks/{ids['whk']}/rotate_secret", None),
        lambda ids: (
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { id secret } }",
            {"id": ids["whk"]},
        ),
    ),
    "webhooks.retry_delivery": Twin(
        lambda ids: ("POST", f"/api/v1/webhook_deliveries/{ids['dlv']}/retry", None),
        lambda ids: (
            "mutation($id: ID!) { retryWebhookDelivery(id: $id) { id } }",
            {"id": ids["dlv"]},
        ),
    ),
}
SCENARIOS.update(
    {
        "integrations.put_whatsapp": Twin(
            lambda ids: ("PUT", "/api/v1/integrations/whatsapp", _ultramsg(ids)),
            lambda ids: (
                "mutation($i: WhatsAppIntegrationInput!) { connectWhatsapp(input: $i) "
                "{ id webhook_url: webhookUrl webhook_token: webhookToken } }",
                {"i": _ultramsg(ids, camel=True)},
            ),
            env="live",
        ),
        "integrations.put_stripe": Twin(
            lambda ids: ("PUT", "/api/v1/integrations/stripe", STRIPE),
            lambda ids: (
                "mutation($i: StripeIntegrationInput!) { connectStripe(input: $i) { id } }",
                {"i": {"secretKey": STRIPE["secret_key"], "webhookSecret": "whsec_parity00"}},
            ),
            env="live",
        ),
        "integrations.put_vapi": Twin(
            lambda ids: ("PUT", "/api/v1/integrations/vapi", VAPI),
            lambda ids: (
                "mutation($i: VapiIntegrationInput!) { connectVapi(input: $i) "
                "{ id webhook_token: webhookToken } }",
                {"i": {"apiKey": VAPI["api_key"], "phoneNumberId": VAPI["phone_number_id"]}},
            ),
            env="live",
        ),
        "integrations.delete": Twin(
            lambda ids: ("DELETE", f"/api/v1/integrations/{ids['int_kind']}", None),
            lambda ids: (
                "mutation($k: String!) { deleteIntegration(kind: $k) { id deleted } }",
                {"k": ids["int_kind"]},
            ),
            env="live",
        ),
    }
)
SEND_VARS = {"agent_name": "Sara", "property_name": "Marina Vista", "viewing_time": "Sat 11:00"}


def _template(ids: dict[str, str]) -> dict[str, Any]:
    name = "parity_" + hashlib.sha256(ids["phone"].encode()).hexdigest()[:10]
    return {
        "name": name,
        "language": "en",
        "category": "utility",
        "body": "Hi {{n}}",
        "variables": ["n"],
    }


SCENARIOS.update(
    {
        "whatsapp.send": Twin(
            lambda ids: (
                "POST",
                "/api/v1/whatsapp/messages",
                {
                    "lead_id": ids["lead"],
                    "template": "viewing_confirmation_en",
                    "variables": SEND_VARS,
                },
            ),
            lambda ids: (
                "mutation($i: WhatsAppMessageInput!) { sendWhatsappMessage(input: $i) "
                "{ id status } }",
                {
                    "i": {
                        "leadId": ids["lead"],
                        "template": "viewing_confirmation_en",
                        "variables": SEND_VARS,
                    }
                },
            ),
        ),
        "templates.create": Twin(
            lambda ids: ("POST", "/api/v1/whatsapp/templates", _template(ids)),
            lambda ids: (
                "mutation($i: WhatsAppTemplateInput!) { createWhatsappTemplate(input: $i) "
                "{ id status } }",
                {"i": _template(ids)},
            ),
        ),
        "test_helpers.whatsapp_inbound": Twin(
            lambda ids: (
                "POST",
                "/api/v1/test_helpers/whatsapp/inbound",
                {"lead_id": ids["lead"], "text": "hello"},
            ),
            lambda ids: (
                "mutation($i: WhatsAppInboundSimulationInput!) { simulateWhatsappInbound("
                "input: $i) { id direction } }",
                {"i": {"leadId": ids["lead"], "text": "hello"}},
            ),
        ),
    }
)

SCENARIOS["conversations.mark_read"] = Twin(
    lambda ids: ("POST", f"/api/v1/conversations/{ids['conv']}/read", None),
    lambda ids: (
        "mutation($id: ID!) { markConversationRead(id: $id) { id unreadCount } }",
        {"id": ids["conv"]},
    ),
)
SCENARIOS["calls.create"] = Twin(
    lambda ids: ("POST", "/api/v1/calls", {"lead_id": ids["lead"]}),
    lambda ids: (
        "mutation($i: CallCreateInput!) { createCall(input: $i) { id status } }",
        {"i": {"leadId": ids["lead"]}},
    ),
)
SCENARIOS.update(
    {
        "invoices.create": Twin(
            lambda ids: (
                "POST",
                "/api/v1/invoices",
                {"lead_id": ids["lead"], "line_items": INVOICE_LINES},
            ),
            lambda ids: (
                "mutation($i: InvoiceCreateInput!) { createInvoice(input: $i) { id total } }",
                {
                    "i": {
                        "leadId": ids["lead"],
                        "lineItems": [
                            {"description": "Commission", "quantity": 1, "unitAmount": 3600000}
                        ],
                    }
                },
            ),
        ),
        "invoices.update": Twin(
            lambda ids: ("PATCH", f"/api/v1/invoices/{ids['inv']}", {"due_date": "2026-07-15"}),
            lambda ids: (
                'mutation($id: ID!) { updateInvoice(id: $id, input: {dueDate: "2026-07-15"}) '
                "{ id dueDate } }",
                {"id": ids["inv"]},
            ),
        ),
        "invoices.finalize": Twin(
            lambda ids: ("POST", f"/api/v1/invoices/{ids['inv']}/finalize", None),
            lambda ids: (
                "mutation($id: ID!) { finalizeInvoice(id: $id) { id number } }",
                {"id": ids["inv"]},
            ),
        ),
        "invoices.pay": Twin(
            lambda ids: ("POST", f"/api/v1/invoices/{ids['inv_open']}/pay", None),
            lambda ids: (
                "mutation($id: ID!) { payInvoice(id: $id) { id status payment { status } } }",
                {"id": ids["inv_open"]},
            ),
        ),
        "invoices.void": Twin(
            lambda ids: ("POST", f"/api/v1/invoices/{ids['inv']}/void", None),
            lambda ids: (
                "mutation($id: ID!) { voidInvoice(id: $id) { id status } }",
                {"id": ids["inv"]},
            ),
        ),
    }
)


def _booking(ids: dict[str, str], *, camel: bool = False) -> dict[str, str]:
    # The agent is unique per prepare, so the surfaces' bookings never overlap each other.
    lead, prop = ("leadId", "propertyId") if camel else ("lead_id", "property_id")
    starts = "startsAt" if camel else "starts_at"
    return {
        lead: ids["lead"],
        prop: ids["prop"],
        "agent": ids["ref"],
        starts: "2026-09-01T12:00:00Z",
    }


SCENARIOS.update(
    {
        "bookings.create": Twin(
            lambda ids: ("POST", "/api/v1/bookings", _booking(ids)),
            lambda ids: (
                "mutation($i: BookingCreateInput!) { createBooking(input: $i) { id status } }",
                {"i": _booking(ids, camel=True)},
            ),
        ),
        "bookings.update": Twin(
            lambda ids: ("PATCH", f"/api/v1/bookings/{ids['bkg']}", {"status": "confirmed"}),
            lambda ids: (
                'mutation($id: ID!) { updateBooking(id: $id, input: {status: "confirmed"}) '
                "{ id status } }",
                {"id": ids["bkg"]},
            ),
        ),
        "bookings.cancel": Twin(
            lambda ids: ("POST", f"/api/v1/bookings/{ids['bkg']}/cancel", None),
            lambda ids: (
                "mutation($id: ID!) { cancelBooking(id: $id) { id status } }",
                {"id": ids["bkg"]},
            ),
        ),
    }
)


MUTATIONS = sorted({spec.op.name: spec.op for spec in ROUTES if spec.mutation}.items())


def test_every_operation_has_a_twin_on_the_other_surface() -> None:
    rest = {spec.op.name for spec in ROUTES}
    graphql = {op.name for op in root_operations().values()}
    assert rest == graphql, {"REST only": rest - graphql, "GraphQL only": graphql - rest}


def test_every_mutation_has_a_parity_scenario() -> None:
    assert {name for name, _ in MUTATIONS} == set(SCENARIOS)


@dataclass
class Answer:
    status: int
    code: str | None  # error code, or None on success
    trace: str | None
    header_trace: str
    replayed: bool
    body: bytes
    data: Any


async def call(
    ws: Workspace,
    surface: str,
    twin: Twin,
    ids: dict[str, str],
    *,
    role: str = "admin",
    key: str | None = None,
    client: httpx.AsyncClient | None = None,
    pad: int = 0,
) -> Answer:
    headers = await ws.headers(twin.env, role)
    if key is not None:
        headers["Idempotency-Key"] = key
    http = client or ws.client
    if surface == "rest":
        method, path, body = twin.rest(ids)
        if pad:
            body = {**(body or {}), "padding": "x" * pad}
        content = orjson.dumps(body) if body is not None else b""
        r = await http.request(
            method, path, content=content, headers={**headers, "Content-Type": "application/json"}
        )
        parsed = r.json()
        error = parsed["error"]
        return Answer(
            r.status_code,
            error and error["code"],
            error and error["trace_id"],
            r.headers["x-trace-id"],
            "idempotent-replayed" in r.headers,
            r.content,
            parsed["data"],
        )
    document, variables = twin.graphql(ids)
    payload: dict[str, Any] = {"query": document, "variables": variables}
    if pad:
        payload["padding"] = "x" * pad
    r = await http.post(
        "/graphql",
        content=orjson.dumps(payload),
        headers={**headers, "Content-Type": "application/json"},
    )
    parsed = r.json()
    errors = parsed.get("errors")
    ext = errors[0]["extensions"] if errors else {}
    data = next(iter(parsed["data"].values())) if parsed.get("data") else None
    return Answer(
        r.status_code,
        ext.get("code"),
        ext.get("trace_id"),
        r.headers["x-trace-id"],
        "idempotent-replayed" in r.headers,
        r.content,
        data,
    )


async def prepare(ws: Workspace) -> dict[str, str]:
    """A fresh lead, key, endpoint, delivery and property for one scenario run."""
    phone = lead_body()["phone"]
    ref = f"PAR-{uuid.uuid4().hex[:12]}"
    r = await ws.request(
        "POST", "/api/v1/properties", json={**_property({"ref": ref + "-x"}), "price_aed": 1}
    )
    prop = r.json()["data"]["id"]
    r = await ws.request("POST", "/api/v1/webhooks", json={**WEBHOOK, "events": ["*"]})
    whk = r.json()["data"]["id"]
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    lead = r.json()["data"]["id"]
    r = await ws.request("GET", f"/api/v1/webhooks/{whk}/deliveries")
    dlv = r.json()["data"]["items"][0]["id"]
    r = await ws.request("POST", "/api/v1/api_keys", json={"role": "viewer"})
    key = r.json()["data"]["id"]
    # A live WhatsApp integration to disconnect; its `missing` twin names a kind never connected.
    r = await ws.request(
        "PUT",
        "/api/v1/integrations/whatsapp",
        env="live",
        json=_meta({"phone": lead_body()["phone"]}),
    )
    assert r.status_code == 200, r.text
    # A draft to edit, finalize or void, and an open invoice to pay.
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    invoice = {"lead_id": r.json()["data"]["id"], "line_items": INVOICE_LINES}
    r = await ws.request("POST", "/api/v1/invoices", json=invoice)
    inv = r.json()["data"]["id"]
    r = await ws.request("POST", "/api/v1/invoices", json=invoice)
    inv_open = r.json()["data"]["id"]
    r = await ws.request("POST", f"/api/v1/invoices/{inv_open}/finalize")
    assert r.status_code == 200, r.text
    # A conversation with an unread inbound message, on a lead of its own.
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    r = await ws.request(
        "POST",
        "/api/v1/test_helpers/whatsapp/inbound",
        json={"lead_id": r.json()["data"]["id"], "text": "hello"},
    )
    conv = r.json()["data"]["conversation_id"]
    booking = {"lead_id": lead, "property_id": prop, "agent": ref, "starts_at": "2026-09-01T09:00Z"}
    r = await ws.request("POST", "/api/v1/bookings", json=booking)
    assert r.status_code == 201, r.text
    bkg = r.json()["data"]["id"]
    return {
        "lead": lead,
        "whk": whk,
        "dlv": dlv,
        "key": key,
        "phone": phone,
        "bkg": bkg,
        "inv": inv,
        "inv_open": inv_open,
        "prop": prop,
        "ref": ref,
        "int_kind": "whatsapp",
        "conv": conv,
    }


REQUEST_LEVEL = (401, 403, 409, 413, 429, 503)  # statuses both surfaces answer alike


def shape(answer: Answer) -> tuple[str, bool, int | None]:
    """What must agree across surfaces: the outcome (error code, or ok), whether it was a
    replay, and the HTTP status of request-level refusals (GraphQL answers field errors 200)."""
    status = answer.status if answer.status in REQUEST_LEVEL else None
    return answer.code or "ok", answer.replayed, status


@pytest.mark.parametrize("name,op", MUTATIONS, ids=[n for n, _ in MUTATIONS])
async def test_both_surfaces_answer_a_mutation_alike(ws: Workspace, name: str, op: Any) -> None:
    twin = SCENARIOS[name]
    outcomes: dict[str, list[tuple[str, bool, int | None]]] = {}
    for surface in ("rest", "graphql"):
        ids = await prepare(ws)
        seen: list[tuple[str, bool, int | None]] = []
        # A role that may not: refused before anything runs, nothing stored.
        key = str(uuid.uuid4())
        refused = await call(ws, surface, twin, ids, role="viewer", key=key)
        seen.append(shape(refused))
        assert await IdempotencyRecord.filter(key=key).count() == 0
        # The first call, then its replay: byte-identical, shown-once fields null.
        first = await call(ws, surface, twin, ids, key=key)
        again = await call(ws, surface, twin, ids, key=key)
        seen += [shape(first), shape(again)]
        assert again.replayed and not first.replayed
        stored = bytes((await IdempotencyRecord.get(key=key)).body)
        for field in op.shown_once:
            shown = first.data[field] if surface == "rest" else first.data.get(field)
            assert shown, (surface, field)
            assert shown.encode() not in stored and shown.encode() not in again.body
            assert (again.data or {}).get(field) is None
        if not op.shown_once:
            assert again.body == first.body
        # A viewer replaying the admin's request gets 403, never the stored answer.
        stolen = await call(ws, surface, twin, ids, role="viewer", key=key)
        seen.append(shape(stolen))
        assert stolen.status == 403 and not stolen.replayed
        # Same key, different request: conflict, with trace ids that agree.
        other = await call(ws, surface, twin, ids, key=key, pad=10)
        seen.append(shape(other))
        assert other.code == "conflict" and other.trace == other.header_trace
        # A body over 1 MiB is refused before it is read whole.
        big = await call(ws, surface, twin, ids, pad=1_100_000)
        seen.append(shape(big))
        # An error replays with the trace id it was first answered with.
        missing = {
            **ids,
            "lead": MISSING["lead"],
            "whk": MISSING["whk"],
            "key": MISSING["key"],
            "dlv": MISSING["dlv"],
            "prop": MISSING["prop"],
            "inv": MISSING["inv"],
            "inv_open": MISSING["inv"],
            "bkg": MISSING["bkg"],
            "conv": MISSING["conv"],
            "int_kind": "vapi",  # never connected in these workspaces
        }
        if name not in (
            "leads.create",
            "api_keys.create",
            "webhooks.create",
            "properties.create",
            "templates.create",
        ) and not (name.startswith("integrations.put_")):
            key2 = str(uuid.uuid4())
            gone = await call(ws, surface, twin, missing, key=key2)
            gone_again = await call(ws, surface, twin, missing, key=key2)
            seen += [shape(gone), shape(gone_again)]
            assert gone.code == "not_found"
            assert gone_again.header_trace == gone.trace == gone_again.trace
        outcomes[surface] = seen
    assert outcomes["rest"] == outcomes["graphql"]


@pytest.mark.parametrize(
    "name,op",
    [m for m in MUTATIONS if m[1].fail_closed],
    ids=[n for n, o in MUTATIONS if o.fail_closed],
)
async def test_fail_closed_mutations_refuse_alike_while_redis_is_down(
    ws: Workspace, settings: Any, name: str, op: Any
) -> None:
    from hadar.app import create_app
    from hadar.platform.guard import Guard
    from hadar.platform.runtime import Runtime
    from tests.api.test_graphql import DownStore  # the store that never answers

    app = create_app(settings)
    app.state.runtime = Runtime(
        settings=settings,
        guard=Guard(DownStore(), shared=True),
        authenticate=app.state.runtime.authenticate,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hadar.test"
    ) as down:
        ids = await prepare(ws)
        answers = [
            await call(ws, s, SCENARIOS[name], ids, client=down) for s in ("rest", "graphql")
        ]
    assert [(a.status, a.code) for a in answers] == [(503, "service_unavailable")] * 2


Runner = Callable[..., Awaitable[Answer]]
