"""Per-request DataLoaders: every reference to another object goes through one of these, so a
page of 100 rows costs one batched query per relation, never one per row.

Built by `Loaders.for_scope` in the view's get_context, once per request (never module-level:
a loader caches, and its cache must not outlive the caller's tenant, key and transaction).
To add a relation (a lead's conversations, a booking's property), add a batch function in
`hadar.services.lookups` and a loader here, then resolve the field with `.load(id)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from hadar.domain.leads import Lead
from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.services import lookups


@dataclass(frozen=True)
class Loaders:
    lead: DataLoader[str, Lead | None]
    api_key: DataLoader[str, ApiKey | None]

    @classmethod
    def for_scope(cls, scope: Scope) -> Loaders:
        async def load_leads(ids: Sequence[str]) -> list[Lead | None]:
            return await lookups.leads_by_ids(scope=scope, ids=ids)

        async def load_keys(ids: Sequence[str]) -> list[ApiKey | None]:
            return await lookups.keys_by_ids(scope=scope, ids=ids)

        return cls(lead=DataLoader(load_fn=load_leads), api_key=DataLoader(load_fn=load_keys))

    def prime_leads(self, rows: Sequence[Lead]) -> None:
        """Remember rows a list already fetched, so relations pointing at them cost no query."""
        self.lead.prime_many({row.id: row for row in rows})
