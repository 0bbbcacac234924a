"""A fake Meta WhatsApp Cloud API (PROVIDERS.md 1.7): `POST /{version}/{phone_number_id}/messages`
and `POST /{version}/{waba_id}/message_templates`.

Checks the Bearer token, `messaging_product`, and templates against a seeded store (unknown
name or language: 132001; wrong parameter count: 132000). Text to a number in `outside_window`
is accepted with a wamid, as Meta does, unless `window_errors_sync` is set (then 131047 at
once); the later `failed` status is built with `status_webhook`. Inbound webhooks are signed
like Meta signs them: HMAC-SHA256 with the app secret over the exact bytes.

Template submissions are checked as Meta checks them (name, language, category, one BODY whose
`{{1}}..{{n}}` are numbered from 1 without gaps, one example per placeholder, a name and
language not already taken: code 100 / subcode 2388024) and answered `{id, status, category}`
with `template_status` (PENDING unless a test sets APPROVED or REJECTED) and the category
sent, or `recategorise_to`. The stored template can then be sent; `template_review` builds the
`message_template_status_update` webhook Meta posts once it has decided.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tests.fakes.server import FakeProvider, Fault, Handler, Recorded, json_response

TOKEN = "EAAG-fake-meta-access-token-0123456789"
PHONE_NUMBER_ID = "106540352242922"
BUSINESS_ACCOUNT_ID = "419561257915477"
APP_SECRET = "fake-meta-app-secret"

# Meta says not to rely on the HTTP status; these are the defaults PROVIDERS.md suggests.
DEFAULT_STATUS = {190: 401, 10: 403, 200: 403, 1: 500, 2: 503, 131000: 500, 131016: 503}
TITLES = {
    100: "Invalid parameter",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131016: "Service unavailable",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132012: "Parameter format does not match format in the created template",
    190: "Invalid OAuth access token",
}


CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
_POSITIONAL = re.compile(r"\{\{(\d+)\}\}")


def error_body(
    code: int,
    title: str | None = None,
    details: str | None = None,
    *,
    subcode: int | None = None,
    user_msg: str | None = None,
) -> dict[str, Any]:
    """Meta's Graph error object for `code`."""
    error: dict[str, Any] = {
        "message": f"(#{code}) {title or TITLES.get(code, 'Error')}",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AQwErTyUiOp12345",
    }
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
        error["is_transient"] = False
    if user_msg:
        error["error_user_title"] = "Template refused"
        error["error_user_msg"] = user_msg
    return {"error": error}


def _template_problem(payload: Any) -> str | None:
    """What Meta's validation of a template submission objects to, or None."""
    if not isinstance(payload, dict):
        return "a JSON object is required"
    for name in ("name", "language", "category", "components"):
        if name not in payload:
            return f"{name} is required"
    if not isinstance(payload["name"], str) or not re.fullmatch(r"[a-z0-9_]+", payload["name"]):
        return "name may only hold lower-case letters, digits and underscores"
    if payload["category"] not in CATEGORIES:
        return f"category must be one of {', '.join(CATEGORIES)}"
    if not isinstance(payload["language"], str) or not payload["language"]:
        return "language is required"
    components = payload["components"]
    if not isinstance(components, list):
        return "components must be a list"
    bodies = [c for c in components if isinstance(c, dict) and c.get("type") == "BODY"]
    if len(bodies) != 1:
        return "exactly one BODY component is required"
    text = bodies[0].get("text")
    if not isinstance(text, str) or not text:
        return "BODY.text is required"
    if re.search(r"\{\{(?!\d+\}\})", text):
        return "BODY.text may only hold positional parameters {{1}}, {{2}}, ..."
    # As WhatsApp Manager numbers them (an assumption, PROVIDERS.md 6): 1, 2, ... in reading order.
    numbers = list(dict.fromkeys(int(n) for n in _POSITIONAL.findall(text)))
    if numbers != list(range(1, len(numbers) + 1)):
        return "parameters must be sequential, starting at {{1}}"
    if numbers:
        samples = (bodies[0].get("example") or {}).get("body_text")
        if (
            not isinstance(samples, list)
            or len(samples) != 1
            or not isinstance(samples[0], list)
            or len(samples[0]) != len(numbers)
            or not all(isinstance(v, str) and v for v in samples[0])
        ):
            return "example.body_text must give one sample per parameter"
    return None


