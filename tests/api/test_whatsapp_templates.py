"""Live WhatsApp templates through the API against the local fake Meta (real HTTP on loopback):
submitted to the agency's WhatsApp Business Account in Meta's shape with positional
placeholders, Meta's id, status and category kept, refusals and outages mapped with nothing
left behind, replays that never submit twice, Meta's review webhook moving the status, and
UltraMsg and test keys that never submit anything."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hadar.domain.templates import Template
from hadar.settings import Settings
from tests.api.test_whatsapp_inbound import META, provider, signed
from tests.api.test_whatsapp_live import (
    Live,
    connect_meta,
    connect_ultramsg,
    live_lead,
    live_providers,
    send,
)
from tests.conftest import Workspace
from tests.fakes.meta import error_body
from tests.fakes.server import Fault

__all__ = ["provider"]  # the fixture, imported for the review webhook tests

# `variables` listed out of body order on purpose: Meta numbers by first appearance.
BODY = "Hi {{name}}, {{property}} is now AED {{price}}. {{name}}, reply YES to view it."
POSITIONAL = "Hi {{1}}, {{2}} is now AED {{3}}. {{1}}, reply YES to view it."


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    async with live_providers(settings) as providers:
        yield providers


def template(**over: Any) -> dict[str, Any]:
    body = {
        "name": f"price_drop_{uuid.uuid4().hex[:10]}",
        "language": "en",
        "category": "marketing",
        "body": BODY,
        "variables": ["price", "name", "property"],
    }
    return {**body, **over}


async def create(ws: Workspace, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return await ws.request("POST", "/api/v1/whatsapp/templates", env="live", json=body, **kw)


def submissions(live: Live) -> int:
    """How many templates were submitted to Meta (reads of the list are not submissions)."""
    return sum(
        r.method == "POST" and r.path.endswith("/message_templates") for r in live.meta.requests
    )


async def listed(ws: Workspace) -> dict[str, str]:
    r = await ws.request("GET", "/api/v1/whatsapp/templates?limit=100", env="live")
    return {t["name"]: t["status"] for t in r.json()["data"]["items"]}


async def test_a_live_template_reaches_meta_in_its_shape_and_sends_in_that_order(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_meta(ws, live)
    body = template()
    r = await create(ws, body)
    assert r.status_code == 201, r.text
    shown = r.json()["data"]
    assert (shown["status"], shown["category"], shown["body"]) == ("pending", "marketing", BODY)
    (req,) = live.meta.requests
    assert req.path == f"/v23.0/{live.meta.business_account_id}/message_templates"
    assert req.headers["authorization"] == f"Bearer {live.meta.token}"
    assert req.json == {
        "name": body["name"],
        "language": "en",
        "category": "MARKETING",
        "components": [
            {
                "type": "BODY",
                "text": POSITIONAL,
                "example": {"body_text": [["name", "property", "price"]]},
            }
        ],
    }
    row = await Template.get(id=shown["id"])
    assert row.provider_template_id == live.meta.submitted[(body["name"], "en")]["id"]
    lead = await live_lead(ws)
    variables = {"price": "1,250,000", "name": "Omar", "property": "Marina Gate 2"}
    refused = await send(ws, lead, {"template": body["name"], "variables": variables})
    assert refused.json()["error"]["field"] == "message.template"  # pending: not yet
    review = live.meta.template_review(name=body["name"], language="en", event="APPROVED")
    assert (await provider.post(META, content=review, headers=signed(live, review))).status_code
    assert (await listed(ws))[body["name"]] == "approved"
    r = await send(ws, lead, {"template": body["name"], "variables": variables})
    assert r.status_code == 201, r.text
    params = live.meta.requests[-1].json["template"]["components"][0]["parameters"]
    assert [p["text"] for p in params] == ["Omar", "Marina Gate 2", "1,250,000"]  # {{1}}..{{3}}


async def test_metas_immediate_decision_and_category_are_kept(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    live.meta.template_status = "APPROVED"
    live.meta.recategorise_to = "MARKETING"
    r = await create(
        ws, template(category="utility", body="Your viewing is at {{time}}.", variables=["time"])
    )
    assert r.status_code == 201, r.text
    assert (r.json()["data"]["status"], r.json()["data"]["category"]) == ("approved", "marketing")
    live.meta.template_status = "REJECTED"
    r = await create(ws, template(body="Plain text, no placeholders.", variables=[]))
    assert r.json()["data"]["status"] == "rejected"
    assert "example" not in live.meta.requests[-1].json["components"][0]


async def test_a_meta_account_without_business_account_id_is_refused_naming_it(
    ws: Workspace, live: Live
) -> None:
    await connect_meta(ws, live, waba=False)
    body = template()
    r = await create(ws, body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["field"] == "integration.business_account_id"
    assert live.meta.requests == []
    assert body["name"] not in await listed(ws)


EXISTS = error_body(100, "Invalid parameter", subcode=2388024, user_msg="Already exists in en.")


@pytest.mark.parametrize(
    "fault,answer",
    [
        (
            Fault(status=400, body=error_body(100, user_msg="Body is too long.")),
            (400, "validation_error", "template"),
        ),
        (Fault(status=400, body=EXISTS), (409, "conflict", "template.name")),
        (Fault(status=401, body=error_body(190)), (503, "service_unavailable", None)),
        (Fault(status=429, body=error_body(130429)), (503, "service_unavailable", None)),
        (Fault(status=500, body=error_body(131000)), (503, "service_unavailable", None)),
        (Fault(status=502, body="<html>Bad gateway</html>"), (503, "service_unavailable", None)),
        (Fault(status=None, delay=1.0), (503, "service_unavailable", None)),
        (Fault(status=200, body={"status": "PENDING"}), (503, "service_unavailable", None)),
    ],
    ids=["invalid", "exists", "token", "rate-limit", "5xx-code", "5xx-html", "timeout", "no-id"],
)
async def test_refusals_and_outages_keep_nothing_and_replay_without_resubmitting(
    ws: Workspace, live: Live, fault: Fault, answer: tuple[int, str, str | None]
) -> None:
    await connect_meta(ws, live)
    body = template()
    live.meta.fail_next(fault)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await create(ws, body, headers=key)
    error = r.json()["error"]
    assert (r.status_code, error["code"], error.get("field")) == answer
    assert live.meta.token not in r.text
    assert await Template.filter(name=body["name"]).count() == 0
    again = await create(ws, body, headers=key)
    assert again.headers["idempotent-replayed"] == "true" and again.content == r.content
    assert submissions(live) == 1
    # A new key submits afresh: the failed attempt left nothing holding the name.
    retry = await create(ws, body)
    assert retry.status_code == 201, retry.text
    assert submissions(live) == 2


async def test_a_submission_meta_took_despite_a_timeout_is_recognised_on_retry(
    ws: Workspace, live: Live
) -> None:
    await connect_meta(ws, live)
    body = template()
    live.meta.fail_next(Fault(status=None, delay=0.6))  # Meta answers after our 0.3 s timeout
    timed_out = await create(ws, body)
    assert timed_out.status_code == 503
    for _ in range(100):  # Meta stores it once its slow answer is written
        if (body["name"], "en") in live.meta.submitted:
            break
        await asyncio.sleep(0.02)
    retry = await create(ws, body)
    assert retry.status_code == 201, retry.text
    row = await Template.get(id=retry.json()["data"]["id"])
    assert row.provider_template_id == live.meta.submitted[(body["name"], "en")]["id"]
    assert row.status == "pending"
    # The same name made in WhatsApp Manager with another body is not ours: 409, nothing kept.
    other = template(name=f"manager_made_{uuid.uuid4().hex[:8]}")
    live.meta.submitted[(other["name"], "en")] = {
        "id": "777",
        "name": other["name"],
        "language": "en",
        "status": "APPROVED",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Something else entirely."}],
    }
    clash = await create(ws, other)
    assert (clash.status_code, clash.json()["error"]["field"]) == (409, "template.name")
    assert await Template.filter(name=other["name"]).count() == 0


async def test_a_replay_or_a_duplicate_never_submits_twice(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    body = template()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await create(ws, body, headers=key)
    again = await create(ws, body, headers=key)
    assert first.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    duplicate = await create(ws, body)
    assert (duplicate.status_code, duplicate.json()["error"]["field"]) == (409, "template.name")
    assert len(live.meta.requests) == 1


async def test_an_open_breaker_refuses_at_once_and_keeps_nothing(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    live.meta.fail_next(Fault(status=503), times=5)
    for _ in range(5):
        assert (await create(ws, template())).status_code == 503
    body = template()
    r = await create(ws, body)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "service_unavailable")
    assert len(live.meta.requests) == 5
    assert await Template.filter(name=body["name"]).count() == 0


async def test_ultramsg_and_test_keys_approve_at_once_without_a_call(
    ws: Workspace, live: Live
) -> None:
    await connect_ultramsg(ws, live)
    body = template()
    r = await create(ws, body)
    assert r.status_code == 201 and r.json()["data"]["status"] == "approved"
    assert live.meta.requests == [] and live.ultramsg.requests == []
    lead = await live_lead(ws)
    variables = {"price": "2M", "name": "Omar", "property": "Villa 12"}
    sent = await send(ws, lead, {"template": body["name"], "variables": variables})
    assert sent.status_code == 201, sent.text
    (req,) = live.ultramsg.requests
    assert req.form is not None and req.form["body"].startswith("Hi Omar, Villa 12 is now AED 2M.")
    await connect_meta(ws, live)
    test = await ws.request("POST", "/api/v1/whatsapp/templates", json=template())
    assert test.status_code == 201 and test.json()["data"]["status"] == "approved"
    assert live.meta.requests == []


@pytest.mark.parametrize(
    "events,final",
    [
        (["APPROVED"], "approved"),
        (["REJECTED"], "rejected"),
        (["APPROVED", "PAUSED"], "rejected"),
        (["APPROVED", "DISABLED"], "rejected"),
        (["APPROVED", "PAUSED", "REINSTATED"], "approved"),
        (["APPROVED", "FLAGGED"], "approved"),  # a quality warning: still sendable
        (["REJECTED", "IN_APPEAL"], "pending"),
    ],
)
async def test_metas_review_moves_the_status_by_metas_id(
    ws: Workspace, live: Live, provider: httpx.AsyncClient, events: list[str], final: str
) -> None:
    await connect_meta(ws, live)
    body = template()
    assert (await create(ws, body)).status_code == 201
    for event in events:
        # Named differently on purpose: Meta's id is what finds the template.
        review = live.meta.template_review(
            name="renamed_in_whatsapp_manager",
            language="en",
            event=event,
            template_id=live.meta.submitted[(body["name"], "en")]["id"],
        )
        r = await provider.post(META, content=review, headers=signed(live, review))
        assert r.status_code == 200
    assert (await listed(ws))[body["name"]] == final


async def test_reviews_of_unknown_templates_or_accounts_are_tolerated(
    ws: Workspace, live: Live, provider: httpx.AsyncClient
) -> None:
    await connect_meta(ws, live)
    body = template()
    assert (await create(ws, body)).status_code == 201
    unknown = live.meta.template_review(
        name="never_heard_of", language="en", event="APPROVED", template_id=42
    )
    r = await provider.post(META, content=unknown, headers=signed(live, unknown))
    assert r.status_code == 200
    other = live.meta.template_review(name=body["name"], language="en", event="APPROVED")
    other = other.replace(live.meta.business_account_id.encode(), b"999999999999999")
    r = await provider.post(META, content=other, headers=signed(live, other))
    assert r.status_code == 200
    assert (await listed(ws))[body["name"]] == "pending"
    forged = live.meta.template_review(name=body["name"], language="en", event="APPROVED")
    r = await provider.post(META, content=forged, headers={"X-Hub-Signature-256": "sha256=00"})
    assert r.status_code == 401
    assert (await listed(ws))[body["name"]] == "pending"


async def test_graphql_answers_metas_refusal_alike(ws: Workspace, live: Live) -> None:
    await connect_meta(ws, live)
    live.meta.fail_next(Fault(status=400, body=error_body(100, user_msg="Body is too long.")))
    doc = "mutation($i: WhatsAppTemplateInput!) { createWhatsappTemplate(input: $i) { id } }"
    r = await ws.request(
        "POST", "/graphql", env="live", json={"query": doc, "variables": {"i": template()}}
    )
    ext = r.json()["errors"][0]["extensions"]
    assert (ext["code"], ext["field"]) == ("validation_error", "template")
    assert "Body is too long." in r.json()["errors"][0]["message"]
