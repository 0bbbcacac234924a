"""UltraMsg webhooks: `{event_type, instanceId, data: {id, from: "9715…@c.us", body, …}}`.

UltraMsg signs nothing: the integration's URL carries a secret token, and `instanceId` (the
digits of `instance1150`) must match the integration. Only `message_received` from someone
else is a message: `message_create` and `fromMe` are our own sends echoed back (acting on them
would loop a bot), `message_ack` is a receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hadar.providers.inbound import values as v


@dataclass(frozen=True, slots=True)
class UltraMsgMessage:
    """A message a contact sent to the instance."""

    instance_id: str  # digits only: "1150"
    message_id: str
    sender: str  # E.164
    type: str
    text: str | None
    profile_name: str | None
    timestamp: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UltraMsgEvent:
    """One webhook POST: the message, or why there is none (`ignored`)."""

    event_type: str | None
    instance_id: str | None
    message: UltraMsgMessage | None = None
    ignored: str | None = None


def instance_digits(instance_id: object) -> str | None:
    """`instance1150`, `1150` or 1150 as `1150`, the form UltraMsg's webhooks carry."""
    value = v.text(instance_id)
    if value is None:
        return None
    digits = value.removeprefix("instance")
    return digits if digits.isascii() and digits.isdigit() else None


def chat_id_to_e164(chat_id: object) -> str | None:
    """`971501234567@c.us` -> `+971501234567`; groups (`@g.us`) and junk -> None."""
    value = v.text(chat_id)
    if value is None:
        return None
    number, _, domain = value.partition("@")
    if domain not in ("", "c.us"):
        return None
    number = number.removeprefix("+")
    return f"+{number}" if number.isascii() and number.isdigit() else None


def parse_event(payload: object) -> UltraMsgEvent:
    """An UltraMsg webhook POST (raw bytes or decoded JSON)."""
    body = v.obj(v.decode(payload))
    event_type = v.text(body.get("event_type"))
    instance = instance_digits(body.get("instanceId"))
    if event_type != "message_received":
        return UltraMsgEvent(event_type, instance, ignored=f"event_type {event_type}")
    data = v.obj(body.get("data"))
    if data.get("fromMe") is True:
        return UltraMsgEvent(event_type, instance, ignored="fromMe echo")
    message_id, sender = v.text(data.get("id")), chat_id_to_e164(data.get("from"))
    if instance is None or message_id is None or sender is None:
        return UltraMsgEvent(event_type, instance, ignored="missing instanceId, id or from")
    message = UltraMsgMessage(
        instance_id=instance,
        message_id=message_id,
        sender=sender,
        type=v.text(data.get("type")) or "unknown",
        text=v.text(data.get("body")),
        profile_name=v.text(data.get("pushname")),
        timestamp=v.unix_seconds(data.get("time")),
        raw=data,
    )
    return UltraMsgEvent(event_type, instance, message=message)
