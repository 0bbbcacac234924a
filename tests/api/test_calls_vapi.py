"""Live calls against the local fake Vapi (real HTTP on loopback): the request shape, each
error path, the breaker, exactly-once under Idempotency-Key, server messages (both report
shapes, forged secrets, duplicates, reordering) and the reconciliation of a lost report."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from hadar import clock
from hadar.domain.calls import Call
from hadar.domain.conversations import Conversation, Message
from hadar.domain.webhooks import Event
from hadar.providers import registry
from hadar.providers.factory import ProviderFactory
from hadar.providers.http import new_client
from hadar.services import call_reports
from hadar.settings import Settings
from tests.api.test_calls import error_of, new_lead, place
from tests.conftest import Workspace
from tests.fakes import FakeVapi, Fault
from tests.fakes.vapi import API_KEY, PHONE_NUMBER_ID, nest_error

VOICE = "eleven-voice-test-01"


class ShortTimeouts(ProviderFactory):
    """The app's factory with a 0.3 s read timeout, so a scripted delay is a timeout."""

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = new_client(connect=1.0, read=0.3)
        return self._client


@pytest.fixture
async def vapi(settings: Settings) -> AsyncIterator[FakeVapi]:
    async with FakeVapi() as fake:
        previous = registry.current()
        factory = ShortTimeouts(dataclasses.replace(settings, vapi_url=fake.url))
        registry.install(factory)
        try:
            yield fake
        finally:
            registry.install(previous)
            await factory.aclose()


async def connect(ws: Workspace, fake: FakeVapi, **over: Any) -> dict[str, Any]:
    body = {"api_key": API_KEY, "phone_number_id": PHONE_NUMBER_ID, "voice_id": VOICE, **over}
    r = await ws.request("PUT", "/api/v1/integrations/vapi", env="live", json=body)
    assert r.status_code == 200, r.text
    integration = r.json()["data"]
    fake.secret = integration["webhook_token"]
    return dict(integration)


async def live_call(ws: Workspace, fake: FakeVapi) -> tuple[dict[str, Any], dict[str, Any]]:
    lead = await new_lead(ws, env="live")
    r = await place(ws, lead["id"], env="live")
    assert r.status_code == 201, r.text
    return lead, r.json()["data"]


def creates(fake: FakeVapi) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/call"]


async def deliver(ws: Workspace, integration: dict[str, Any], body: bytes, **headers: str) -> Any:
    path = "/api/v1/calls/inbound/vapi/" + integration["id"]
    return await ws.client.post(path, content=body, headers=headers)


async def report(ws: Workspace, integration: dict[str, Any], fake: FakeVapi, body: bytes) -> Any:
    r = await deliver(ws, integration, body, **fake.headers())
    assert r.status_code == 200, r.text
    return r


async def stored(call_id: str) -> Call:
    return await Call.get(id=call_id)


async def test_request_shape_transient_assistant_with_elevenlabs(
    ws: Workspace, vapi: FakeVapi
) -> None:
    integration = await connect(ws, vapi)
    lead = await new_lead(ws, env="live")
    body = {"lead_id": lead["id"], "agent_prompt": "Offer a viewing.", "first_message": "Hi!"}
    r = await ws.request("POST", "/api/v1/calls", env="live", json=body)
    assert r.status_code == 201, r.text
    call = r.json()["data"]
    assert call["status"] == "queued" and call["provider"] == "vapi"
    (sent,) = creates(vapi)
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert "metadata" not in sent.json  # Vapi rejects a top-level metadata
    assert sent.json["phoneNumberId"] == PHONE_NUMBER_ID
    assert sent.json["customer"] == {"number": lead["phone"], "name": lead["name"]}
    assistant = sent.json["assistant"]
    assert assistant["voice"] == {"provider": "11labs", "voiceId": VOICE}
    assert assistant["server"] == {"url": integration["webhook_url"]}
    assert assistant["firstMessage"] == "Hi!"
    assert assistant["model"]["messages"] == [{"role": "system", "content": "Offer a viewing."}]
    assert assistant["metadata"]["call_id"] == call["id"]
    assert assistant["metadata"]["lead_id"] == lead["id"]
    assert "assistantId" not in sent.json
    row = await stored(call["id"])
    assert row.provider_call_id in vapi.calls


async def test_saved_assistant_carries_ids_in_its_overrides(ws: Workspace, vapi: FakeVapi) -> None:
    await connect(ws, vapi, assistant_id="asst-saved-1")
    _, call = await live_call(ws, vapi)
    (sent,) = creates(vapi)
    assert sent.json["assistantId"] == "asst-saved-1"
    assert "assistant" not in sent.json and "metadata" not in sent.json
    assert sent.json["assistantOverrides"]["metadata"]["call_id"] == call["id"]


async def test_live_key_without_vapi_is_409_naming_the_integration(
    ws: Workspace, vapi: FakeVapi
) -> None:
    lead = await new_lead(ws, env="live")
    error = error_of(await place(ws, lead["id"], env="live"), 409, "conflict")
    assert "PUT /api/v1/integrations/vapi" in error["message"]
    assert vapi.requests == []


