"""Meta WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages`, and template
submission to the WhatsApp Business Account, `POST {base}/{version}/{waba_id}/message_templates`.

Meta says to key on `error.code`, never on the HTTP status (captures show 130429 as both 400
and 429, 132001 as 400 and 404), so the mapping below reads the code first; the status only
decides whether an answer without a readable error is an outage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from hadar.providers import http
from hadar.providers.ports import ErrorKind, ProviderError, Sent, TemplateSubmission

PROVIDER = "meta"
DEFAULT_VERSION = "v23.0"

OUTSIDE_WINDOW = frozenset({131047})
INVALID = frozenset({132000, 132001, 132012, 100})
# Meta's own "unknown error / service unavailable / temporary downtime": the provider is unwell.
OUTAGE_CODES = frozenset({1, 2, 131000, 131016})

# error_subcode of code 100 when the account already has this name in this language ("Content
# in This Language Already Exists"): a clash, not a malformed request.
TEMPLATE_EXISTS = frozenset({2388024})

_TITLE_PREFIX = re.compile(r"^\(#\d+\)\s*")


class MetaWhatsApp:
    """The WhatsApp port over Meta's Cloud API for one tenant's phone number."""

    provider = PROVIDER

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        version: str = DEFAULT_VERSION,
        business_account_id: str | None = None,
    ) -> None:
        self._client = client
        self._url = f"{base_url.rstrip('/')}/{version}/{phone_number_id}/messages"
        self._templates_url = (
            f"{base_url.rstrip('/')}/{version}/{business_account_id}/message_templates"
            if business_account_id
            else None
        )
        self._token = access_token

    def __repr__(self) -> str:
        return f"MetaWhatsApp(url={self._url!r})"  # never the token

    async def send_text(self, *, to: str, text: str) -> Sent:
        """Send session text (only valid inside the 24 h window; Meta answers 131047 outside)."""
        payload = {
            **_envelope(to),
            "type": "text",
            "text": {"body": text, "preview_url": False},
        }
        return await self._send(payload, field="message.text")

    async def send_template(
        self, *, to: str, name: str, language: str, parameters: Sequence[str], body_text: str
    ) -> Sent:
        """Send an approved template; parameters fill the body placeholders in order."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if parameters:
            template["components"] = [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in parameters],
                }
            ]
        payload = {**_envelope(to), "type": "template", "template": template}
        return await self._send(payload, field="message.template")

    async def submit_template(
        self, *, name: str, language: str, category: str, body: str, examples: Sequence[str]
    ) -> TemplateSubmission:
        """Submit a body-only template for Meta's review; its answer `{id, status, category}`."""
        if self._templates_url is None:
            raise ProviderError(
                kind="invalid",
                provider=PROVIDER,
                code="no_business_account",
                title="The integration names no business_account_id.",
                field="integration.business_account_id",
            )
        component: dict[str, Any] = {"type": "BODY", "text": body}
        if examples:
            component["example"] = {"body_text": [list(examples)]}
        payload = {
            "name": name,
            "language": language,
            "category": category.upper(),
            "components": [component],
        }
        answer = await http.call(
            self._client,
            "POST",
            self._templates_url,
            provider=PROVIDER,
            headers={"Authorization": f"Bearer {self._token}"},
            json=payload,
        )
        if not answer.ok:
            raise error_from(answer, field="template", secrets=[self._token])
        return _submitted(answer)

    async def find_template(self, *, name: str, language: str) -> TemplateSubmission | None:
        """Meta's template of this name and language (`GET message_templates?name=`), or None."""
        if self._templates_url is None:
            return None
        query = urlencode({"name": name, "fields": "id,name,language,status,category,components"})
        answer = await http.call(
            self._client,
            "GET",
            f"{self._templates_url}?{query}",
            provider=PROVIDER,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if not answer.ok:
            raise error_from(answer, field="template", secrets=[self._token])
        found = answer.body.get("data") if isinstance(answer.body, dict) else None
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict) and (item.get("name"), item.get("language")) == (
                name,
                language,
            ):
                return _read_back(item, answer)
        return None

    async def _send(self, payload: dict[str, Any], *, field: str) -> Sent:
        answer = await http.call(
            self._client,
            "POST",
            self._url,
            provider=PROVIDER,
            headers={"Authorization": f"Bearer {self._token}"},
            json=payload,
        )
        if answer.ok:
            return _sent(answer)
        raise error_from(answer, field=field, secrets=[self._token])


