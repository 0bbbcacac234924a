"""A fake UltraMsg (PROVIDERS.md 2.4): `POST /{instance}/messages/chat`, form or JSON, token in
the body or the query. Like UltraMsg it answers HTTP 200 to everything, errors included; set
`connected = False` for the disconnected phone (`"sent": "false"`). Webhooks are unsigned."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tests.fakes.server import FakeProvider, Fault, Handler, Recorded, json_response

INSTANCE = "instance1150"
TOKEN = "fake-ultramsg-token-abc123"

WRONG_TOKEN = {"error": "Wrong token. Please provide token as a GET parameter."}
NOT_CONNECTED = {"sent": "false", "message": "WhatsApp not connected"}
STOPPED = {
    "error": "Your instance has been Stopped due to non-payment. you can activate this "
    "instance by extending your subscription."
}
MISSING_FIELDS = {"error": [{"to": "is required"}, {"body": "is required"}]}


class FakeUltraMsg(FakeProvider):
    def __init__(self, *, instance: str = INSTANCE, token: str = TOKEN) -> None:
        super().__init__()
        self.instance = instance
        self.token = token
        self.connected = True
        self.sent: list[dict[str, str]] = []
        self._next_id = 44897

    def routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/{instance}/messages/chat", ["POST"], self.chat)]

    def answer_next(self, body: Any, times: int = 1) -> None:
        """Answer the next sends with `body` at HTTP 200, as UltraMsg does for its errors."""
        self.fail_next(Fault(status=200, body=body), times)

    async def chat(self, recorded: Recorded, request: Request) -> Response:
        if request.path_params["instance"] != self.instance:
            return json_response({"error": "Instance not found"})
        fields: dict[str, Any] = dict(recorded.form or {})
        if isinstance(recorded.json, dict):
            fields.update(recorded.json)
        token = fields.get("token") or recorded.query.get("token")
        if token != self.token:
            return json_response(WRONG_TOKEN)
        missing = [{name: "is required"} for name in ("to", "body") if not fields.get(name)]
        if missing:
            return json_response({"error": missing})
        if not self.connected:
            return json_response(NOT_CONNECTED)
        self._next_id += 1
        self.sent.append({"to": str(fields["to"]), "body": str(fields["body"])})
        return json_response({"sent": "true", "message": "ok", "id": self._next_id})

    def message_received(
        self, *, sender: str, body: str, event_type: str = "message_received", from_me: bool = False
    ) -> bytes:
        """A webhook POST body as UltraMsg sends it (`sender` in E.164)."""
        digits = sender.removeprefix("+")
        payload = {
            "event_type": event_type,
            "instanceId": self.instance.removeprefix("instance"),
            "id": "",
            "referenceId": "",
            "data": {
                "id": f"false_{digits}@c.us_3EB02E5EB89CE03FB034",
                "from": f"{digits}@c.us",
                "to": "971500000000@c.us",
                "author": "",
                "pushname": "E.St",
                "ack": "",
                "type": "chat",
                "body": body,
                "media": "",
                "fromMe": from_me,
                "isForwarded": False,
                "time": 1650002663,
            },
        }
        return orjson.dumps(payload)
