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

from hadar.domain.invoices import Invoice
from hadar.domain.leads import Lead, LeadRecord
from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.services import lookups


@dataclass(frozen=True)
class Loaders:
    lead: DataLoader[str, Lead | LeadRecord | None]
    api_key: DataLoader[str, ApiKey | None]
    lead_invoices: DataLoader[str, list[Invoice]]
    known_leads: dict[str, Lead | LeadRecord] = field(default_factory=dict)

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

        async def load_lead_invoices(ids: Sequence[str]) -> list[list[Invoice]]:
            return await lookups.invoices_by_lead_ids(scope=scope, lead_ids=ids)

        return cls(
            lead=DataLoader(load_fn=load_leads),
            api_key=DataLoader(load_fn=load_keys),
            lead_invoices=DataLoader(load_fn=load_lead_invoices),
            known_leads=known,
        )

    def prime_leads(self, rows: Sequence[Lead | LeadRecord]) -> None:
        """Remember rows a list already fetched, so relations pointing at them cost no query.
        (A plain dict the batch function consults: cheaper than priming futures per row.)"""
        for row in rows:
            self.known_leads[row.id] = row
