"""Inbound WhatsApp messages and delivery statuses, whoever reports them (Meta, UltraMsg, the
test helper): deduplicated atomically by provider message id, filed in the lead's
conversation (an unknown number becomes a lead), opening the window, honouring opt-out
words, rescoring the lead, and emitting `message.received` / `message.status_updated`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.conversations import (
    MESSAGES,
    Channel,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
    advance_status,
    is_opt_out,
)
from hadar.domain.leads import Lead
from hadar.domain.scope import Operation, Scope
from hadar.errors import Forbidden, ValidationError
from hadar.ids import new_id
from hadar.services import audit, conversations, events, leads
from hadar.services.listing import scoped
from hadar.services.models import DATETIME
from hadar.services.validation import Strict, UtcDatetime, parse

SIMULATE = Operation("test_helpers.whatsapp_inbound", MESSAGES, mutation=True)


class InboundSimulation(Strict):
    """A message as if the lead had written it; `received_at` (not in the future) places it
    in the past, so the window's edges are tested without waiting."""

    lead_id: Annotated[str, pydantic.Field(min_length=1, max_length=40)]
    text: Annotated[str, pydantic.Field(min_length=1, max_length=4096)]
    # Lax for this field alone: JSON carries a date-time as text (GraphQL: its DateTime scalar).
    received_at: Annotated[UtcDatetime, pydantic.Field(strict=False), DATETIME] | None = None


@dataclass(frozen=True)
class Incoming:
    """One inbound message, as a provider parser reports it."""

    provider: str
    provider_message_id: str
    phone: str  # E.164
    at: datetime
    kind: str  # text | template | other
    text: str | None = None
    provider_kind: str | None = None
    profile_name: str | None = None


async def _lead_for(scope: Scope, phone: str, name: str | None) -> Lead:
    found = await scoped(Lead, scope).filter(phone=phone).first()
    if found is not None:
        return found
    created, _ = await leads.create_lead(
        scope=scope,
        data={"name": (name or "").strip()[:200] or phone, "phone": phone, "source": "whatsapp"},
    )
    return created


async def receive(*, scope: Scope, incoming: Incoming, lead: Lead | None = None) -> Message | None:
    """File one inbound message; None when its provider id was already stored (a replay)."""
    if lead is None:
        lead = await _lead_for(scope, incoming.phone, incoming.profile_name)
    conversation = await conversations.conversation_for(
        scope=scope, lead_id=lead.id, channel=Channel.WHATSAPP.value
    )
    now = clock.now()
    message = Message(
        id=new_id("msg", now),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        conversation_id=conversation.id,
        lead_id=lead.id,
        direction=Direction.INBOUND.value,
        kind=incoming.kind,
        provider_kind=incoming.provider_kind,
        text=incoming.text,
        status=MessageStatus.DELIVERED.value,
        provider=incoming.provider,
        provider_message_id=incoming.provider_message_id,
        created_at=incoming.at,
        status_changed_at=now,
    )
    try:
        async with in_transaction():  # a savepoint: the unique provider id decides duplicates
            await message.save(force_create=True)
    except IntegrityError:
        return None
    await conversations.touch_inbound(conversation=conversation, at=incoming.at)
    await _touch_lead(scope, lead, incoming)
    await events.emit(
        scope=scope, type="message.received", obj=conversations.present_message(message)
    )
    return message


async def _touch_lead(scope: Scope, lead: Lead, incoming: Incoming) -> None:
    lead = await scoped(Lead, scope).filter(id=lead.id).select_for_update().get()
    if incoming.kind == MessageKind.TEXT.value and is_opt_out(incoming.text):
        lead.do_not_contact = {**(lead.do_not_contact or {}), "whatsapp": True}
        await audit.record(scope=scope, action="lead.opted_out", object_id=lead.id)
    count = (
        await scoped(Message, scope)
        .filter(lead_id=lead.id, direction=Direction.INBOUND.value)
        .count()
    )
    leads.rescore(lead=lead, inbound_messages=count)
    lead.updated_at = clock.now()
    await lead.save()
    await events.emit(scope=scope, type="lead.updated", obj=leads.present_lead(lead))


async def apply_status(
    *,
    scope: Scope,
    provider: str,
    provider_message_id: str,
    status: str,
    error: dict[str, Any] | None = None,
) -> Message | None:
    """Move a sent message's status forward (never back); unknown ids and repeats are
    ignored (None), so reordered and duplicated callbacks converge on the highest status."""
    message = (
        await scoped(Message, scope)
        .filter(provider=provider, provider_message_id=provider_message_id)
        .select_for_update()
        .first()
    )
    if message is None:
        return None
    moved = advance_status(message.status, status)
    if moved is None:
        return None
    message.status = moved
    message.status_changed_at = clock.now()
    if moved == MessageStatus.FAILED.value and error:
        message.error_code = str(error.get("code"))[:64]
        message.error_title = str(error.get("title") or "")[:500]
    elif moved == MessageStatus.READ.value:
        message.error_code = message.error_title = None  # a read receipt proves it arrived
    await message.save()
    await events.emit(
        scope=scope, type="message.status_updated", obj=conversations.present_message(message)
    )
    return message


async def simulate(*, scope: Scope, data: Any) -> Message:
    """Test keys only: file `text` as if the lead had sent it at `received_at` (default now)."""
    scope.require_write(MESSAGES)
    if scope.environment != "test":
        raise Forbidden("test helpers are for test keys only")
    spec = parse(InboundSimulation, data, root="inbound")
    now = clock.now()
    at = spec.received_at or now
    if at > now:
        raise ValidationError(
            "inbound.received_at must not be in the future", field="inbound.received_at"
        )
    lead = await leads.get_lead(scope=scope, lead_id=spec.lead_id)
    if lead.phone is None:
        raise ValidationError(f"lead {lead.id} has no phone number", field="inbound.lead_id")
    incoming = Incoming(
        provider="sandbox",
        provider_message_id=f"wamid.sandbox.in.{new_id('msg', now)}",
        phone=lead.phone,
        at=at,
        kind=MessageKind.TEXT.value,
        text=spec.text,
    )
    message = await receive(scope=scope, incoming=incoming, lead=lead)
    assert message is not None, "a fresh sandbox id is never a duplicate"
    await audit.record(scope=scope, action="message.simulated", object_id=message.id)
    return message
