"""Batch lookups by id, for callers that resolve many references at once (GraphQL loaders)."""

from __future__ import annotations

from collections.abc import Sequence

from hadar.domain.bookings import Booking
from hadar.domain.calls import Call
from hadar.domain.conversations import Conversation, Message
from hadar.domain.invoices import Invoice
from hadar.domain.leads import Lead
from hadar.domain.properties import Property
from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.ids import looks_like


async def leads_by_ids(*, scope: Scope, ids: Sequence[str]) -> list[Lead | None]:
    """The leads with these ids in the caller's sandbox, in `ids` order; None where absent."""
    wanted = list({i for i in ids if looks_like("lead", i)})
    rows = (
        await Lead.filter(tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted)
        if wanted
        else []
    )
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def keys_by_ids(*, scope: Scope, ids: Sequence[str]) -> list[ApiKey | None]:
    """The API keys with these ids in the caller's sandbox (admin only), in `ids` order."""
    scope.require_read("api_keys")
    wanted = list({i for i in ids if looks_like("key", i)})
    rows = (
        await ApiKey.filter(tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted)
        if wanted
        else []
    )
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def properties_by_ids(*, scope: Scope, ids: Sequence[str]) -> list[Property | None]:
    """The properties with these ids in the caller's sandbox, in `ids` order; None where absent."""
    wanted = list({i for i in ids if looks_like("prop", i)})
    rows = (
        await Property.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, id__in=wanted
        )
        if wanted
        else []
    )
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


async def conversations_by_leads(
    *, scope: Scope, lead_ids: Sequence[str]
) -> list[list[Conversation]]:
    """Each lead's conversations (newest first), in `lead_ids` order: one query for all."""
    wanted = list({i for i in lead_ids if looks_like("lead", i)})
    rows = (
        await Conversation.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, lead_id__in=wanted
        ).order_by("-id")
        if wanted
        else []
    )
    found: dict[str, list[Conversation]] = {}
    for row in rows:
        found.setdefault(row.lead_id, []).append(row)
    return [found.get(i, []) for i in lead_ids]


async def messages_by_conversations(
    *, scope: Scope, conversation_ids: Sequence[str], per_conversation: int
) -> list[list[Message]]:
    """Each conversation's first `per_conversation` messages (oldest first), in order: one
    query for all (a longer thread is paged through `conversationMessages`)."""
    wanted = list({i for i in conversation_ids if looks_like("conv", i)})
    rows = (
        await Message.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, conversation_id__in=wanted
        ).order_by("id")
        if wanted
        else []
    )
    found: dict[str, list[Message]] = {}
    for row in rows:
        thread = found.setdefault(row.conversation_id, [])
        if len(thread) < per_conversation:
            thread.append(row)
    return [found.get(i, []) for i in conversation_ids]


async def calls_by_leads(*, scope: Scope, lead_ids: Sequence[str]) -> list[list[Call]]:
    """Each lead's calls in the caller's sandbox, newest first, in `lead_ids` order (one query)."""
    scope.require_read("calls")
    wanted = list({i for i in lead_ids if looks_like("lead", i)})
    rows = (
        await Call.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, lead_id__in=wanted
        ).order_by("-id")
        if wanted
        else []
    )
    grouped: dict[str, list[Call]] = {}
    for row in rows:
        grouped.setdefault(row.lead_id, []).append(row)
    return [grouped.get(i, []) for i in lead_ids]


LEAD_INVOICES = 100  # a lead's invoices shown through GraphQL `Lead.invoices`, newest first


async def invoices_by_lead_ids(*, scope: Scope, lead_ids: Sequence[str]) -> list[list[Invoice]]:
    """Each lead's invoices (newest first, at most LEAD_INVOICES), in `lead_ids` order."""
    scope.require_read("invoices")
    wanted = list({i for i in lead_ids if looks_like("lead", i)})
    rows = (
        await Invoice.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, lead_id__in=wanted
        ).order_by("-id")
        if wanted
        else []
    )
    found: dict[str, list[Invoice]] = {}
    for row in rows:
        bucket = found.setdefault(row.lead_id, [])
        if len(bucket) < LEAD_INVOICES:
            bucket.append(row)
    return [found.get(i, []) for i in lead_ids]


async def bookings_by_parents(
    *, scope: Scope, column: str, parent_ids: Sequence[str]
) -> list[list[Booking]]:
    """Each lead's or property's bookings (`column` lead_id or property_id), newest first, in
    `parent_ids` order: one query for all."""
    prefix = {"lead_id": "lead", "property_id": "prop"}[column]
    wanted = list({i for i in parent_ids if looks_like(prefix, i)})
    rows = (
        await Booking.filter(
            tenant_id=scope.tenant_id, environment=scope.environment, **{f"{column}__in": wanted}
        ).order_by("-id")
        if wanted
        else []
    )
    found: dict[str, list[Booking]] = {}
    for row in rows:
        found.setdefault(getattr(row, column), []).append(row)
    return [found.get(i, []) for i in parent_ids]
