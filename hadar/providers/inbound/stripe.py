"""Stripe events: `{id, type, created, data: {object: {...}}}`.

Delivery is at least once and unordered (a `payment_failed` may land after `succeeded`), so a
service dedupes on `event.id` and trusts the intent's own `status` over the event order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from hadar.providers.inbound import values as v

PAYMENT_INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.canceled",
        "payment_intent.requires_action",
    }
)


@dataclass(frozen=True, slots=True)
class IntentState:
    """The PaymentIntent an event carries: status, amounts, our metadata, the last failure."""

    id: str
    status: str | None
    amount: int | None
    currency: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    failure_code: str | None = None  # last_payment_error's decline_code, else its code
    failure_message: str | None = None


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """One event; `intent` for payment_intent.* events, `unknown` notes what was not read."""

    id: str | None
    type: str | None
    created: datetime | None
    livemode: bool | None
    intent: IntentState | None = None
    unknown: tuple[str, ...] = ()


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_event(payload: object) -> StripeEvent:
    """A Stripe event (raw bytes or decoded JSON)."""
    body = v.obj(v.decode(payload))
    event_id, kind = v.text(body.get("id")), v.text(body.get("type"))
    livemode = body.get("livemode")
    event = StripeEvent(
        id=event_id,
        type=kind,
        created=v.unix_seconds(body.get("created")),
        livemode=livemode if isinstance(livemode, bool) else None,
    )
    if event_id is None or kind is None:
        return replace(event, unknown=("no id or type",))
    if kind not in PAYMENT_INTENT_EVENTS:
        return replace(event, unknown=(f"type {kind}",))
    obj = v.obj(v.obj(body.get("data")).get("object"))
    intent_id = v.text(obj.get("id"))
    if intent_id is None or obj.get("object", "payment_intent") != "payment_intent":
        return replace(event, unknown=("data.object is not an intent",))
    error = v.obj(obj.get("last_payment_error"))
    intent = IntentState(
        id=intent_id,
        status=v.text(obj.get("status")),
        amount=_int(obj.get("amount")),
        currency=v.text(obj.get("currency")),
        metadata=v.string_map(obj.get("metadata")),
        failure_code=v.text(error.get("decline_code")) or v.text(error.get("code")),
        failure_message=v.text(error.get("message")),
    )
    return replace(event, intent=intent)
