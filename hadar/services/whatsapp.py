"""WhatsApp sends: free-form text inside the 24-hour window, an approved template outside it,
through the tenant's own account (live) or the sandbox (test).

Exactly once per Idempotency-Key: the message is written `queued` in the request's
transaction, the provider is called inside that same request (after the idempotency lock is
held), and the outcome (a `sent` message, or the mapped error with the failed message kept)
commits together with the stored answer. A replay returns that answer and never calls the
provider again; so a 503 after a timeout is replayed as 503 too: retry with a new key.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from hadar import clock
from hadar.domain.conversations import (
    MESSAGES,
    Channel,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from hadar.domain.conversations import window_open as is_open
from hadar.domain.scope import Operation, Scope
from hadar.domain.templates import check_variables, placeholders, render
from hadar.errors import (
    DoNotContact,
    HadarError,
    OutsideWindow,
    ServiceUnavailable,
    ValidationError,
)
from hadar.ids import new_id
from hadar.providers.ports import ProviderError, Sent
from hadar.services import audit, conversations, events, integrations, leads, templates
from hadar.services.validation import Strict, parse

SEND = Operation("whatsapp.send", MESSAGES, mutation=True)
LeadId = Annotated[str, pydantic.Field(min_length=1, max_length=40)]


class MessageSend(Strict):
    """`lead_id` and exactly one of `text` (1-4,096 characters) or `template` (+ `variables`,
    `language`)."""

    lead_id: LeadId
    text: Annotated[str, pydantic.Field(min_length=1, max_length=4096)] | None = None
    template: Annotated[str, pydantic.Field(min_length=1, max_length=512)] | None = None
    variables: dict[str, Annotated[str, pydantic.Field(max_length=1024)]] | None = None
    language: Annotated[str, pydantic.Field(min_length=2, max_length=16)] | None = None


SEND_EXAMPLE = {
    "lead_id": "lead_01HMNZ8G7Q3V5X2T4R6Y9W0K1B",
    "template": "viewing_confirmation_en",
    "variables": {
        "agent_name": "Sara",
        "property_name": "Marina Vista 2BR",
        "viewing_time": "Saturday 11:00 GST",
    },
}


def _shape(spec: MessageSend) -> None:
    if (spec.text is None) == (spec.template is None):
        raise ValidationError("message needs exactly one of text or template", field="message.text")
    if spec.text is not None and (spec.variables is not None or spec.language is not None):
        extra = "variables" if spec.variables is not None else "language"
        raise ValidationError(
            f"message.{extra} goes with a template, not text", field=f"message.{extra}"
        )


def _refusal(error: ProviderError) -> HadarError:
    """The answer for a provider's refusal (SPEC 9), kept with the failed message."""
    mapped: HadarError
    if error.kind == "outside_window":
        mapped = OutsideWindow(f"WhatsApp refused the message: {error.title}")
    elif error.kind == "invalid":
        mapped = ValidationError(
            f"WhatsApp refused the message: {error.title}", field=error.field or "message"
        )
    else:
        mapped = ServiceUnavailable(f"WhatsApp is unavailable: {error.title}")
    mapped.keep_effects = True
    return mapped


async def send_message(*, scope: Scope, data: Any) -> Message:
    """Send to a lead with a phone who has not opted out: text only inside the 24 h window,
    otherwise an approved template with exactly its variables."""
    scope.require_write(MESSAGES)
    spec = parse(MessageSend, data, root="message")
    _shape(spec)
    lead = await leads.get_lead(scope=scope, lead_id=spec.lead_id)
    if lead.phone is None:
        raise ValidationError(f"lead {lead.id} has no phone number", field="message.lead_id")
    if (lead.do_not_contact or {}).get("whatsapp"):
        raise DoNotContact(f"lead {lead.id} has opted out of WhatsApp")
    conversation = await conversations.conversation_for(
        scope=scope, lead_id=lead.id, channel=Channel.WHATSAPP.value
    )
    at = clock.now()
    template = None
    if spec.template is not None:
        template = await templates.sendable(scope=scope, name=spec.template, language=spec.language)
        check_variables(
            template=template.name,
            names=template.variables,
            variables=spec.variables or {},
            field="message.variables",
        )
    elif not is_open(conversation.last_inbound_at, at):
        raise OutsideWindow(
            "free-form text may be sent only within 24 hours of the lead's last message; "
            "send an approved template instead"
        )
    account = await integrations.connected(scope=scope, kind="whatsapp")
    message = Message(
        id=new_id("msg", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        conversation_id=conversation.id,
        lead_id=lead.id,
        direction=Direction.OUTBOUND.value,
        kind=(MessageKind.TEMPLATE if template else MessageKind.TEXT).value,
        text=spec.text if template is None else render(template.body, spec.variables or {}),
        template=template.name if template else None,
        variables=dict(spec.variables or {}) if template else None,
        language=template.language if template else None,
        status=MessageStatus.QUEUED.value,
        provider=account.provider,
        created_at=at,
        status_changed_at=at,
    )
    await message.save(force_create=True)
    # An agent replying has read the thread: its unread count starts again from 0.
    await conversations.touch_outbound(conversation=conversation, at=at)
    port = integrations.whatsapp_port(scope=scope, account=account)
    try:
        if template is None:
            sent = await port.send_text(to=lead.phone, text=spec.text or "")
        else:
            sent = await port.send_template(
                to=lead.phone,
                name=template.name,
                language=template.language,
                # The order Meta numbered them in when the template was submitted.
                parameters=[(spec.variables or {})[n] for n in placeholders(template.body)],
                body_text=message.text or "",
            )
    except ProviderError as error:
        if error.code == "circuit_open":
            # Nothing left the building: roll back, so a retry may send once the circuit closes.
            raise ServiceUnavailable(f"WhatsApp is unavailable: {error.title}") from None
        await _fail(scope, message, error)
        raise _refusal(error) from None
    await _accepted(scope, message, sent)
    return message


async def _fail(scope: Scope, message: Message, error: ProviderError) -> None:
    stored = error.as_stored()
    message.status = MessageStatus.FAILED.value
    message.error_code = str(stored["code"] or error.kind)
    message.error_title = str(stored["title"] or "")[:500]
    message.status_changed_at = clock.now()
    await message.save()
    await audit_send(scope=scope, message=message)


async def _accepted(scope: Scope, message: Message, sent: Sent) -> None:
    message.provider_message_id = sent.provider_message_id
    message.status = MessageStatus.SENT.value
    message.status_changed_at = clock.now()
    await message.save()
    await audit_send(scope=scope, message=message)
    await events.emit(
        scope=scope, type="message.status_updated", obj=conversations.present_message(message)
    )
    if message.provider == "sandbox":
        # The sandbox reports delivery at once; the answer still shows the send as `sent`.
        at = clock.now()
        await Message.filter(id=message.id).update(
            status=MessageStatus.DELIVERED.value, status_changed_at=at
        )
        shown = conversations.present_message(message)
        shown.update(status=MessageStatus.DELIVERED.value, status_changed_at=clock.isoformat(at))
        await events.emit(scope=scope, type="message.status_updated", obj=shown)


async def audit_send(*, scope: Scope, message: Message) -> None:
    """One audit row per send, whatever its outcome."""
    await audit.record(scope=scope, action=f"message.{message.status}", object_id=message.id)
