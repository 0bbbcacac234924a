"""UltraMsg (a WhatsApp Web gateway): `POST {base}/{instance_id}/messages/chat`, form-encoded.

UltraMsg answers HTTP 200 even when nothing was sent, so success is read from the body alone:
`sent` is "true" (a string; some accounts send a boolean) and `id` is non-empty. Anything else,
including `"sent": "queued"` and `"sent": "false"` while the phone is disconnected (UltraMsg
then queues and burst-sends later), is a failure carrying the provider's own text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from hadar.providers import http
from hadar.providers.ports import ProviderError, Sent, TemplateSubmission

PROVIDER = "ultramsg"


class UltraMsgWhatsApp:
    """The WhatsApp port over one UltraMsg instance (`instance1150`)."""

    provider = PROVIDER

    def __init__(
        self, client: httpx.AsyncClient, *, base_url: str, instance_id: str, token: str
    ) -> None:
        self._client = client
        self._url = f"{base_url.rstrip('/')}/{instance_id}/messages/chat"
        self._token = token

    def __repr__(self) -> str:
        return f"UltraMsgWhatsApp(url={self._url!r})"  # never the token

    async def send_text(self, *, to: str, text: str) -> Sent:
        """Send text to an E.164 number."""
        answer = await http.call(
            self._client,
            "POST",
            self._url,
            provider=PROVIDER,
            data={"token": self._token, "to": to, "body": text},
        )
        return _sent(answer, secrets=[self._token])

    async def send_template(
        self, *, to: str, name: str, language: str, parameters: Sequence[str], body_text: str
    ) -> Sent:
        """UltraMsg has no templates: send the rendered text (the window rule is the caller's)."""
        return await self.send_text(to=to, text=body_text)

    async def submit_template(
        self, *, name: str, language: str, category: str, body: str, examples: Sequence[str]
    ) -> TemplateSubmission:
        """Nothing to submit: UltraMsg sends a template as its rendered text, which nobody
        reviews, so the template is usable at once (no network call)."""
        return TemplateSubmission(PROVIDER, None, "APPROVED")

    async def find_template(self, *, name: str, language: str) -> TemplateSubmission | None:
        """No templates are held here: nothing to find."""
        return None


def _sent(answer: http.Answer, *, secrets: Sequence[str]) -> Sent:
    body = answer.body
    if not isinstance(body, dict):
        if answer.status >= 500:
            raise http.http_failure(PROVIDER, answer)
        raise http.malformed(PROVIDER, answer)
    sent = body.get("sent")
    message_id = body.get("id")
    if (sent == "true" or sent is True) and message_id not in (None, "", 0):
        return Sent(PROVIDER, str(message_id))
    reason = http.scrub(error_text(body), secrets) or f"UltraMsg answered HTTP {answer.status}."
    raise ProviderError(
        kind="unavailable",
        provider=PROVIDER,
        code=f"http_{answer.status}" if answer.status != 200 else "not_sent",
        title=reason,
        outage=answer.status >= 500,
        status_code=answer.status,
    )


def error_text(body: dict[str, Any]) -> str:
    """UltraMsg's reason, whichever shape it came in: a string, a list of `{field: "is
    required"}`, or `{"sent": "false", "message": ...}`."""
    error = body.get("error")
    if isinstance(error, list):
        parts: list[str] = []
        for item in error:
            if isinstance(item, dict):
                parts.extend(f"{key} {http.text_of(value)}" for key, value in item.items())
            else:
                parts.append(http.text_of(item))
        return http.text_of("; ".join(parts))
    if error:
        return http.text_of(error)
    message = body.get("message")
    sent = body.get("sent")
    if message and message != "ok":
        return http.text_of(message)
    return f"UltraMsg did not send the message (sent={http.text_of(sent) or 'missing'})."
