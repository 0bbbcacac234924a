"""What Meta and UltraMsg post to Hadar: authenticated on the raw bytes before anything is
parsed or stored, routed to the tenant's live integration, metered per integration, and each
message or status filed on its own (one odd item never loses the others in its POST)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from hadar import clock, secretbox
from hadar.domain.conversations import MessageKind
from hadar.domain.integrations import Integration, Provider
from hadar.domain.scope import Scope
from hadar.errors import Unauthorized
from hadar.ids import looks_like
from hadar.providers import signatures
from hadar.providers.inbound import meta, ultramsg, values
from hadar.services import inbound, templates

log = logging.getLogger("hadar.inbound")
Meter = Callable[[str], Awaitable[None]]  # raises RateLimited past an integration's budget
# Types a person reads as text (a template quick-reply's label, an interactive reply's title).
_TEXT_TYPES = {"text": "text", "button": "button", "interactive": "interactive", "chat": "chat"}


@dataclass(frozen=True)
class Receipt:
    """What one POST changed: messages filed, statuses applied, items ignored."""

    messages: int = 0
    statuses: int = 0
    ignored: int = 0


def _scope(row: Integration) -> Scope:
    # Providers act for the agency in its live sandbox; audit rows carry no key id.
    return Scope(tenant_id=row.tenant_id, environment=row.environment, role="admin")


def _incoming(
    provider: str,
    message_id: str,
    sender: str,
    kind: str,
    text: str | None,
    name: str | None,
    at: datetime | None,
) -> inbound.Incoming:
    now = clock.now()
    # A provider clock ahead of ours must not hold the window open past 24 h of our time.
    when = at if at is not None and at < now else now
    readable = kind in _TEXT_TYPES and text is not None
    return inbound.Incoming(
        provider=provider,
        provider_message_id=message_id,
        phone=sender,
        at=when,
        kind=(MessageKind.TEXT if readable else MessageKind.OTHER).value,
        text=text,
        provider_kind=None if kind in ("text", "chat") else kind[:32],
        profile_name=name,
    )


async def meta_webhook(
    *, raw_body: bytes, signature: str | None, app_secret: str | None, meter: Meter
) -> Receipt:
    """Meta's POST: X-Hub-Signature-256 checked over the exact bytes, then every message and
    status routed by phone_number_id (numbers no workspace connected are ignored)."""
    if not signatures.verify_meta(raw_body=raw_body, header=signature, app_secret=app_secret):
        raise Unauthorized("X-Hub-Signature-256 is missing or does not match the body")
    hook = meta.parse_webhook(raw_body)
    reviewed = await _template_reviews(raw_body)
    routes: dict[str, Integration | None] = {}
    # The parser lists a template review as an unknown field; it is counted as a status here.
    counts = {"messages": 0, "statuses": reviewed, "ignored": len(hook.unknown) - reviewed}

    async def route(phone_number_id: str) -> Integration | None:
        if phone_number_id not in routes:
            row = await Integration.filter(
                provider=Provider.META.value, route_key=phone_number_id, environment="live"
            ).first()
            if row is not None:
                await meter(row.id)
            routes[phone_number_id] = row
        return routes[phone_number_id]

    for message in hook.messages:
        row = await route(message.phone_number_id)
        if row is None:
            counts["ignored"] += 1
            continue
        incoming = _incoming(
            "meta",
            message.wamid,
            message.sender,
            message.type,
            message.text,
            message.profile_name,
            message.timestamp,
        )
        async with in_transaction():
            filed = await inbound.receive(scope=_scope(row), incoming=incoming)
        counts["messages" if filed else "ignored"] += 1
    for status in hook.statuses:
        row = await route(status.phone_number_id)
        if row is None:
            counts["ignored"] += 1
            continue
        error = None
        if status.errors:
            first = status.errors[0]
            error = {"code": first.code, "title": first.title or first.message or ""}
        try:
            async with in_transaction():
                moved = await inbound.apply_status(
                    scope=_scope(row),
                    provider="meta",
                    provider_message_id=status.wamid,
                    status=status.status,
                    error=error,
                )
        except ValueError:  # a status Hadar does not model (e.g. "deleted")
            moved = None
        counts["statuses" if moved else "ignored"] += 1
    return Receipt(**counts)


async def _template_reviews(raw_body: bytes) -> int:
    """Apply every `message_template_status_update` of a Meta POST to the workspace whose
    integration names that WhatsApp Business Account; returns how many were read."""
    body = values.obj(values.decode(raw_body))
    reviews = [
        (values.text(entry.get("id")), values.obj(change.get("value")))
        for entry in map(values.obj, values.items(body.get("entry")))
        for change in map(values.obj, values.items(entry.get("changes")))
        if change.get("field") == "message_template_status_update"
    ]
    if not reviews:
        return 0
    # Reviews are rare, and the account id is a public field: read the live Meta accounts once.
    accounts = await Integration.filter(provider=Provider.META.value, environment="live")
    for waba, value in reviews:
        template_id = values.text(value.get("message_template_id"))
        name = values.text(value.get("message_template_name"))
        language = values.text(value.get("message_template_language"))
        event = values.text(value.get("event"))
        if not (waba and event and (template_id or (name and language))):
            continue
        for row in accounts:
            if row.public_config.get("business_account_id") == waba:
                async with in_transaction():
                    await templates.record_review(
                        scope=_scope(row),
                        provider_template_id=template_id,
                        name=name or "",
                        language=language or "",
                        event=event,
                    )
    return len(reviews)


async def ultramsg_webhook(
    *, integration_id: str, token: str | None, raw_body: bytes, meter: Meter
) -> Receipt:
    """UltraMsg's POST to the integration's URL: `?token=` and `instanceId` must match it."""
    row = None
    if looks_like("int", integration_id):
        row = await Integration.filter(
            id=integration_id, provider=Provider.ULTRAMSG.value, environment="live"
        ).first()
    expected = None
    if row is not None and row.webhook_token:
        expected = secretbox.unseal(
            row.webhook_token, context=f"integrations.webhook_token:{row.id}"
        )
    if row is None or not signatures.verify_token(given=token, expected=expected):
        raise Unauthorized("the webhook token does not match this integration")
    event = ultramsg.parse_event(raw_body)
    if event.instance_id is not None and event.instance_id != row.route_key:
        raise Unauthorized("instanceId does not match this integration")
    await meter(row.id)
    message = event.message
    if message is None:
        return Receipt(ignored=1)
    incoming = _incoming(
        "ultramsg",
        message.message_id,
        message.sender,
        message.type,
        message.text,
        message.profile_name,
        message.timestamp,
    )
    async with in_transaction():
        filed = await inbound.receive(scope=_scope(row), incoming=incoming)
    return Receipt(messages=1) if filed else Receipt(ignored=1)


def verify_challenge(
    *, mode: str | None, token: str | None, challenge: str | None, expected: str | None
) -> str | None:
    """Meta's subscription handshake: the challenge to echo, or None (403)."""
    return signatures.meta_challenge(
        mode=mode, token=token, challenge=challenge, expected_token=expected
    )
