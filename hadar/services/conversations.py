"""Conversations (one per lead and channel) and their messages: reads, the window, the
conversation every message is filed under, and its unread count.

`unread_count` counts inbound messages since the agency last read the thread (mark_read) or
replied in it (an outbound send). Every change to it is one UPDATE of the column itself
(`+ 1` or `= 0`), never a value read earlier and written back, so an inbound filed while an
agent marks the thread read is either counted after the read or read by it, never lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.conversations import (
    CONVERSATIONS,
    MESSAGES,
    WINDOW,
    Conversation,
    Message,
    window_open,
)
from hadar.domain.scope import Operation, Scope
from hadar.errors import ValidationError
from hadar.ids import looks_like, new_id
from hadar.pagination import Page, check_limit, page_of, signer
from hadar.services import audit
from hadar.services.listing import binding, get_in_scope, keyset, scoped
from hadar.services.models import JSON, Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery, parse

LIST = Operation("conversations.list", CONVERSATIONS)
RETRIEVE = Operation("conversations.retrieve", CONVERSATIONS)
LIST_MESSAGES = Operation("conversations.messages", MESSAGES)
RETRIEVE_MESSAGE = Operation("messages.retrieve", MESSAGES)
MARK_READ = Operation("conversations.mark_read", CONVERSATIONS, mutation=True)
ChannelName = Literal["whatsapp", "voice", "email"]


class ConversationQuery(PageQuery):
    """The filters of GET /conversations."""

    lead_id: str | None = pydantic.Field(default=None, min_length=1, max_length=40)
    channel: ChannelName | None = None
    window_open: bool | None = pydantic.Field(
        default=None, description="Only conversations whose 24 h window is (not) open now."
    )


class MessageQuery(PageQuery):
    """GET /conversations/{id}/messages: oldest first, page parameters only."""


class ConversationOut(Out):
    """A lead's thread on one channel, with its WhatsApp customer-service window."""

    id: id_of("conv")  # type: ignore[valid-type]
    object: Literal["conversation"]
    lead_id: id_of("lead")  # type: ignore[valid-type]
    channel: ChannelName
    last_inbound_at: Timestamp | None
    window_expires_at: Timestamp | None = pydantic.Field(description="last inbound + 24 h")
    window_open: bool
    last_message_at: Timestamp | None
    unread_count: int = pydantic.Field(ge=0)
    created_at: Timestamp


class MessageErrorOut(Out):
    """Why the provider refused or failed the message (Meta's code, or ours)."""

    code: str
    title: str


class MessageOut(Out):
    """One message in a thread, inbound or outbound; status only moves forward."""

    id: id_of("msg")  # type: ignore[valid-type]
    object: Literal["message"]
    conversation_id: id_of("conv")  # type: ignore[valid-type]
    lead_id: id_of("lead")  # type: ignore[valid-type]
    direction: Literal["inbound", "outbound"]
    kind: Literal["text", "template", "other"] = pydantic.Field(
        description="other: an inbound type Hadar does not model (see provider_kind)"
    )
    provider_kind: str | None = pydantic.Field(description="the provider's own message type")
    text: str | None
    template: str | None
    variables: Annotated[dict[str, str], JSON] | None
    language: str | None
    status: Literal["queued", "sent", "delivered", "read", "failed"]
    provider: str
    provider_message_id: str | None
    error: MessageErrorOut | None
    created_at: Timestamp
    status_changed_at: Timestamp


ConversationListOut = list_of(ConversationOut)
MessageListOut = list_of(MessageOut)


