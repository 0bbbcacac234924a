"""The Vapi adapter against the fake: call shapes (no top-level metadata), errors, reading back."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from hadar.providers.ports import ProviderError, TransientAssistant
from hadar.providers.vapi import DEFAULT_VOICE_ID, VapiVoice
from tests.fakes import FakeVapi, Fault
from tests.fakes.vapi import API_KEY, PHONE_NUMBER_ID
from tests.providers.conftest import READ_TIMEOUT, fixture

TO = "+971501234567"
META = {"call_id": "call_01J00000000000000000000000", "lead_id": "lead_01J0", "tenant": "t-1"}
HOOK = "https://hadar.example/api/v1/calls/inbound/vapi/int_01J"


def adapter(client: httpx.AsyncClient, fake: FakeVapi, key: str = API_KEY) -> VapiVoice:
    return VapiVoice(
        client, base_url=fake.url, api_key=key, phone_number_id=PHONE_NUMBER_ID, voice_id=None
    )


async def test_a_transient_assistant_call_in_vapis_shape(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    assistant = TransientAssistant(
        first_message="Hi Sara, this is Layla from Marina Homes.",
        agent_prompt="You are a polite real-estate assistant.",
        voice_id="voice-abc",
    )
    started = await adapter(http_client, vapi).create_call(
        to=TO,
        name="Sara Khan",
        assistant_id=None,
        assistant=assistant,
        server_url=HOOK,
        metadata=META,
    )
    (request,) = vapi.requests
    assert (request.method, request.path) == ("POST", "/call")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = request.json
    assert "metadata" not in body  # Vapi rejects a top-level metadata
    assert body["phoneNumberId"] == PHONE_NUMBER_ID
    assert body["customer"] == {"number": TO, "name": "Sara Khan"}
    transient = body["assistant"]
    assert transient["firstMessage"] == assistant.first_message
    assert transient["model"]["messages"] == [{"role": "system", "content": assistant.agent_prompt}]
    assert transient["voice"] == {"provider": "11labs", "voiceId": "voice-abc"}
    assert transient["server"] == {"url": HOOK}
    assert transient["metadata"] == META
    assert started.provider_call_id in vapi.calls
    assert started.status == "queued"


async def test_a_saved_assistant_carries_metadata_in_its_overrides(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    await adapter(http_client, vapi).create_call(
        to=TO, name=None, assistant_id="asst-1", assistant=None, server_url=HOOK, metadata=META
    )
    body = vapi.requests[0].json
    assert body == {
        "phoneNumberId": PHONE_NUMBER_ID,
        "customer": {"number": TO},
        "assistantId": "asst-1",
        "assistantOverrides": {"metadata": META, "server": {"url": HOOK}},
    }


async def test_the_default_voice_is_elevenlabs(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    assistant = TransientAssistant(first_message="Hi", agent_prompt="Be brief.")
    await adapter(http_client, vapi).create_call(
        to=TO, name=None, assistant_id=None, assistant=assistant, server_url=None, metadata={}
    )
    transient = vapi.requests[0].json["assistant"]
    assert transient["voice"] == {"provider": "11labs", "voiceId": DEFAULT_VOICE_ID}
    assert "server" not in transient


async def test_a_top_level_metadata_is_refused_by_the_fake_like_vapi(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    body = {"phoneNumberId": "p", "customer": {"number": TO}, "assistantId": "a", "metadata": {}}
    answer = await http_client.post(
        f"{vapi.url}/call", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == ["property metadata should not exist"]


async def test_a_400_message_list_is_invalid_with_a_joined_message(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, vapi).create_call(
            to="0501234567",
            name=None,
            assistant_id="a",
            assistant=None,
            server_url=None,
            metadata={},
        )
    error = caught.value
    assert (error.kind, error.provider, error.outage) == ("invalid", "vapi", False)
    assert "E.164" in error.message
    vapi.fail_next(Fault(status=400, body=fixture("vapi_error_400")))
    vapi.fail_next(Fault(status=400, body={"message": ["a is wrong", "b is missing"]}))
    for expected in ("customer.number must be a valid phone number", "a is wrong; b is missing"):
        with pytest.raises(ProviderError) as again:
            await adapter(http_client, vapi).create_call(
                to=TO, name=None, assistant_id="a", assistant=None, server_url=None, metadata={}
            )
        assert expected in again.value.message


@pytest.mark.parametrize(
    ("fault", "code", "outage"),
    [
        (
            Fault(status=500, body={"message": "Internal server error", "statusCode": 500}),
            "http_500",
            True,
        ),
        (Fault(status=404, body={"message": "Not Found", "statusCode": 404}), "http_404", False),
        (Fault(status=None, delay=READ_TIMEOUT * 3), "timeout", True),
        (Fault(status=201, body=b"not json"), "malformed", True),
        (Fault(status=201, body={"status": "queued"}), "malformed", True),
    ],
)
async def test_other_failures_are_unavailable(
    http_client: httpx.AsyncClient, vapi: FakeVapi, fault: Fault, code: str, outage: bool
) -> None:
    vapi.fail_next(fault)
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, vapi).create_call(
            to=TO, name=None, assistant_id="a", assistant=None, server_url=None, metadata={}
        )
    assert (caught.value.kind, caught.value.code, caught.value.outage) == (
        "unavailable",
        code,
        outage,
    )


async def test_a_bad_key_is_unavailable_and_never_quoted(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    with pytest.raises(ProviderError) as caught:
        await adapter(http_client, vapi, key="wrong-key").create_call(
            to=TO, name=None, assistant_id="a", assistant=None, server_url=None, metadata={}
        )
    assert (caught.value.kind, caught.value.code) == ("unavailable", "http_401")
    assert "wrong-key" not in str(caught.value)


async def test_get_call_reads_the_ended_call_back(
    http_client: httpx.AsyncClient, vapi: FakeVapi
) -> None:
    port = adapter(http_client, vapi)
    started = await port.create_call(
        to=TO, name=None, assistant_id="a", assistant=None, server_url=None, metadata=META
    )
    queued = await port.get_call(provider_call_id=started.provider_call_id)
    assert (queued.status, queued.transcript) == ("queued", None)
    vapi.end_call(started.provider_call_id, summary="Confirmed Tuesday.", transcript="AI: hi")
    report = await port.get_call(provider_call_id=started.provider_call_id)
    assert report.status == "ended"
    assert report.ended_reason == "customer-ended-call"
    assert (report.summary, report.transcript) == ("Confirmed Tuesday.", "AI: hi")
    assert report.recording_url == "https://storage.vapi.ai/fake-mono.wav"
    assert report.duration_seconds == 150.0
    assert report.started_at == datetime(2026, 10, 14, 13, 0, 2, tzinfo=UTC)
    assert report.metadata == META
    with pytest.raises(ProviderError) as missing:
        await port.get_call(provider_call_id="no-such-call")
    assert missing.value.code == "http_404"
