"""Meta WhatsApp webhooks: `{object, entry: [{id, changes: [{field, value}]}]}`.

One POST may carry several entries, changes, messages and statuses; each is read on its own,
so one odd item never loses the others. Routing is by `value.metadata.phone_number_id`;
numbers come back as E.164 (`16505551234` -> `+16505551234`); Meta's `timestamp` is a string
of Unix seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hadar.providers.inbound import values as v


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a contact sent. `text` is what a person would read: the body of a text, a
    quick-reply's label, an interactive reply's title, a media caption; None otherwise."""

    phone_number_id: str
    wamid: str
    sender: str  # E.164
    type: str
    timestamp: datetime | None
    text: str | None = None
    profile_name: str | None = None
    payload: str | None = None  # a template quick-reply's payload
    reply_id: str | None = None  # an interactive button_reply / list_reply id
    context_id: str | None = None  # the wamid this message answers
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusError:
    """One entry of a status's `errors[]` (kept whole: agents need the reason)."""

    code: int | None
    title: str | None
    message: str | None = None
    details: str | None = None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A delivery status for a message we sent: sent, delivered, read or failed."""

    phone_number_id: str
    wamid: str
    status: str
    timestamp: datetime | None
    recipient_id: str | None
    errors: tuple[StatusError, ...] = ()


@dataclass(frozen=True, slots=True)
class MetaWebhook:
    """Everything one POST carried; `unknown` notes what was skipped and why."""

    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusEvent, ...] = ()
    unknown: tuple[str, ...] = ()


def e164(number: Any) -> str | None:
    """Meta's international digits as E.164; None when it is not a number."""
    digits = v.text(number)
    if digits is None:
        return None
    digits = digits.removeprefix("+")
    return f"+{digits}" if digits.isascii() and digits.isdigit() else None


_Readable = tuple[str | None, str | None, str | None]


def _readable_text(kind: str, message: Mapping[str, Any]) -> _Readable:
    """(text, payload, reply_id) for the message types a person reads."""
    if kind == "text":
        return v.text(v.obj(message.get("text")).get("body")), None, None
    if kind == "button":
        button = v.obj(message.get("button"))
        return v.text(button.get("text")), v.text(button.get("payload")), None
    if kind == "interactive":
        interactive = v.obj(message.get("interactive"))
        reply = v.obj(interactive.get("button_reply")) or v.obj(interactive.get("list_reply"))
        return v.text(reply.get("title")), None, v.text(reply.get("id"))
    media = v.obj(message.get(kind))
    return v.text(media.get("caption")), None, None


def _message(
    phone_number_id: str, message: Mapping[str, Any], names: Mapping[str, str]
) -> InboundMessage | str:
    wamid, sender = v.text(message.get("id")), e164(message.get("from"))
    if wamid is None or sender is None:
        return "message without id or from"
    kind = v.text(message.get("type")) or "unknown"
    text, payload, reply_id = _readable_text(kind, message)
    return InboundMessage(
        phone_number_id=phone_number_id,
        wamid=wamid,
        sender=sender,
        type=kind,
        timestamp=v.unix_seconds(message.get("timestamp")),
        text=text,
        profile_name=names.get(sender.removeprefix("+")),
        payload=payload,
        reply_id=reply_id,
        context_id=v.text(v.obj(message.get("context")).get("id")),
        raw=message,
    )


def _status(phone_number_id: str, status: Mapping[str, Any]) -> StatusEvent | str:
    wamid, state = v.text(status.get("id")), v.text(status.get("status"))
    if wamid is None or state is None:
        return "status without id or status"
    errors = tuple(
        StatusError(
            code=int(code) if isinstance(code := v.number(e.get("code")), float) else None,
            title=v.text(e.get("title")),
            message=v.text(e.get("message")),
            details=v.text(v.obj(e.get("error_data")).get("details")),
        )
        for e in map(v.obj, v.items(status.get("errors")))
    )
    return StatusEvent(
        phone_number_id=phone_number_id,
        wamid=wamid,
        status=state,
        timestamp=v.unix_seconds(status.get("timestamp")),
        recipient_id=v.text(status.get("recipient_id")),
        errors=errors,
    )


def parse_webhook(payload: object) -> MetaWebhook:
    """Every message and status of a Meta webhook POST (raw bytes or decoded JSON)."""
    body = v.obj(v.decode(payload))
    if body.get("object") != "whatsapp_business_account":
        return MetaWebhook(unknown=(f"object {v.text(body.get('object'))}",))
    messages: list[InboundMessage] = []
    statuses: list[StatusEvent] = []
    unknown: list[str] = []
    for entry in map(v.obj, v.items(body.get("entry"))):
        for change in map(v.obj, v.items(entry.get("changes"))):
            field_name = v.text(change.get("field"))
            if field_name != "messages":
                unknown.append(f"field {field_name}")
                continue
            value = v.obj(change.get("value"))
            phone_number_id = v.text(v.obj(value.get("metadata")).get("phone_number_id"))
            if phone_number_id is None:
                unknown.append("change without metadata.phone_number_id")
                continue
            names = {
                wa_id: name
                for contact in map(v.obj, v.items(value.get("contacts")))
                if (wa_id := v.text(contact.get("wa_id")))
                and (name := v.text(v.obj(contact.get("profile")).get("name")))
            }
            for raw in map(v.obj, v.items(value.get("messages"))):
                message = _message(phone_number_id, raw, names)
                if isinstance(message, str):
                    unknown.append(message)
                else:
                    messages.append(message)
            for raw in map(v.obj, v.items(value.get("statuses"))):
                status = _status(phone_number_id, raw)
                if isinstance(status, str):
                    unknown.append(status)
                else:
                    statuses.append(status)
    return MetaWebhook(tuple(messages), tuple(statuses), tuple(unknown))