async def test_vapi_400_is_a_clear_validation_error(ws: Workspace, vapi: FakeVapi) -> None:
    await connect(ws, vapi)
    lead = await new_lead(ws, env="live")
    refusal = nest_error(400, ["assistant.voice.voiceId must be a valid voice"], "Bad Request")
    vapi.fail_next(Fault(status=400, body=refusal))
    error = error_of(await place(ws, lead["id"], env="live"), 400, "validation_error")
    assert "assistant.voice.voiceId must be a valid voice" in error["message"]
    assert API_KEY not in error["message"]
    assert await Call.filter(lead_id=lead["id"]).count() == 0


async def test_timeouts_and_5xx_are_503_then_the_breaker_opens(
    ws: Workspace, vapi: FakeVapi
) -> None:
    await connect(ws, vapi)
    lead = await new_lead(ws, env="live")
    vapi.fail_next(Fault(status=None, delay=0.6))  # longer than the 0.3 s read timeout
    vapi.fail_next(Fault(status=502), times=2)
    vapi.fail_next(Fault(status=500), times=2)
    for _ in range(5):
        error_of(await place(ws, lead["id"], env="live"), 503, "service_unavailable")
    assert len(creates(vapi)) == 5
    # Open: refused at once, without a network call.
    error_of(await place(ws, lead["id"], env="live"), 503, "service_unavailable")
    assert len(creates(vapi)) == 5
    assert await Call.filter(lead_id=lead["id"]).count() == 0
    later = clock.now() + timedelta(seconds=31)
    clock.set_clock(lambda: later)
    try:
        assert (await place(ws, lead["id"], env="live")).status_code == 201  # the probe
    finally:
        clock.set_clock(None)
    assert len(creates(vapi)) == 6