def _envelope(to: str) -> dict[str, str]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.removeprefix("+"),  # Meta's examples: international digits without '+'
    }


def _sent(answer: http.Answer) -> Sent:
    body = answer.body if isinstance(answer.body, dict) else {}
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    wamid = first.get("id") if isinstance(first, dict) else None
    if not isinstance(wamid, str) or not wamid:
        raise http.malformed(PROVIDER, answer)
    contacts = body.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else None
    wa_id = contact.get("wa_id") if isinstance(contact, dict) else None
    return Sent(PROVIDER, wamid, wa_id if isinstance(wa_id, str) else None)


def _read_back(item: dict[str, Any], answer: http.Answer) -> TemplateSubmission:
    components = item.get("components")
    texts = [
        c.get("text")
        for c in (components if isinstance(components, list) else [])
        if isinstance(c, dict) and c.get("type") == "BODY"
    ]
    found = _submitted(http.Answer(answer.status, answer.headers, item))
    body = texts[0] if texts and isinstance(texts[0], str) else None
    return TemplateSubmission(
        found.provider, found.provider_template_id, found.status, found.category, body
    )


def _submitted(answer: http.Answer) -> TemplateSubmission:
    body = answer.body if isinstance(answer.body, dict) else {}
    template_id, status = body.get("id"), body.get("status")
    # Graph ids are strings of digits; an integer is read the same way.
    if isinstance(template_id, int) and not isinstance(template_id, bool):
        template_id = str(template_id)
    if not isinstance(template_id, str) or not template_id or not isinstance(status, str):
        raise http.malformed(PROVIDER, answer)
    category = body.get("category")
    return TemplateSubmission(
        PROVIDER,
        template_id[:64],
        status.upper(),
        category.lower() if isinstance(category, str) else None,
    )


def classify(code: int) -> tuple[ErrorKind, bool]:
    """Meta error code -> (kind, outage), per SPEC 9."""
    if code in OUTSIDE_WINDOW:
        return "outside_window", False
    if code in INVALID:
        return "invalid", False
    return "unavailable", code in OUTAGE_CODES


def error_from(answer: http.Answer, *, field: str, secrets: Sequence[str]) -> ProviderError:
    """The ProviderError for a non-2xx answer, keyed on `error.code`."""
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(error, dict) or not isinstance(code, int) or isinstance(code, bool):
        if answer.body is None and answer.status < 500:
            return http.malformed(PROVIDER, answer)
        return http.http_failure(PROVIDER, answer)
    kind, outage = classify(code)
    if error.get("error_subcode") in TEMPLATE_EXISTS:
        kind, field = "conflict", "template.name"
    raw_title = http.text_of(error.get("message"))
    title = http.scrub(_TITLE_PREFIX.sub("", raw_title) or f"Meta error {code}", secrets)
    data = error.get("error_data")
    details = http.text_of(data.get("details")) if isinstance(data, dict) else ""
    # Template refusals explain themselves in error_user_msg rather than error_data.
    details = details or http.text_of(error.get("error_user_msg"))
    return ProviderError(
        kind=kind,
        provider=PROVIDER,
        code=code,
        title=title,
        message=http.scrub(f"{title}: {details}" if details else title, secrets),
        field=field if kind in ("invalid", "conflict") else None,
        outage=outage or answer.status >= 500,
        status_code=answer.status,
    )
