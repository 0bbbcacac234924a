"""Per-request DataLoaders: every reference to another object goes through one of these, so a
page of 100 rows costs one batched query per relation, never one per row.

Built by `Loaders.for_scope` in the view's get_context, once per request (never module-level:
a loader caches, and its cache must not outlive the caller's tenant, key and transaction).
To add a relation (a lead's conversations, a booking's property), add a batch function in
`hadar.services.lookups` and a loader here, then resolve the field with `.load(id)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from hadar.domain.bookings import Booking
from hadar.domain.calls import Call
from hadar.domain.conversations import Conversation, Message
from hadar.domain.invoices import Invoice
from hadar.domain.leads import Lead, LeadRecord
from hadar.domain.matching import LeadWish
from hadar.domain.properties import Property, PropertyRecord
from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.pagination import MAX_LIMIT
from hadar.services import lookups, matches


@dataclass(frozen=True)
class Loaders:
    lead: DataLoader[str, Lead | LeadRecord | None]
    api_key: DataLoader[str, ApiKey | None]
    property: DataLoader[str, Property | PropertyRecord | None]
    # (what a lead asks for, limit) -> its ranked matches: one query for a whole page of leads.
    matches: DataLoader[tuple[LeadWish, int], matches.Ranked]
    conversations_of_lead: DataLoader[str, list[Conversation]]
    messages_of_conversation: DataLoader[str, list[Message]]
    lead_calls: DataLoader[str, list[Call]]
    lead_invoices: DataLoader[str, list[Invoice]]
    bookings_of_lead: DataLoader[str, list[Booking]]
    bookings_of_property: DataLoader[str, list[Booking]]
    known_leads: dict[str, Lead | LeadRecord] = field(default_factory=dict)
    known_properties: dict[str, Property | PropertyRecord] = field(default_factory=dict)

    @classmethod
    def for_scope(cls, scope: Scope) -> Loaders:
        known: dict[str, Lead | LeadRecord] = {}

        async def load_leads(ids: Sequence[str]) -> list[Lead | LeadRecord | None]:
            missing = [i for i in ids if i not in known]
            found = await lookups.leads_by_ids(scope=scope, ids=missing) if missing else []
            fetched = dict(zip(missing, found, strict=True))
            return [known.get(i) or fetched.get(i) for i in ids]

        async def load_keys(ids: Sequence[str]) -> list[ApiKey | None]:
            return await lookups.keys_by_ids(scope=scope, ids=ids)

        known_properties: dict[str, Property | PropertyRecord] = {}

        async def load_properties(ids: Sequence[str]) -> list[Property | PropertyRecord | None]:
            missing = [i for i in ids if i not in known_properties]
            found = await lookups.properties_by_ids(scope=scope, ids=missing) if missing else []
            fetched = dict(zip(missing, found, strict=True))
            return [known_properties.get(i) or fetched.get(i) for i in ids]

        async def load_matches(keys: Sequence[tuple[LeadWish, int]]) -> list[matches.Ranked]:
            return await matches.rank_for(scope=scope, wishes=keys)

        async def load_conversations(ids: Sequence[str]) -> list[list[Conversation]]:
            return await lookups.conversations_by_leads(scope=scope, lead_ids=ids)

        async def load_messages(ids: Sequence[str]) -> list[list[Message]]:
            return await lookups.messages_by_conversations(
                scope=scope, conversation_ids=ids, per_conversation=MAX_LIMIT
            )

        async def load_lead_calls(ids: Sequence[str]) -> list[list[Call]]:
            return await lookups.calls_by_leads(scope=scope, lead_ids=ids)

        async def load_lead_invoices(ids: Sequence[str]) -> list[list[Invoice]]:
            return await lookups.invoices_by_lead_ids(scope=scope, lead_ids=ids)

        async def load_lead_bookings(ids: Sequence[str]) -> list[list[Booking]]:
            return await lookups.bookings_by_parents(scope=scope, column="lead_id", parent_ids=ids)

        async def load_property_bookings(ids: Sequence[str]) -> list[list[Booking]]:
            return await lookups.bookings_by_parents(
                scope=scope, column="property_id", parent_ids=ids
            )

        return cls(
            lead=DataLoader(load_fn=load_leads),
            api_key=DataLoader(load_fn=load_keys),
            property=DataLoader(load_fn=load_properties),
            matches=DataLoader(load_fn=load_matches),
            conversations_of_lead=DataLoader(load_fn=load_conversations),
            messages_of_conversation=DataLoader(load_fn=load_messages),
            lead_calls=DataLoader(load_fn=load_lead_calls),
            lead_invoices=DataLoader(load_fn=load_lead_invoices),
            bookings_of_lead=DataLoader(load_fn=load_lead_bookings),
            bookings_of_property=DataLoader(load_fn=load_property_bookings),
            known_leads=known,
            known_properties=known_properties,
        )

    def prime_leads(self, rows: Sequence[Lead | LeadRecord]) -> None:
        """Remember rows a list already fetched, so relations pointing at them cost no query.
        (A plain dict the batch function consults: cheaper than priming futures per row.)"""
        for row in rows:
            self.known_leads[row.id] = row

    def prime_properties(self, rows: Sequence[Property | PropertyRecord]) -> None:
        """Remember properties a list already fetched (as prime_leads does for leads)."""
        for row in rows:
            self.known_properties[row.id] = row