class FakeMeta(FakeProvider):
    def __init__(
        self,
        *,
        token: str = TOKEN,
        phone_number_id: str = PHONE_NUMBER_ID,
        business_account_id: str = BUSINESS_ACCOUNT_ID,
    ) -> None:
        super().__init__()
        self.token = token
        self.phone_number_id = phone_number_id
        self.business_account_id = business_account_id
        self.app_secret = APP_SECRET
        self.templates: dict[tuple[str, str], int] = {
            ("viewing_confirmation_en", "en"): 3,
            ("viewing_confirmation_ar", "ar"): 3,
        }
        self.outside_window: set[str] = set()
        self.window_errors_sync = False
        self.sent: dict[str, dict[str, Any]] = {}
        # Submitted templates by (name, language): Meta's id and the body as submitted.
        self.submitted: dict[tuple[str, str], dict[str, Any]] = {}
        self.template_status = "PENDING"
        self.recategorise_to: str | None = None

    def routes(self) -> list[tuple[str, list[str], Handler]]:
        return [
            ("/{version}/{phone_number_id}/messages", ["POST"], self.messages),
            ("/{version}/{waba_id}/message_templates", ["POST"], self.message_templates),
            ("/{version}/{waba_id}/message_templates", ["GET"], self.list_templates),
        ]

    def fail_with(
        self, code: int, *, status: int | None = None, times: int = 1, details: str | None = None
    ) -> None:
        """Answer the next `times` sends with Meta error `code` (status per DEFAULT_STATUS)."""
        body = error_body(code, details=details)
        self.fail_next(Fault(status=status or DEFAULT_STATUS.get(code, 400), body=body), times)

    async def messages(self, recorded: Recorded, request: Request) -> Response:
        if recorded.headers.get("authorization") != f"Bearer {self.token}":
            return json_response(error_body(190), 401)
        if request.path_params["phone_number_id"] != self.phone_number_id:
            return json_response(error_body(100, "Unsupported post request"), 400)
        payload = recorded.json
        if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
            return json_response(error_body(100, details="messaging_product is required"), 400)
        to = payload.get("to")
        if not isinstance(to, str) or not to.isdigit():
            return json_response(error_body(100, details="to must be digits"), 400)
        kind = payload.get("type")
        if kind == "template":
            problem = self._check_template(payload.get("template"))
            if problem is not None:
                return json_response(problem, 400)
        elif kind == "text":
            body = (payload.get("text") or {}).get("body")
            if not isinstance(body, str) or not body:
                return json_response(error_body(100, details="text.body is required"), 400)
            if to in self.outside_window and self.window_errors_sync:
                details = "More than 24 hours have passed since the recipient last replied."
                return json_response(error_body(131047, details=details), 400)
        else:
            return json_response(error_body(100, details=f"unsupported type {kind}"), 400)
        wamid = "wamid.HBgL" + secrets.token_urlsafe(24)
        self.sent[wamid] = payload
        return json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    async def message_templates(self, recorded: Recorded, request: Request) -> Response:
        if recorded.headers.get("authorization") != f"Bearer {self.token}":
            return json_response(error_body(190), 401)
        if request.path_params["waba_id"] != self.business_account_id:
            return json_response(error_body(100, "Unsupported post request"), 400)
        payload = recorded.json
        problem = _template_problem(payload)
        if problem is not None:
            return json_response(error_body(100, "Invalid parameter", user_msg=problem), 400)
        key = (payload["name"], payload["language"])
        if key in self.submitted or key in self.templates:
            return json_response(
                error_body(
                    100,
                    "Invalid parameter",
                    subcode=2388024,
                    user_msg=f"There's already {key[1]} content for this template.",
                ),
                400,
            )
        template_id = str(secrets.randbelow(10**15) + 10**15)
        body = next(c for c in payload["components"] if c["type"] == "BODY")
        category = self.recategorise_to or payload["category"]
        self.submitted[key] = {
            **payload,
            "id": template_id,
            "status": self.template_status,
            "category": category,
        }
        self.templates[key] = len(set(_POSITIONAL.findall(body["text"])))
        return json_response(
            {"id": template_id, "status": self.template_status, "category": category}
        )

    async def list_templates(self, recorded: Recorded, request: Request) -> Response:
        """`GET message_templates?name=`: the account's templates in Meta's list shape."""
        if recorded.headers.get("authorization") != f"Bearer {self.token}":
            return json_response(error_body(190), 401)
        if request.path_params["waba_id"] != self.business_account_id:
            return json_response(error_body(100, "Unsupported get request"), 400)
        name = recorded.query.get("name")
        data = [
            {k: t[k] for k in ("id", "name", "language", "status", "category", "components")}
            for t in self.submitted.values()
            if name is None or t["name"] == name
        ]
        return json_response({"data": data, "paging": {"cursors": {"before": "MA", "after": "MQ"}}})

    def _check_template(self, template: Any) -> dict[str, Any] | None:
        if not isinstance(template, dict):
            return error_body(100, details="template is required")
        name = str(template.get("name"))
        language = str((template.get("language") or {}).get("code"))
        expected = self.templates.get((name, language))
        if expected is None:
            details = f"template name ({name}) does not exist in {language}"
            return error_body(132001, details=details)
        given = sum(
            len(component.get("parameters") or [])
            for component in template.get("components") or []
            if component.get("type") == "body"
        )
        if given != expected:
            details = (
                f"body: number of localizable_params ({given}) does not match "
                f"the expected number of params ({expected})"
            )
            return error_body(132000, details=details)
        return None

    # --- inbound -----------------------------------------------------------------------------

    def sign(self, raw_body: bytes) -> dict[str, str]:
        """The headers Meta sends with `raw_body`."""
        digest = hmac.new(self.app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
        return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}

    def webhook(self, *, messages: Sequence[Any] = (), statuses: Sequence[Any] = ()) -> bytes:
        """One webhook POST body for this phone number."""
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "15550783881",
                "phone_number_id": self.phone_number_id,
            },
        }
        if messages:
            value["messages"] = list(messages)
        if statuses:
            value["statuses"] = list(statuses)
        change = {"field": "messages", "value": value}
        body = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "419561257915477", "changes": [change]}],
        }
        return orjson.dumps(body)

    def template_review(
        self, *, name: str, language: str, event: str, template_id: int | str | None = None
    ) -> bytes:
        """Meta's `message_template_status_update` for a template of this account."""
        found = self.submitted.get((name, language), {})
        value = {
            "event": event,
            "message_template_id": int(template_id or found.get("id") or 1),
            "message_template_name": name,
            "message_template_language": language,
            "reason": "NONE" if event == "APPROVED" else "INCORRECT_CATEGORY",
        }
        change = {"field": "message_template_status_update", "value": value}
        entry = {"id": self.business_account_id, "time": 1760000000, "changes": [change]}
        return orjson.dumps({"object": "whatsapp_business_account", "entry": [entry]})

    def status_webhook(self, wamid: str, status: str, *, error_code: int | None = None) -> bytes:
        """A status callback for `wamid` (a `failed` one carrying `error_code`)."""
        item: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": "1750857384",
            "recipient_id": "971501234567",
        }
        if error_code is not None:
            title = TITLES.get(error_code, "Error")
            item["errors"] = [
                {
                    "code": error_code,
                    "title": title,
                    "message": title,
                    "error_data": {"details": title},
                }
            ]
        return self.webhook(statuses=[item])