async def test_idempotency_key_calls_vapi_at_most_once(ws: Workspace, vapi: FakeVapi) -> None:
    await connect(ws, vapi)
    lead = await new_lead(ws, env="live")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await place(ws, lead["id"], env="live", headers=key)
    again = await place(ws, lead["id"], env="live", headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    # Concurrent retries of one key: one runs, the others replay or are told to retry.
    other = {"Idempotency-Key": str(uuid.uuid4())}
    answers = await asyncio.gather(
        *(place(ws, lead["id"], env="live", headers=other) for _ in range(4))
    )
    assert {a.status_code for a in answers} <= {201, 409}
    assert len(creates(vapi)) == 2
    assert await Call.filter(lead_id=lead["id"]).count() == 2


async def test_status_updates_then_current_report(ws: Workspace, vapi: FakeVapi) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    integration = await connect(ws, vapi)
    lead, call = await live_call(ws, vapi)
    provider_id = str((await stored(call["id"])).provider_call_id)
    for status, ours in (("ringing", "ringing"), ("in-progress", "in_progress")):
        await report(ws, integration, vapi, vapi.status_update(provider_id, status))
        assert (await stored(call["id"])).status == ours
    await report(ws, integration, vapi, vapi.status_update(provider_id, "ringing"))  # late
    assert (await stored(call["id"])).status == "in_progress"
    await report(ws, integration, vapi, vapi.end_call(provider_id))
    got = (await ws.request("GET", f"/api/v1/calls/{call['id']}", env="live")).json()["data"]
    assert got["status"] == "ended" and got["ended_reason"] == "customer-ended-call"
    assert got["summary"] == "Lead confirmed Tuesday 5pm viewing."
    assert got["transcript"].startswith("AI: Hi Sara")
    assert got["recording_url"] == "https://storage.vapi.ai/fake-mono.wav"
    assert got["duration_seconds"] == 150
    assert got["ended_at"] == "2026-10-14T13:02:32.000Z"
    conversation = await Conversation.get(lead_id=lead["id"], channel="voice")
    texts = await Message.filter(conversation_id=conversation.id).values_list("text", flat=True)
    assert sorted(texts) == sorted([got["summary"], got["transcript"]])
    assert await Event.filter(type="call.completed", payload__contains=call["id"]).count() == 1


async def test_legacy_report_shape(ws: Workspace, vapi: FakeVapi) -> None:
    integration = await connect(ws, vapi)
    _, call = await live_call(ws, vapi)
    provider_id = str((await stored(call["id"])).provider_call_id)
    body = vapi.end_call(provider_id, summary="Old shape summary", legacy=True)
    await report(ws, integration, vapi, body)
    row = await stored(call["id"])
    assert row.summary == "Old shape summary" and row.transcript
    assert row.recording_url == "https://storage.vapi.ai/fake-mono.wav"


async def test_a_report_that_failed_the_call(ws: Workspace, vapi: FakeVapi) -> None:
    integration = await connect(ws, vapi)
    _, call = await live_call(ws, vapi)
    provider_id = str((await stored(call["id"])).provider_call_id)
    await report(ws, integration, vapi, vapi.end_call(provider_id, ended_reason="customer-busy"))
    assert (await stored(call["id"])).status == "failed"


async def test_forged_or_missing_secret_is_401_and_nothing_stored(
    ws: Workspace, vapi: FakeVapi
) -> None:
    integration = await connect(ws, vapi)
    _, call = await live_call(ws, vapi)
    provider_id = str((await stored(call["id"])).provider_call_id)
    body = vapi.end_call(provider_id)
    for headers in ({"X-Vapi-Secret": "forged"}, {}, {"X-Vapi-Secret": ""}):
        r = await deliver(ws, integration, body, **headers)
        error_of(r, 401, "unauthorized")
    unknown = {**integration, "id": "int_01HMNZ0000000000000000000Z"}
    error_of(await deliver(ws, unknown, body, **vapi.headers()), 401, "unauthorized")
    row = await stored(call["id"])
    assert row.status == "queued" and row.summary is None and row.report_received_at is None
    assert await Event.filter(type="call.completed", payload__contains=call["id"]).count() == 0


async def test_duplicated_reports_change_nothing(ws: Workspace, vapi: FakeVapi) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    integration = await connect(ws, vapi)
    lead, call = await live_call(ws, vapi)
    provider_id = str((await stored(call["id"])).provider_call_id)
    body = vapi.end_call(provider_id)
    await report(ws, integration, vapi, body)
    first = await stored(call["id"])
    answers = await asyncio.gather(
        *(deliver(ws, integration, body, **vapi.headers()) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200] * 3
    again = await stored(call["id"])
    assert again.report_received_at == first.report_received_at
    assert await Message.filter(lead_id=lead["id"]).count() == 2
    assert await Event.filter(type="call.completed", payload__contains=call["id"]).count() == 1
    # A status update after the end changes nothing either.
    await report(ws, integration, vapi, vapi.status_update(provider_id, "in-progress"))
    assert (await stored(call["id"])).status == "ended"


async def test_unknown_calls_and_types_are_accepted_and_ignored(
    ws: Workspace, vapi: FakeVapi
) -> None:
    integration = await connect(ws, vapi)
    await report(ws, integration, vapi, vapi.status_update(str(uuid.uuid4()), "ringing"))
    await report(ws, integration, vapi, b'{"message": {"type": "speech-update"}}')
    await report(ws, integration, vapi, b"not json")


async def test_a_lost_report_is_reconciled_after_15_minutes(ws: Workspace, vapi: FakeVapi) -> None:
    await ws.subscribe()  # events are recorded only for a subscriber
    await connect(ws, vapi)
    lead, call = await live_call(ws, vapi)
    row = await stored(call["id"])
    provider_id = str(row.provider_call_id)
    vapi.end_call(provider_id)  # ended at Vapi; the report is never delivered
    started: datetime = row.created_at
    reads = lambda: [r for r in vapi.requests if r.path == f"/call/{provider_id}"]  # noqa: E731
    await call_reports.reconcile_stale(now=started + timedelta(minutes=14))
    assert reads() == [] and (await stored(call["id"])).status == "queued"
    await call_reports.reconcile_stale(now=started + timedelta(minutes=16))
    assert len(reads()) == 1
    done = await stored(call["id"])
    assert done.status == "ended" and done.summary == "Lead confirmed Tuesday 5pm viewing."
    assert done.duration_seconds == 150
    assert await Message.filter(lead_id=lead["id"]).count() == 2
    assert await Event.filter(type="call.completed", payload__contains=call["id"]).count() == 1
    await call_reports.reconcile_stale(now=started + timedelta(minutes=30))
    assert len(reads()) == 1  # reconciled calls are not read again


async def test_a_test_key_never_reaches_vapi(ws: Workspace, vapi: FakeVapi) -> None:
    await connect(ws, vapi)
    lead = await new_lead(ws)
    r = await place(ws, lead["id"])
    assert r.status_code == 201 and r.json()["data"]["status"] == "ended"
    assert vapi.requests == []


async def test_a_call_vapi_cannot_find_is_given_up_after_a_day(
    ws: Workspace, vapi: FakeVapi
) -> None:
    await connect(ws, vapi)
    _, call = await live_call(ws, vapi)
    row = await stored(call["id"])
    vapi.calls.pop(str(row.provider_call_id))  # Vapi answers 404 from now on
    await call_reports.reconcile_stale(now=row.created_at + timedelta(hours=1))
    assert (await stored(call["id"])).status == "queued"  # tried again later
    await call_reports.reconcile_stale(now=row.created_at + timedelta(hours=25))
    gone = await stored(call["id"])
    assert gone.status == "failed" and gone.ended_reason == call_reports.GAVE_UP_REASON
    assert await Event.filter(type="call.completed", payload__contains=call["id"]).count() == 0


async def test_one_integrations_secret_never_touches_another_tenants_call(
    ws: Workspace, vapi: FakeVapi, client: httpx.AsyncClient
) -> None:
    theirs = Workspace(client, ws.slug + "-b")
    await connect(theirs, vapi)
    _, call = await live_call(theirs, vapi)
    provider_id = str((await stored(call["id"])).provider_call_id)
    mine = await connect(ws, vapi)  # the fake now signs with this workspace's secret
    await report(ws, mine, vapi, vapi.end_call(provider_id))
    row = await stored(call["id"])
    assert row.status == "queued" and row.report_received_at is None