async def conversation_for(*, scope: Scope, lead_id: str, channel: str) -> Conversation:
    """The lead's conversation on `channel`, created on first use (one per lead and channel,
    even when two first messages race: the loser reads the winner's row)."""
    query = scoped(Conversation, scope).filter(lead_id=lead_id, channel=channel)
    found = await query.select_for_update().first()
    if found is not None:
        return found
    at = clock.now()
    row = Conversation(
        id=new_id("conv", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        lead_id=lead_id,
        channel=channel,
        created_at=at,
        updated_at=at,
    )
    try:
        async with in_transaction():
            await row.save(force_create=True)
    except IntegrityError:
        return await query.select_for_update().get()
    return row


async def touch_inbound(*, conversation: Conversation, at: datetime) -> None:
    """One more unread inbound message at `at`, which opens or extends the window."""
    changes: dict[str, Any] = {"unread_count": F("unread_count") + 1, "updated_at": clock.now()}
    # Providers may deliver an older message late: the window only ever moves forward.
    if conversation.last_inbound_at is None or at > conversation.last_inbound_at:
        changes["last_inbound_at"] = conversation.last_inbound_at = at
    if conversation.last_message_at is None or at > conversation.last_message_at:
        changes["last_message_at"] = conversation.last_message_at = at
    await Conversation.filter(id=conversation.id).update(**changes)


async def touch_outbound(*, conversation: Conversation, at: datetime) -> None:
    """An outbound message at `at`: the agency replied, so it has read the thread."""
    await Conversation.filter(id=conversation.id).update(
        unread_count=0, last_message_at=at, updated_at=at
    )
    conversation.unread_count, conversation.last_message_at, conversation.updated_at = 0, at, at


async def mark_read(*, scope: Scope, conversation_id: str) -> Conversation:
    """The agency has read the thread: its unread count is 0 (idempotent; agents and admins)."""
    scope.require_write(CONVERSATIONS)
    row = await get_conversation(scope=scope, conversation_id=conversation_id)
    await Conversation.filter(id=row.id, unread_count__gt=0).update(
        unread_count=0, updated_at=clock.now()
    )
    await row.refresh_from_db()
    await audit.record(scope=scope, action="conversation.read", object_id=row.id)
    return row


async def get_conversation(*, scope: Scope, conversation_id: str) -> Conversation:
    """The conversation in the caller's scope, else NotFound."""
    return await get_in_scope(
        Conversation, scope=scope, prefix="conv", object_id=conversation_id, noun="conversation"
    )


async def get_message(*, scope: Scope, message_id: str) -> Message:
    """The message in the caller's scope, else NotFound."""
    return await get_in_scope(
        Message, scope=scope, prefix="msg", object_id=message_id, noun="message"
    )


async def list_conversations(
    *,
    scope: Scope,
    lead_id: str | None = None,
    channel: str | None = None,
    window_open: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Conversation]:
    """Newest first, filtered by lead, channel and whether the window is open right now."""
    given = {"lead_id": lead_id, "channel": channel, "window_open": window_open}
    spec = parse(
        ConversationQuery,
        {k: v for k, v in {**given, "limit": limit, "cursor": cursor}.items() if v is not None},
        root="",
    )
    size = check_limit(spec.limit)
    query = scoped(Conversation, scope)
    if spec.lead_id is not None:
        if not looks_like("lead", spec.lead_id):
            raise ValidationError("lead_id must be a lead_ id", field="lead_id")
        query = query.filter(lead_id=spec.lead_id)
    if spec.channel is not None:
        query = query.filter(channel=spec.channel)
    if spec.window_open is not None:
        # Open now means the last inbound is less than 24 h ago (hadar.domain.conversations).
        opened_after = clock.now() - WINDOW
        if spec.window_open:
            query = query.filter(last_inbound_at__gt=opened_after)
        else:
            query = query.filter(
                Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lte=opened_after)
            )
    bound = binding(
        scope,
        "conversations",
        {"lead_id": spec.lead_id, "channel": spec.channel, "window_open": spec.window_open},
    )
    rows = await keyset(query, binding=bound, limit=size, cursor=spec.cursor)
    return page_of(rows, size, bound)


async def list_messages(
    *, scope: Scope, conversation_id: str, limit: int | None = None, cursor: str | None = None
) -> Page[Message]:
    """The thread oldest first (read top-down), keyset-paginated like every list."""
    conversation = await get_conversation(scope=scope, conversation_id=conversation_id)
    spec = parse(MessageQuery, {"limit": limit, "cursor": cursor}, root="")
    size = check_limit(spec.limit)
    bound = binding(scope, "messages", {"conversation": conversation.id})
    query = scoped(Message, scope).filter(conversation_id=conversation.id)
    if spec.cursor:
        query = query.filter(id__gt=signer().read(spec.cursor, bound))
    rows = await query.order_by("id").limit(size + 1)
    return page_of(rows, size, bound)


def present_conversation(row: Conversation) -> dict[str, Any]:
    """The public shape of a conversation; `window_open` as of now (the injectable clock)."""
    return {
        "id": row.id,
        "object": "conversation",
        "lead_id": row.lead_id,
        "channel": row.channel,
        "last_inbound_at": _iso(row.last_inbound_at),
        "window_expires_at": _iso(row.window_expires_at),
        "window_open": window_open(row.last_inbound_at, clock.now()),
        "last_message_at": _iso(row.last_message_at),
        "unread_count": row.unread_count,
        "created_at": clock.isoformat(row.created_at),
    }


def present_message(row: Message) -> dict[str, Any]:
    """The public shape of a message (REST body, `message.*` webhooks)."""
    error = None
    if row.error_code is not None:
        error = {"code": row.error_code, "title": row.error_title or ""}
    return {
        "id": row.id,
        "object": "message",
        "conversation_id": row.conversation_id,
        "lead_id": row.lead_id,
        "direction": row.direction,
        "kind": row.kind,
        "provider_kind": row.provider_kind,
        "text": row.text,
        "template": row.template,
        "variables": row.variables,
        "language": row.language,
        "status": row.status,
        "provider": row.provider,
        "provider_message_id": row.provider_message_id,
        "error": error,
        "created_at": clock.isoformat(row.created_at),
        "status_changed_at": clock.isoformat(row.status_changed_at),
    }


def _iso(value: Any) -> str | None:
    return clock.isoformat(value) if value is not None else None
