"""A conversation's unread_count as an inbox user relies on it: inbound messages since the
agency last read or replied; reset by a reply and by POST /conversations/{id}/read (and its
GraphQL twin); idempotent, role-checked and scoped; never losing an inbound that races a read."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from hadar import clock
from hadar.domain.conversations import Conversation
from hadar.domain.scope import Scope
from hadar.domain.tenants import Tenant
from hadar.services import conversations
from tests.api.parity import Twin, created
from tests.api.test_whatsapp import inbound, new_lead, send
from tests.conftest import Workspace


async def thread(ws: Workspace, lead: str, texts: int = 1) -> str:
    """The lead's conversation after `texts` inbound messages."""
    for n in range(texts):
        r = await inbound(ws, lead, f"message {n}")
        assert r.status_code == 201, r.text
    return str(r.json()["data"]["conversation_id"])


async def unread(ws: Workspace, conv: str) -> int:
    r = await ws.request("GET", f"/api/v1/conversations/{conv}")
    return int(r.json()["data"]["unread_count"])


async def mark_read(ws: Workspace, conv: str, **kw: Any) -> httpx.Response:
    return await ws.request("POST", f"/api/v1/conversations/{conv}/read", **kw)


async def test_inbound_counts_and_a_read_or_a_reply_resets(ws: Workspace) -> None:
    lead = await new_lead(ws)
    conv = await thread(ws, lead, texts=3)
    assert await unread(ws, conv) == 3
    r = await mark_read(ws, conv, role="agent")
    assert r.status_code == 200, r.text
    shown = r.json()["data"]
    assert (shown["id"], shown["object"], shown["unread_count"]) == (conv, "conversation", 0)
    assert shown["window_open"] is True  # reading changes nothing else
    await thread(ws, lead, texts=2)
    assert await unread(ws, conv) == 2
    assert (await send(ws, {"lead_id": lead, "text": "On my way"})).status_code == 201
    assert await unread(ws, conv) == 0
    await thread(ws, lead)
    listed = await ws.request("GET", f"/api/v1/conversations?lead_id={lead}")
    assert [c["unread_count"] for c in listed.json()["data"]["items"]] == [1]


async def test_graphql_mark_conversation_read(ws: Workspace) -> None:
    lead = await new_lead(ws)
    conv = await thread(ws, lead, texts=2)
    doc = "mutation($id: ID!) { markConversationRead(id: $id) { id unreadCount windowOpen } }"
    r = await ws.request("POST", "/graphql", json={"query": doc, "variables": {"id": conv}})
    assert r.json()["data"]["markConversationRead"] == {
        "id": conv,
        "unreadCount": 0,
        "windowOpen": True,
    }
    assert await unread(ws, conv) == 0


async def test_marking_read_is_idempotent_role_checked_and_scoped(
    ws: Workspace, client: httpx.AsyncClient
) -> None:
    lead = await new_lead(ws)
    conv = await thread(ws, lead, texts=2)
    viewer = await mark_read(ws, conv, role="viewer")
    assert (viewer.status_code, viewer.json()["error"]["code"]) == (403, "forbidden")
    assert await unread(ws, conv) == 2
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await mark_read(ws, conv, headers=key)
    await thread(ws, lead)  # arrives after the read
    again = await mark_read(ws, conv, headers=key)
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert await unread(ws, conv) == 1  # the replay read nothing a second time
    fresh = await mark_read(ws, conv)
    assert fresh.json()["data"]["unread_count"] == 0 and await unread(ws, conv) == 0
    missing = await mark_read(ws, "conv_01HMNZ0000000000000000000Z")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    live = await mark_read(ws, conv, env="live")  # another sandbox of the same tenant
    assert live.status_code == 404
    stranger = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    other = await mark_read(stranger, conv)
    assert (other.status_code, other.json()["error"]["code"]) == (404, "not_found")


async def test_an_inbound_filed_from_a_stale_read_is_not_lost_or_double_counted(
    ws: Workspace,
) -> None:
    # The inbound path reads the conversation, then counts; a read committed in between must
    # leave exactly that one inbound unread (a write-back of the stale count would say 4).
    lead = await new_lead(ws)
    conv = await thread(ws, lead, texts=3)
    stale = await Conversation.get(id=conv)
    assert stale.unread_count == 3
    tenant = await Tenant.get(slug=ws.slug)
    scope = Scope(tenant_id=tenant.id, environment="test", role="agent")
    await conversations.mark_read(scope=scope, conversation_id=conv)
    await conversations.touch_inbound(conversation=stale, at=clock.now())
    assert (await Conversation.get(id=conv)).unread_count == 1
    # And a reply from a stale read resets without resurrecting the old count.
    await conversations.touch_inbound(conversation=stale, at=clock.now())
    await conversations.touch_outbound(conversation=stale, at=clock.now())
    assert (await Conversation.get(id=conv)).unread_count == 0


async def test_concurrent_inbound_and_reads_lose_nothing(ws: Workspace) -> None:
    lead = await new_lead(ws)
    conv = await thread(ws, lead)
    await mark_read(ws, conv)
    results = await asyncio.gather(*(inbound(ws, lead, f"burst {n}") for n in range(8)))
    assert all(r.status_code == 201 for r in results)
    assert await unread(ws, conv) == 8
    # Reads racing inbound: whatever the interleaving, one more inbound after them all counts 1.
    await asyncio.gather(
        *(inbound(ws, lead, f"race {n}") for n in range(4)),
        *(mark_read(ws, conv) for _ in range(4)),
    )
    assert await unread(ws, conv) <= 4
    await mark_read(ws, conv)
    await thread(ws, lead)
    assert await unread(ws, conv) == 1


async def _unread_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    """A conversation with an unread inbound message (on the scenario's lead)."""
    body = {"lead_id": ids["lead"], "text": "hello"}
    message = await created(ws, "/api/v1/test_helpers/whatsapp/inbound", body)
    return {"conv": message["conversation_id"]}


# The twin of marking a conversation read, for tests/api/test_operation_parity.py.
PARITY = {
    "conversations.mark_read": Twin(
        lambda ids: ("POST", f"/api/v1/conversations/{ids['conv']}/read", None),
        lambda ids: (
            "mutation($id: ID!) { markConversationRead(id: $id) { id unreadCount } }",
            {"id": ids["conv"]},
        ),
        setup=_unread_setup,
    ),
}
