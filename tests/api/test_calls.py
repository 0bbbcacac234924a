"""Voice calls with test keys (the sandbox, which ends a call at once), the refusals every key
gets, the list and its filters, and the GraphQL twins."""

from __future__ import annotations

from typing import Any

from hadar.domain.conversations import Conversation, Message
from hadar.domain.webhooks import Event
from hadar.providers.sandbox import CANNED_SUMMARY, CANNED_TRANSCRIPT
from tests.api.parity import Twin
from tests.api.test_graphql import gql
from tests.conftest import Workspace, lead_body


async def new_lead(ws: Workspace, env: str = "test", **over: Any) -> dict[str, Any]:
    r = await ws.request("POST", "/api/v1/leads", env=env, json=lead_body(**over))
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def place(ws: Workspace, lead_id: str, env: str = "test", **kw: Any) -> Any:
    return await ws.request("POST", "/api/v1/calls", env=env, json={"lead_id": lead_id}, **kw)


def error_of(r: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return dict(error)


async def test_a_sandbox_call_ends_at_once_with_the_canned_transcript(ws: Workspace) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    lead = await new_lead(ws)
    r = await ws.request(
        "POST",
        "/api/v1/calls",
        json={"lead_id": lead["id"], "first_message": "Hi!", "agent_prompt": "Be brief."},
    )
    assert r.status_code == 201, r.text
    call = r.json()["data"]
    assert call["object"] == "call" and call["id"].startswith("call_")
    assert call["lead_id"] == lead["id"] and call["provider"] == "sandbox"
    assert call["status"] == "ended" and call["ended_reason"] == "customer-ended-call"
    assert call["summary"] == CANNED_SUMMARY and call["transcript"] == CANNED_TRANSCRIPT
    assert call["ended_at"] is not None and call["duration_seconds"] == 0
    got = await ws.request("GET", f"/api/v1/calls/{call['id']}")
    assert got.json()["data"] == call
    # The transcript and summary are in the lead's voice conversation; call.completed emitted.
    conversation = await Conversation.get(lead_id=lead["id"], channel="voice")
    texts = await Message.filter(conversation_id=conversation.id).values_list("text", flat=True)
    assert sorted(texts) == sorted([CANNED_TRANSCRIPT, CANNED_SUMMARY])
    events = await Event.filter(type="call.completed", payload__contains=call["id"])
    assert len(events) == 1


async def test_second_call_shares_the_voice_conversation(ws: Workspace) -> None:
    lead = await new_lead(ws)
    for _ in range(2):
        assert (await place(ws, lead["id"])).status_code == 201
    conversations = await Conversation.filter(lead_id=lead["id"], channel="voice")
    assert len(conversations) == 1
    assert await Message.filter(conversation_id=conversations[0].id).count() == 4


async def test_opted_out_lead_is_422_do_not_contact(ws: Workspace) -> None:
    lead = await new_lead(ws, do_not_contact={"voice": True})
    error_of(await place(ws, lead["id"]), 422, "do_not_contact", "call.lead_id")
    assert (await ws.request("GET", f"/api/v1/calls?lead_id={lead['id']}")).json()["data"][
        "items"
    ] == []


async def test_lead_without_a_phone_is_400_naming_call_lead_id(ws: Workspace) -> None:
    body = lead_body(email="no-phone@example.com")
    del body["phone"]
    r = await ws.request("POST", "/api/v1/leads", json=body)
    lead = r.json()["data"]
    error_of(await place(ws, lead["id"]), 400, "validation_error", "call.lead_id")


async def test_unknown_lead_and_bad_bodies(ws: Workspace) -> None:
    error_of(await place(ws, "lead_01HMNZ0000000000000000000Z"), 404, "not_found")
    r = await ws.request("POST", "/api/v1/calls", json={"lead_id": "x", "extra": 1})
    error_of(r, 400, "validation_error", "call.extra")
    r = await ws.request("POST", "/api/v1/calls", json={})
    error_of(r, 400, "validation_error", "call.lead_id")
    error_of(await ws.request("GET", "/api/v1/calls/call_nope"), 404, "not_found")


async def test_viewers_read_calls_but_may_not_place_them(ws: Workspace) -> None:
    lead = await new_lead(ws)
    error_of(await place(ws, lead["id"], role="viewer"), 403, "forbidden")
    assert (await place(ws, lead["id"], role="agent")).status_code == 201
    r = await ws.request("GET", "/api/v1/calls", role="viewer")
    assert r.status_code == 200 and len(r.json()["data"]["items"]) == 1


async def test_list_is_newest_first_with_filters_and_cursors(ws: Workspace) -> None:
    first, second = await new_lead(ws), await new_lead(ws)
    ids = [(await place(ws, lead["id"])).json()["data"]["id"] for lead in (first, second, first)]
    r = await ws.request("GET", "/api/v1/calls?limit=2")
    page = r.json()["data"]
    assert [c["id"] for c in page["items"]] == [ids[2], ids[1]]
    assert page["pagination"]["has_more"] is True
    cursor = page["pagination"]["next_cursor"]
    rest = (await ws.request("GET", f"/api/v1/calls?limit=2&cursor={cursor}")).json()["data"]
    assert [c["id"] for c in rest["items"]] == [ids[0]]
    mine = await ws.request("GET", f"/api/v1/calls?lead_id={first['id']}")
    assert [c["id"] for c in mine.json()["data"]["items"]] == [ids[2], ids[0]]
    ended = await ws.request("GET", "/api/v1/calls?status=ended")
    assert len(ended.json()["data"]["items"]) == 3
    queued = await ws.request("GET", "/api/v1/calls?status=queued")
    assert queued.json()["data"]["items"] == []
    error_of(await ws.request("GET", "/api/v1/calls?status=bogus"), 400, "validation_error")
    # A cursor of one filter set does not page another.
    r = await ws.request("GET", f"/api/v1/calls?limit=2&cursor={cursor}&status=ended")
    error_of(r, 400, "validation_error")


async def test_another_workspace_never_sees_a_call(ws: Workspace, client: Any) -> None:
    lead = await new_lead(ws)
    call = (await place(ws, lead["id"])).json()["data"]
    other = Workspace(client, ws.slug + "-other")
    error_of(await other.request("GET", f"/api/v1/calls/{call['id']}"), 404, "not_found")
    assert (await other.request("GET", "/api/v1/calls")).json()["data"]["items"] == []
    error_of(await ws.request("GET", f"/api/v1/calls/{call['id']}", env="live"), 404, "not_found")


CREATE = "mutation($i: CallCreateInput!) { createCall(input: $i) { id status summary leadId } }"


async def test_graphql_twins(ws: Workspace) -> None:
    lead = await new_lead(ws)
    other = await new_lead(ws)
    r = await gql(ws, CREATE, {"i": {"leadId": lead["id"], "firstMessage": "Hello"}})
    created = r.json()["data"]["createCall"]
    assert created["status"] == "ended" and created["leadId"] == lead["id"]
    await gql(ws, CREATE, {"i": {"leadId": other["id"]}})
    r = await gql(
        ws,
        "query($l: ID) { calls(first: 5, leadId: $l) { edges { node { id status } } } }",
        {"l": lead["id"]},
    )
    assert [e["node"]["id"] for e in r.json()["data"]["calls"]["edges"]] == [created["id"]]
    r = await gql(ws, "query($id: ID!) { call(id: $id) { id transcript } }", {"id": created["id"]})
    assert r.json()["data"]["call"]["transcript"] == CANNED_TRANSCRIPT
    r = await gql(
        ws, "query($id: ID!) { node(id: $id) { ... on Call { id } } }", {"id": created["id"]}
    )
    assert r.json()["data"]["node"] == {"id": created["id"]}
    r = await gql(ws, "{ leads(first: 10) { edges { node { id calls { id leadId } } } } }")
    by_lead = {e["node"]["id"]: e["node"]["calls"] for e in r.json()["data"]["leads"]["edges"]}
    assert by_lead[lead["id"]] == [{"id": created["id"], "leadId": lead["id"]}]
    assert len(by_lead[other["id"]]) == 1
    r = await gql(ws, CREATE, {"i": {"leadId": lead["id"]}}, role="viewer")
    assert r.json()["errors"][0]["extensions"]["code"] == "forbidden"


# The twin of the call mutation, for tests/api/test_operation_parity.py.
PARITY = {
    "calls.create": Twin(
        lambda ids: ("POST", "/api/v1/calls", {"lead_id": ids["lead"]}),
        lambda ids: (
            "mutation($i: CallCreateInput!) { createCall(input: $i) { id status } }",
            {"i": {"leadId": ids["lead"]}},
        ),
    ),
}
