"""A fake Vapi (PROVIDERS.md 3.4): `POST /call` and `GET /call/{id}`.

Validates like Vapi's NestJS layer: unknown top-level properties ("property metadata should
not exist"), a non-E.164 `customer.number`, and not exactly one of `assistantId`/`assistant`
answer 400 with `message` as a list of strings. `end_call` finishes a call and builds the
end-of-call-report (current `artifact`/`analysis` shape, or the legacy top-level one), sent
with `X-Vapi-Secret` like the legacy credential.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tests.fakes.server import FakeProvider, Handler, Recorded, json_response

API_KEY = "fake-vapi-private-key-7f3a"
PHONE_NUMBER_ID = "phone-number-id"
SECRET = "fake-vapi-webhook-secret"
CREATE_CALL_PROPERTIES = frozenset(
    {
        "assistantId",
        "assistant",
        "assistantOverrides",
        "squadId",
        "squad",
        "workflowId",
        "workflow",
        "phoneNumberId",
        "phoneNumber",
        "customerId",
        "customer",
        "customers",
        "name",
        "schedulePlan",
    }
)
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
E164_MESSAGE = (
    "customer.number must be a valid phone number in the E.164 format. "
    "Hot tip, you may be missing the country code (Eg. US: +1)."
)


def nest_error(status: int, message: Any, error: str) -> dict[str, Any]:
    """Vapi's NestJS error body."""
    return {"message": message, "error": error, "statusCode": status}


class FakeVapi(FakeProvider):
    def __init__(self, *, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.secret = SECRET
        self.calls: dict[str, dict[str, Any]] = {}

    def routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/call", ["POST"], self.create), ("/call/{call_id}", ["GET"], self.read)]

    def _authorised(self, recorded: Recorded) -> bool:
        return recorded.headers.get("authorization") == f"Bearer {self.api_key}"

    async def create(self, recorded: Recorded, request: Request) -> Response:
        if not self._authorised(recorded):
            return json_response(nest_error(401, "Invalid Key.", "Unauthorized"), 401)
        body = recorded.json
        if not isinstance(body, dict):
            return json_response(nest_error(400, ["body must be an object"], "Bad Request"), 400)
        problems = [
            f"property {k} should not exist" for k in body if k not in CREATE_CALL_PROPERTIES
        ]
        raw_customer = body.get("customer")
        customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
        if not E164.match(str(customer.get("number", ""))):
            problems.append(E164_MESSAGE)
        if ("assistantId" in body) == ("assistant" in body):
            problems.append("Exactly one of assistantId or assistant must be provided.")
        if problems:
            return json_response(nest_error(400, problems, "Bad Request"), 400)
        call_id = str(uuid.uuid4())
        call = {
            "id": call_id,
            "orgId": "org-fake",
            "type": "outboundPhoneCall",
            "status": "queued",
            "phoneNumberId": body.get("phoneNumberId"),
            "customer": customer,
            "createdAt": "2026-10-14T13:00:00.000Z",
            "updatedAt": "2026-10-14T13:00:00.000Z",
            **{k: body[k] for k in ("assistantId", "assistant", "assistantOverrides") if k in body},
        }
        self.calls[call_id] = call
        return json_response(call, 201)

    async def read(self, recorded: Recorded, request: Request) -> Response:
        if not self._authorised(recorded):
            return json_response(nest_error(401, "Invalid Key.", "Unauthorized"), 401)
        call = self.calls.get(request.path_params["call_id"])
        if call is None:
            return json_response(nest_error(404, "Call not found", "Not Found"), 404)
        return json_response(call)

    # --- server messages ---------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        """What Vapi sends with a legacy X-Vapi-Secret credential."""
        return {"X-Vapi-Secret": self.secret, "Content-Type": "application/json"}

    def status_update(self, call_id: str, status: str) -> bytes:
        """A status-update server message."""
        call = self.calls.get(call_id, {"id": call_id})
        call["status"] = status
        message = {
            "type": "status-update",
            "status": status,
            "timestamp": 1760000000000,
            "call": call,
            "customer": call.get("customer", {}),
        }
        if status == "ended":
            message["endedReason"] = "customer-ended-call"
        return orjson.dumps({"message": message})

    def end_call(
        self,
        call_id: str,
        *,
        transcript: str = "AI: Hi Sara… User: Yes, Tuesday works…",
        summary: str = "Lead confirmed Tuesday 5pm viewing.",
        recording_url: str = "https://storage.vapi.ai/fake-mono.wav",
        ended_reason: str = "customer-ended-call",
        legacy: bool = False,
    ) -> bytes:
        """End the call (GET /call/{id} then shows it) and build its end-of-call-report."""
        call = self.calls[call_id]
        artifact = {"transcript": transcript, "recordingUrl": recording_url, "messages": []}
        analysis = {"summary": summary, "successEvaluation": "true"}
        call.update(
            status="ended",
            endedReason=ended_reason,
            startedAt="2026-10-14T13:00:02.000Z",
            endedAt="2026-10-14T13:02:32.000Z",
            artifact=artifact,
            analysis=analysis,
        )
        message: dict[str, Any] = {
            "type": "end-of-call-report",
            "endedReason": ended_reason,
            "timestamp": 1760000123456,
            "startedAt": call["startedAt"],
            "endedAt": call["endedAt"],
            "cost": 0.12,
            "call": {k: v for k, v in call.items() if k not in ("artifact", "analysis")},
            "customer": call.get("customer", {}),
        }
        if legacy:
            message.update(transcript=transcript, summary=summary, recordingUrl=recording_url)
        else:
            message.update(artifact=artifact, analysis=analysis)
        return orjson.dumps({"message": message})
