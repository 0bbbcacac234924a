"""A fake Stripe (PROVIDERS.md 4.5): `POST /v1/payment_intents`, form-encoded, bracket keys.

Behaves like Stripe where Hadar depends on it:
- idempotency store keyed by (api key, Idempotency-Key): the same parameters replay the first
  status and body with `Idempotent-Replayed: true`; other parameters answer 400
  idempotency_error; a key still in flight answers 409;
- `created` counts PaymentIntents actually created (replays do not count);
- magic payment methods: `pm_card_visa` succeeds, `pm_card_chargeDeclined` (generic_decline)
  and `pm_card_chargeDeclinedInsufficientFunds` answer 402 card_error,
  `pm_card_authenticationRequired` needs action; aed below 200 fils is amount_too_small;
- `script_next(outcome)` forces the next intent's outcome ("requires_action", "processing",
  "decline:<decline_code>"), stored under the key like a real answer; `fail_next(Fault)` (500s,
  delays, garbage) answers before anything is stored, as a failure before execution would.
Webhooks are signed like Stripe signs them (`t=…,v1=…`, one v1 per secret).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hadar import clock
from tests.fakes.server import FakeProvider, Handler, Recorded, json_response

API_KEY = "sk_test_fake_51Hadar0123456789"
WEBHOOK_SECRET = "whsec_fake_stripe_webhook_secret"
DECLINES = {
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}


def idempotency_mismatch(key: str) -> dict[str, Any]:
    """Stripe's observed body for a key reused with other parameters."""
    return {
        "error": {
            "type": "idempotency_error",
            "message": (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            ),
        }
    }


class FakeStripe(FakeProvider):
    def __init__(self, *, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.webhook_secret = WEBHOOK_SECRET
        self.created = 0
        self.intents: dict[str, dict[str, Any]] = {}
        self.outcomes: deque[str] = deque()
        self.processing_delay = 0.0
        self._store: dict[tuple[str, str], tuple[dict[str, str], int, bytes]] = {}
        self._in_flight: set[tuple[str, str]] = set()

    def routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/v1/payment_intents", ["POST"], self.create)]

    def script_next(self, outcome: str, times: int = 1) -> None:
        """Force the outcome of the next `times` intents."""
        self.outcomes.extend([outcome] * times)

    async def create(self, recorded: Recorded, request: Request) -> Response:
        if recorded.headers.get("authorization") != f"Bearer {self.api_key}":
            error = {"type": "invalid_request_error", "message": "Invalid API Key provided."}
            return json_response({"error": error}, 401)
        params = recorded.form or {}
        key = recorded.headers.get("idempotency-key")
        slot = (self.api_key, key) if key else None
        if slot is not None and slot in self._store:
            stored_params, status, body = self._store[slot]
            if stored_params != params:
                return json_response(idempotency_mismatch(key or ""), 400)
            return Response(
                body,
                status_code=status,
                media_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        if slot is not None and slot in self._in_flight:
            error = {
                "type": "invalid_request_error",
                "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this key.",
            }
            return json_response({"error": error}, 409)
        if slot is not None:
            self._in_flight.add(slot)
        try:
            if self.processing_delay:
                await asyncio.sleep(self.processing_delay)
            status, answer = self._execute(params)
        finally:
            if slot is not None:
                self._in_flight.discard(slot)
        raw = orjson.dumps(answer)
        if slot is not None and status != 400:  # validation failures store nothing
            self._store[slot] = (params, status, raw)
        return Response(raw, status_code=status, media_type="application/json")

    def _execute(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        amount, currency = params.get("amount", ""), params.get("currency", "")
        if not amount.isdigit():
            return 400, _invalid("parameter_missing", "Missing required param: amount.", "amount")
        if currency != currency.lower() or not currency:
            return 400, _invalid("invalid_currency", f"Invalid currency: {currency}.", "currency")
        if currency == "aed" and int(amount) < 200:
            message = "Amount must be at least د.إ2.00 aed"
            return 400, _invalid("amount_too_small", message, "amount")
        method = params.get("payment_method")
        confirm = params.get("confirm") == "true"
        if (
            method
            and method not in DECLINES
            and method
            not in (
                "pm_card_visa",
                "pm_card_authenticationRequired",
            )
        ):
            return 400, _invalid("resource_missing", f"No such PaymentMethod: '{method}'", "id")
        intent = self._new_intent(params)
        outcome = self.outcomes.popleft() if self.outcomes else None
        if outcome is None and confirm and method:
            if method in DECLINES:
                outcome = f"decline:{DECLINES[method][0]}"
            elif method == "pm_card_authenticationRequired":
                outcome = "requires_action"
            else:
                outcome = "succeeded"
        if outcome is None:
            intent["status"] = "requires_confirmation" if method else "requires_payment_method"
        elif outcome.startswith("decline:"):
            decline_code = outcome.removeprefix("decline:")
            message = next(
                (m for code, m in DECLINES.values() if code == decline_code),
                "Your card was declined.",
            )
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline_code,
                "message": message,
                "param": "",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
            }
            intent.update(status="requires_payment_method", last_payment_error=error)
            return 402, {"error": {**error, "payment_intent": intent}}
        else:
            intent["status"] = outcome
            if outcome == "succeeded":
                intent["amount_received"] = intent["amount"]
            if outcome == "requires_action":
                intent["next_action"] = {"type": "use_stripe_sdk"}
        return 200, intent

    def _new_intent(self, params: dict[str, str]) -> dict[str, Any]:
        self.created += 1
        intent_id = "pi_3Q" + secrets.token_hex(10)
        metadata = {
            k.removeprefix("metadata[").removesuffix("]"): v
            for k, v in params.items()
            if k.startswith("metadata[")
        }
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "currency": params["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_fake",
            "description": params.get("description"),
            "metadata": metadata,
            "payment_method": params.get("payment_method"),
            "last_payment_error": None,
            "next_action": None,
            "livemode": False,
            "created": 1760000000,
        }
        self.intents[intent_id] = intent
        return intent

    # --- webhooks ----------------------------------------------------------------------------

    def sign(
        self, raw_body: bytes, *, timestamp: int | None = None, signing_secrets: Sequence[str] = ()
    ) -> str:
        """A `Stripe-Signature` value: `t=…` then one `v1=…` per secret (default: ours)."""
        stamp = int(clock.now().timestamp()) if timestamp is None else timestamp
        keys = list(signing_secrets) or [self.webhook_secret]
        parts = [f"t={stamp}"]
        for secret in keys:
            signed = str(stamp).encode() + b"." + raw_body
            parts.append("v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest())
        return ",".join(parts)

    def event(self, kind: str, intent: dict[str, Any], *, event_id: str | None = None) -> bytes:
        """An event POST body carrying `intent` as `data.object`."""
        body = {
            "id": event_id or "evt_3Q" + secrets.token_hex(10),
            "object": "event",
            "api_version": "2026-01-28",
            "created": 1760000300,
            "type": kind,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": intent},
        }
        return orjson.dumps(body)


def _invalid(code: str, message: str, param: str) -> dict[str, Any]:
    return {
        "error": {"type": "invalid_request_error", "code": code, "message": message, "param": param}
    }
