"""WhatsApp through the API with test keys (the sandbox): the window, templates, every refusal
of SPEC 8 with its code and field, conversations and threads, the inbound test helper,
opt-out words and the GraphQL twins."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hadar import clock
from hadar.domain.webhooks import Event
from tests.api.parity import Twin
from tests.conftest import Workspace, lead_body

VARS = {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Sat 11:00"}


@pytest.fixture
def frozen() -> Iterator[list[datetime]]:
    """A clock the test moves by hand: `frozen[0]` is now."""
    at = [datetime(2026, 5, 15, 8, 0, 0, tzinfo=UTC)]
    clock.set_clock(lambda: at[0])
    yield at
    clock.set_clock(None)


async def new_lead(ws: Workspace, **over: Any) -> str:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body(**over))
    return str(r.json()["data"]["id"])


async def send(ws: Workspace, body: dict[str, Any], **kw: Any) -> Any:
    return await ws.request("POST", "/api/v1/whatsapp/messages", json=body, **kw)


async def inbound(ws: Workspace, lead: str, text: str, at: datetime | None = None) -> Any:
    body: dict[str, Any] = {"lead_id": lead, "text": text}
    if at is not None:
        body["received_at"] = clock.isoformat(at)
    return await ws.request("POST", "/api/v1/test_helpers/whatsapp/inbound", json=body)


async def test_every_tenant_starts_with_the_two_seed_templates(ws: Workspace) -> None:
    r = await ws.request("GET", "/api/v1/whatsapp/templates")
    items = r.json()["data"]["items"]
    by_name = {t["name"]: t for t in items}
    assert set(by_name) == {"viewing_confirmation_en", "viewing_confirmation_ar"}
    assert by_name["viewing_confirmation_ar"]["language"] == "ar"
    for t in items:
        assert t["status"] == "approved" and t["id"].startswith("tpl_")
        assert t["variables"] == ["agent_name", "property_name", "viewing_time"]
    live = await ws.request("GET", "/api/v1/whatsapp/templates", env="live")
    assert len(live.json()["data"]["items"]) == 2


async def test_the_reference_template_send_goes_sent_then_delivered(ws: Workspace) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    lead = await new_lead(ws)
    r = await send(ws, {"lead_id": lead, "template": "viewing_confirmation_en", "variables": VARS})
    assert r.status_code == 201, r.text
    msg = r.json()["data"]
    assert msg["id"].startswith("msg_") and msg["conversation_id"].startswith("conv_")
    assert (msg["direction"], msg["kind"], msg["status"], msg["provider"]) == (
        "outbound",
        "template",
        "sent",
        "sandbox",
    )
    assert msg["language"] == "en" and msg["variables"] == VARS
    assert "Sara" in msg["text"] and msg["provider_message_id"].startswith("wamid.sandbox.")
    later = await ws.request("GET", f"/api/v1/messages/{msg['id']}")
    assert later.json()["data"]["status"] == "delivered"
    types = await Event.filter(payload__contains=msg["id"]).values_list("type", flat=True)
    assert list(types) == ["message.status_updated", "message.status_updated"]


async def test_free_form_needs_the_window_and_its_edges_hold(
    ws: Workspace, frozen: list[datetime]
) -> None:
    lead = await new_lead(ws)
    r = await send(ws, {"lead_id": lead, "text": "Hi!"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "outside_24h_window")
    last = frozen[0] - timedelta(hours=1)
    assert (await inbound(ws, lead, "Is it available?", at=last)).status_code == 201
    frozen[0] = last + timedelta(hours=23, minutes=59, seconds=59)
    assert (await send(ws, {"lead_id": lead, "text": "Yes, it is."})).status_code == 201
    frozen[0] = last + timedelta(hours=24, seconds=1)
    r = await send(ws, {"lead_id": lead, "text": "Still there?"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "outside_24h_window")
    # A template still goes outside the window.
    r = await send(ws, {"lead_id": lead, "template": "viewing_confirmation_ar", "variables": VARS})
    assert r.status_code == 201 and r.json()["data"]["language"] == "ar"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"template": "no_such_template", "variables": VARS}, "message.template"),
        ({"template": "viewing_confirmation_en", "variables": {}}, "message.variables.agent_name"),
        (
            {"template": "viewing_confirmation_en", "variables": {**VARS, "price": "1"}},
            "message.variables.price",
        ),
        (
            {"template": "viewing_confirmation_en", "language": "fr", "variables": VARS},
            "message.template",
        ),
        ({"text": ""}, "message.text"),
        ({"text": "x" * 4097}, "message.text"),
        ({}, "message.text"),
        ({"text": "hi", "template": "viewing_confirmation_en"}, "message.text"),
        ({"text": "hi", "extra": 1}, "message.extra"),
    ],
)
async def test_refusals_name_their_field(ws: Workspace, body: dict[str, Any], field: str) -> None:
    lead = await new_lead(ws)
    r = await send(ws, {"lead_id": lead, **body})
    assert r.status_code == 400, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("validation_error", field)


async def test_text_of_4096_characters_is_accepted(ws: Workspace) -> None:
    lead = await new_lead(ws)
    await inbound(ws, lead, "hello")
    r = await send(ws, {"lead_id": lead, "text": "ع" * 4096})
    assert r.status_code == 201


async def test_test_key_templates_are_approved_at_once_live_ones_need_an_account(
    ws: Workspace,
) -> None:
    name = f"promo_{uuid.uuid4().hex[:8]}"
    body = {
        "name": name,
        "language": "en",
        "category": "marketing",
        "body": "Hi {{name}}",
        "variables": ["name"],
    }
    # Live templates are submitted to the agency's account (tests/api/test_whatsapp_templates.py).
    live = await ws.request("POST", "/api/v1/whatsapp/templates", env="live", json=body)
    assert (live.status_code, live.json()["error"]["field"]) == (409, "integration")
    assert "PUT /api/v1/integrations/whatsapp" in live.json()["error"]["message"]
    test = await ws.request("POST", "/api/v1/whatsapp/templates", json=body)
    assert test.json()["data"]["status"] == "approved"
    lead = await new_lead(ws)
    assert (
        await send(ws, {"lead_id": lead, "template": name, "variables": {"name": "A"}})
    ).status_code == 201
    dup = await ws.request("POST", "/api/v1/whatsapp/templates", json=body)
    assert dup.json()["error"]["code"] == "conflict"
    bad = await ws.request("POST", "/api/v1/whatsapp/templates", json={**body, "variables": []})
    assert bad.json()["error"]["field"] == "template.variables"
    agent = await ws.request("POST", "/api/v1/whatsapp/templates", role="agent", json=body)
    assert agent.status_code == 403


async def test_opted_out_and_phoneless_leads(ws: Workspace) -> None:
    lead = await new_lead(ws, do_not_contact={"whatsapp": True})
    r = await send(ws, {"lead_id": lead, "template": "viewing_confirmation_en", "variables": VARS})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "do_not_contact")
    r = await ws.request(
        "POST", "/api/v1/leads", json={"name": "Mail only", "email": f"{uuid.uuid4().hex}@ex.com"}
    )
    r = await send(
        ws,
        {
            "lead_id": r.json()["data"]["id"],
            "template": "viewing_confirmation_en",
            "variables": VARS,
        },
    )
    assert (r.status_code, r.json()["error"]["field"]) == (400, "message.lead_id")
    r = await send(ws, {"lead_id": "lead_01HMNZ0000000000000000000Z", "text": "x"})
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("word", ["STOP", "  unsubscribe ", "إلغاء", "الغاء"])
async def test_opt_out_words_set_do_not_contact(ws: Workspace, word: str) -> None:
    lead = await new_lead(ws)
    assert (await inbound(ws, lead, word)).status_code == 201
    got = await ws.request("GET", f"/api/v1/leads/{lead}")
    assert got.json()["data"]["do_not_contact"]["whatsapp"] is True
    r = await send(ws, {"lead_id": lead, "text": "sorry to see you go"})
    assert r.json()["error"]["code"] == "do_not_contact"


async def test_inbound_opens_the_window_scores_and_threads(ws: Workspace) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    lead = await new_lead(ws)
    before = (await ws.request("GET", f"/api/v1/leads/{lead}")).json()["data"]["score"]
    first = (await inbound(ws, lead, "مرحبا 👋 is the flat free?")).json()["data"]
    assert first["direction"] == "inbound" and first["text"] == "مرحبا 👋 is the flat free?"
    after = (await ws.request("GET", f"/api/v1/leads/{lead}")).json()["data"]
    assert after["score"] > before
    assert "engagement" in [f["factor"] for f in after["score_factors"]]
    sent = (await send(ws, {"lead_id": lead, "text": "Yes!"})).json()["data"]
    conv = (await ws.request("GET", f"/api/v1/conversations/{first['conversation_id']}")).json()[
        "data"
    ]
    # The reply read the thread: nothing is unread until the lead writes again.
    assert conv["window_open"] is True and conv["unread_count"] == 0
    assert conv["lead_id"] == lead and conv["channel"] == "whatsapp"
    thread = await ws.request("GET", f"/api/v1/conversations/{conv['id']}/messages?limit=1")
    page = thread.json()["data"]
    assert [m["id"] for m in page["items"]] == [first["id"]]  # oldest first
    nxt = await ws.request(
        "GET",
        f"/api/v1/conversations/{conv['id']}/messages?limit=1&cursor={page['pagination']['next_cursor']}",
    )
    assert [m["id"] for m in nxt.json()["data"]["items"]] == [sent["id"]]
    received = await Event.filter(type="message.received", payload__contains=first["id"]).count()
    assert received == 1


async def test_conversation_filters(ws: Workspace, frozen: list[datetime]) -> None:
    open_lead, shut_lead = await new_lead(ws), await new_lead(ws)
    await inbound(ws, open_lead, "hi")
    await inbound(ws, shut_lead, "hi", at=frozen[0] - timedelta(hours=25))

    async def ids(query: str) -> set[str]:
        r = await ws.request("GET", f"/api/v1/conversations?{query}")
        return {c["lead_id"] for c in r.json()["data"]["items"]}

    assert open_lead in await ids("window_open=true")
    assert shut_lead not in await ids("window_open=true")
    assert shut_lead in await ids("window_open=false")
    assert await ids(f"lead_id={shut_lead}") == {shut_lead}
    assert await ids("channel=voice") == set()


async def test_the_test_helper_is_for_test_keys(ws: Workspace, frozen: list[datetime]) -> None:
    lead = await new_lead(ws)
    r = await ws.request(
        "POST",
        "/api/v1/test_helpers/whatsapp/inbound",
        env="live",
        json={"lead_id": lead, "text": "x"},
    )
    assert r.status_code == 403
    r = await inbound(ws, lead, "from the future", at=frozen[0] + timedelta(seconds=1))
    assert r.json()["error"]["field"] == "inbound.received_at"


async def test_a_live_send_without_an_integration_is_a_conflict(ws: Workspace) -> None:
    r = await ws.request("POST", "/api/v1/leads", env="live", json=lead_body())
    lead = r.json()["data"]["id"]
    r = await send(
        ws, {"lead_id": lead, "template": "viewing_confirmation_en", "variables": VARS}, env="live"
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")
    assert "PUT /api/v1/integrations/whatsapp" in r.json()["error"]["message"]


async def test_graphql_twins(ws: Workspace) -> None:
    lead = await new_lead(ws)
    doc = (
        "mutation($i: WhatsAppMessageInput!) { sendWhatsappMessage(input: $i) "
        "{ id status conversationId } }"
    )
    r = await ws.request(
        "POST",
        "/graphql",
        json={
            "query": doc,
            "variables": {
                "i": {"leadId": lead, "template": "viewing_confirmation_en", "variables": VARS}
            },
        },
    )
    sent = r.json()["data"]["sendWhatsappMessage"]
    assert sent["status"] == "sent"
    q = """query($id: ID!, $c: ID!, $m: ID!) {
      lead(id: $id) { conversations { id windowOpen messages { id status } } }
      node(id: $c) { ... on Conversation { channel } }
      msg: node(id: $m) { ... on Message { direction } }
      whatsappTemplates { edges { node { name } } }
    }"""
    r = await ws.request(
        "POST",
        "/graphql",
        json={"query": q, "variables": {"id": lead, "c": sent["conversationId"], "m": sent["id"]}},
    )
    data = r.json()["data"]
    (conv,) = data["lead"]["conversations"]
    assert conv["messages"] == [{"id": sent["id"], "status": "delivered"}]
    assert data["node"] == {"channel": "whatsapp"} and data["msg"] == {"direction": "outbound"}
    assert len(data["whatsappTemplates"]["edges"]) == 2


async def test_a_later_change_keeps_the_inbound_engagement_points(ws: Workspace) -> None:
    lead = await new_lead(ws)
    await inbound(ws, lead, "hello")
    scored = (await ws.request("GET", f"/api/v1/leads/{lead}")).json()["data"]["score"]
    patched = await ws.request("PATCH", f"/api/v1/leads/{lead}", json={"assigned_to": "sara"})
    factors = [f["factor"] for f in patched.json()["data"]["score_factors"]]
    assert "engagement" in factors and patched.json()["data"]["score"] == scored


PARITY_VARS = {"agent_name": "Sara", "property_name": "Marina Vista", "viewing_time": "Sat 11:00"}


def _parity_template(ids: dict[str, str]) -> dict[str, Any]:
    name = "parity_" + hashlib.sha256(ids["phone"].encode()).hexdigest()[:10]
    return {
        "name": name,
        "language": "en",
        "category": "utility",
        "body": "Hi {{n}}",
        "variables": ["n"],
    }


# The twins of the WhatsApp mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "whatsapp.send": Twin(
        lambda ids: (
            "POST",
            "/api/v1/whatsapp/messages",
            {
                "lead_id": ids["lead"],
                "template": "viewing_confirmation_en",
                "variables": PARITY_VARS,
            },
        ),
        lambda ids: (
            "mutation($i: WhatsAppMessageInput!) { sendWhatsappMessage(input: $i) { id status } }",
            {
                "i": {
                    "leadId": ids["lead"],
                    "template": "viewing_confirmation_en",
                    "variables": PARITY_VARS,
                }
            },
        ),
    ),
    "templates.create": Twin(
        lambda ids: ("POST", "/api/v1/whatsapp/templates", _parity_template(ids)),
        lambda ids: (
            "mutation($i: WhatsAppTemplateInput!) { createWhatsappTemplate(input: $i) "
            "{ id status } }",
            {"i": _parity_template(ids)},
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
