"""Conversations (one per lead and channel) and their messages, with the rules WhatsApp imposes:
the 24-hour customer-service window, opt-out words, and forward-only delivery statuses.

Inbound dedupe is atomic in the schema: a provider's message id is unique per tenant,
environment and provider, so a replayed webhook's INSERT fails with IntegrityError and the
service answers 200 with no change. Outbound rows have no provider id until the provider
answers; NULLs are distinct in a unique index on SQLite and PostgreSQL, so those never clash.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.leads import Lead
from hadar.domain.scope import AGENTS, Resource
from hadar.domain.tenants import Tenant

WINDOW = timedelta(hours=24)


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    VOICE = "voice"
    EMAIL = "email"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageKind(StrEnum):
    TEXT = "text"
    TEMPLATE = "template"
    # An inbound type we do not model (image, reaction, location, ...): the provider's own type
    # is kept in Message.provider_kind so nothing the lead sent is lost.
    OTHER = "other"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


ids.declare("conv", param="conversation_id")
ids.declare("msg", param="message_id")
CONVERSATIONS = Resource("conversations", writers=AGENTS)
MESSAGES = Resource("messages", writers=AGENTS)


class Conversation(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="conversations", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "hadar.Lead", related_name="conversations", on_delete=fields.CASCADE
    )
    lead_id: str
    channel = fields.CharField(max_length=16)
    last_inbound_at = fields.DatetimeField(null=True)
    last_message_at = fields.DatetimeField(null=True)
    unread_count = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "conversations"
        # The service creates a conversation with INSERT and, on IntegrityError, reads the
        # winner's row: two first messages at once still share one conversation.
        unique_together = (("tenant_id", "environment", "lead_id", "channel"),)
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            Index(fields=("tenant_id", "environment", "channel", "id")),
            Index(fields=("tenant_id", "environment", "last_inbound_at")),
        ]

    @property
    def window_expires_at(self) -> datetime | None:
        return window_expires_at(self.last_inbound_at)


class Message(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant_id = fields.CharField(max_length=40)
    environment = fields.CharField(max_length=8)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "hadar.Conversation", related_name="messages", on_delete=fields.CASCADE
    )
    conversation_id: str
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "hadar.Lead", related_name="messages", on_delete=fields.CASCADE
    )
    lead_id: str
    direction = fields.CharField(max_length=8)
    kind = fields.CharField(max_length=16)
    provider_kind = fields.CharField(max_length=32, null=True)
    text = fields.TextField(null=True)
    template = fields.CharField(max_length=512, null=True)
    variables: fields.Field[dict[str, str] | None] = fields.JSONField(null=True)
    language = fields.CharField(max_length=16, null=True)
    status = fields.CharField(max_length=16)
    # sandbox | meta | ultramsg | vapi: part of the dedupe key, since ids are per provider.
    provider = fields.CharField(max_length=16)
    provider_message_id = fields.CharField(max_length=255, null=True)
    error_code = fields.CharField(max_length=64, null=True)
    error_title = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()
    status_changed_at = fields.DatetimeField()

    class Meta:
        table = "messages"
        unique_together = (("tenant_id", "environment", "provider", "provider_message_id"),)
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            # A thread is read oldest first: keyset over (conversation_id, id) ascending.
            Index(fields=("conversation_id", "id")),
            Index(fields=("lead_id", "id")),
        ]


def window_expires_at(last_inbound_at: datetime | None) -> datetime | None:
    """When free-form sending closes: 24 h after the last inbound message (None before any)."""
    return None if last_inbound_at is None else last_inbound_at + WINDOW


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """True while free-form messages may be sent: `now` in [last inbound, last inbound + 24 h).

    The interval is half-open: 23:59:59.999 after the inbound is inside, exactly 24:00:00 is
    already outside (window_expires_at is the first instant at which the window is shut),
    matching Meta, which refuses a free-form send once 24 hours have elapsed.
    """
    expires = window_expires_at(last_inbound_at)
    return expires is not None and now < expires


OPT_OUT_WORDS = frozenset({"stop", "unsubscribe", "إلغاء", "الغاء"})
_TATWEEL = "\u0640"
# Invisible marks phones insert around right-to-left text (LRM/RLM, bidi embeddings and
# isolates, zero-width space/joiners, BOM): they change no letter a person typed.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_TRAILING_STOPS = ".!"


def is_opt_out(text: str | None) -> bool:
    """True when an inbound text is an opt-out word: stop, unsubscribe, إلغاء or الغاء.

    Compared after NFKC (full-width letters, composed hamza), removing invisible direction
    marks and the tatweel (a pure stretching stroke: إلـغاء is إلغاء), trimming whitespace and
    trailing `.`/`!`, and case-folding. Deliberately conservative otherwise: the word must be the
    whole message ("stop it", "stop?" and "please stop" do not opt out), and no other spelling
    (أ for إ, diacritics, translations) is guessed at; the agent sees those in the thread.
    """
    if not text:
        return False
    cleaned = unicodedata.normalize("NFKC", text)
    cleaned = _INVISIBLE.sub("", cleaned).replace(_TATWEEL, "")
    cleaned = cleaned.strip().rstrip(_TRAILING_STOPS).strip().casefold()
    return cleaned in OPT_OUT_WORDS


# A total order in which every report may only raise the status. `failed` ranks above
# `delivered` (a provider's failure report is authoritative for a message nobody has read) and
# below `read` (a read receipt proves the message arrived, so the service clears the stored
# error when it moves a failed message to read). Because it is a total order, the
# final status of a message is the highest one reported, whatever order the provider's
# callbacks arrive in, and a duplicated callback changes nothing.
_STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.FAILED: 3,
    MessageStatus.READ: 4,
}


def advance_status(current: str, new: str) -> str | None:
    """The status to store when `new` is reported on a message at `current`; None to ignore it.

    Forward only: a late `delivered` after `read` changes nothing; `read` without `delivered`
    is accepted; a repeat of the current status is ignored. ValueError for an unknown status.
    """
    now_rank = _STATUS_RANK[MessageStatus(current)]
    new_rank = _STATUS_RANK[MessageStatus(new)]
    return MessageStatus(new).value if new_rank > now_rank else None
