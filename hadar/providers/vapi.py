"""Vapi outbound calls with an ElevenLabs voice: `POST {base}/call`, `GET {base}/call/{id}`.

`CreateCallDTO` has no top-level `metadata` and Vapi rejects unknown properties ("property
metadata should not exist"), so correlation ids ride in `assistant.metadata` (transient
assistant) or `assistantOverrides.metadata` (saved assistant), and come back on every server
message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from hadar.providers import http
from hadar.providers.inbound.vapi import call_report
from hadar.providers.ports import CallReport, CallStarted, ProviderError, TransientAssistant

PROVIDER = "vapi"
DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"  # ElevenLabs' stock "Rachel" voice
MODEL = {"provider": "openai", "model": "gpt-4o"}
SERVER_MESSAGES = ["status-update", "end-of-call-report"]


class VapiVoice:
    """The voice port over Vapi for one tenant's account and phone number."""

    provider = PROVIDER

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        phone_number_id: str,
        voice_id: str | None = None,
    ) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._phone_number_id = phone_number_id
        self._voice_id = voice_id or DEFAULT_VOICE_ID

    def __repr__(self) -> str:
        return f"VapiVoice(base={self._base!r})"  # never the key

    async def create_call(
        self,
        *,
        to: str,
        name: str | None,
        assistant_id: str | None,
        assistant: TransientAssistant | None,
        server_url: str | None,
        metadata: Mapping[str, str],
    ) -> CallStarted:
        """Place one outbound call; 201 gives the provider call id."""
        body = self.call_body(
            to=to,
            name=name,
            assistant_id=assistant_id,
            assistant=assistant,
            server_url=server_url,
            metadata=metadata,
        )
        answer = await self._request("POST", "/call", json=body)
        call_id = answer.body.get("id") if isinstance(answer.body, dict) else None
        if not isinstance(call_id, str) or not call_id:
            raise http.malformed(PROVIDER, answer)
        status = answer.body.get("status")
        return CallStarted(call_id, status if isinstance(status, str) else "queued")

    async def get_call(self, *, provider_call_id: str) -> CallReport:
        """Read a call back (reconciles a missing end-of-call-report)."""
        answer = await self._request("GET", f"/call/{quote(provider_call_id, safe='')}")
        report = call_report(answer.body)
        if report is None:
            raise http.malformed(PROVIDER, answer)
        return report

    def call_body(
        self,
        *,
        to: str,
        name: str | None,
        assistant_id: str | None,
        assistant: TransientAssistant | None,
        server_url: str | None,
        metadata: Mapping[str, str],
    ) -> dict[str, Any]:
        """The JSON for `POST /call` (public so a test can read the exact shape)."""
        if (assistant_id is None) == (assistant is None):
            raise ValueError("exactly one of assistant_id and assistant")
        customer = {"number": to, **({"name": name} if name else {})}
        body: dict[str, Any] = {"phoneNumberId": self._phone_number_id, "customer": customer}
        server = {"url": server_url} if server_url else None
        if assistant_id is not None:
            body["assistantId"] = assistant_id
            overrides: dict[str, Any] = {"metadata": dict(metadata)}
            if server:
                overrides["server"] = server
            body["assistantOverrides"] = overrides
            return body
        assert assistant is not None
        transient: dict[str, Any] = {
            "firstMessage": assistant.first_message,
            "model": {
                **MODEL,
                "messages": [{"role": "system", "content": assistant.agent_prompt}],
            },
            "voice": {"provider": "11labs", "voiceId": assistant.voice_id or self._voice_id},
            "serverMessages": SERVER_MESSAGES,
            "metadata": dict(metadata),
        }
        if server:
            transient["server"] = server
        body["assistant"] = transient
        return body

    async def _request(self, method: str, path: str, json: Any = None) -> http.Answer:
        answer = await http.call(
            self._client,
            method,
            self._base + path,
            provider=PROVIDER,
            headers={"Authorization": f"Bearer {self._key}"},
            json=json,
        )
        if answer.ok:
            return answer
        raise error_from(answer, secrets=[self._key])


def error_from(answer: http.Answer, *, secrets: list[str]) -> ProviderError:
    """400 is ours to fix (NestJS validation: `message` a list of strings); the rest is Vapi's."""
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 400 and body:
        message = body.get("message")
        parts = message if isinstance(message, list) else [message]
        text = "; ".join(http.text_of(part) for part in parts if part) or "Vapi refused the call."
        text = http.scrub(text, secrets)
        return ProviderError(
            kind="invalid",
            provider=PROVIDER,
            code="bad_request",
            title=text[:300],
            message=f"Vapi refused the call: {text}",
            status_code=400,
        )
    if answer.body is None and answer.status < 500:
        return http.malformed(PROVIDER, answer)
    return http.http_failure(PROVIDER, answer)
