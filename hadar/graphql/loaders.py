"""Per-request DataLoaders: every reference to another object goes through one of these, so a
page of 100 rows costs one batched query per relation, never one per row.

`context.loaders.of(batch, **params)` is the loader of one batch function (called as
`batch(scope=…, keys=…, **params)`, answering in `keys` order) with those parameters, made on
first use: `of(lookups.children, model=Booking, column="lead_id")` is "a lead's bookings". A
new relation needs no code here. Built once per request in the view's get_context (never
module-level: a loader caches, and its cache must not outlive the caller's tenant, key and
transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from hadar.domain.scope import Resource, Scope
from hadar.errors import NotFound
from hadar.services import lookups

Batch = Callable[..., Awaitable[Sequence[Any]]]


class Loaders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._loaders: dict[tuple[Batch, tuple[tuple[str, Any], ...]], DataLoader[Any, Any]] = {}
        self._known: dict[tuple[Batch, tuple[tuple[str, Any], ...]], dict[Hashable, Any]] = {}

    @classmethod
    def for_scope(cls, scope: Scope) -> Loaders:
        return cls(scope)

    def of(self, batch: Batch, **params: Any) -> DataLoader[Any, Any]:
        """The request's loader for `batch` with `params` (the same one on every call)."""
        key = (batch, tuple(sorted(params.items())))
        loader = self._loaders.get(key)
        if loader is None:
            known = self._known.setdefault(key, {})
            scope = self.scope

            async def load(keys: Sequence[Any]) -> list[Any]:
                missing = [k for k in keys if k not in known]
                found = await batch(scope=scope, keys=missing, **params) if missing else []
                fetched = dict(zip(missing, found, strict=True))
                return [_settled(known, k) if k in known else fetched[k] for k in keys]

            loader = self._loaders[key] = DataLoader(load_fn=load)
        return loader

    def by_id(self, model: type[Any], resource: Resource | None = None) -> DataLoader[str, Any]:
        """`model` rows by id in the caller's sandbox (None where absent)."""
        return self.of(lookups.by_ids, model=model, resource=resource)

    async def one(self, model: type[Any], object_id: str, noun: str) -> Any:
        """The `model` row with `object_id` through `by_id`, else NotFound naming `noun`."""
        row = await self.by_id(model).load(object_id)
        if row is None:
            raise NotFound(f"{noun} {object_id} does not exist")
        return row

    def children(self, model: type[Any], column: str, **params: Any) -> DataLoader[str, Any]:
        """Each parent's `model` rows, `column` naming the parent (see lookups.children)."""
        return self.of(lookups.children, model=model, column=column, **params)

    def prime(self, rows: Sequence[Any], batch: Batch, **params: Any) -> None:
        """Remember rows a list already fetched, by id, so references to them through
        `of(batch, **params)` cost no query (a plain dict the batch consults: cheaper than
        priming futures per row)."""
        known = self._known.setdefault((batch, tuple(sorted(params.items()))), {})
        for row in rows:
            known[row.id] = row

    def prime_by_id(self, rows: Sequence[Any], model: type[Any]) -> None:
        """Prime `by_id(model)` with rows a list already fetched."""
        self.prime(rows, lookups.by_ids, model=model, resource=None)

    def prime_raw(
        self, rows: Sequence[Mapping[str, Any]], model: type[Any], build: Callable[[Any], Any]
    ) -> None:
        """Prime `by_id(model)` with database rows a list already fetched, each made into
        what `by_id` answers (`build(row)`) only if something asks for it: most list queries
        never do, and building a record for each of 25 rows was an eighth of one."""
        self.prime(
            [_Unbuilt(row, build) for row in rows], lookups.by_ids, model=model, resource=None
        )


class _Unbuilt:
    """A primed row not yet made into what its loader answers."""

    __slots__ = ("build", "id", "row")

    def __init__(self, row: Any, build: Callable[[Any], Any]) -> None:
        self.id, self.row, self.build = row["id"], row, build


def _settled(known: dict[Hashable, Any], key: Hashable) -> Any:
    value = known[key]
    if isinstance(value, _Unbuilt):
        value = known[key] = value.build(value.row)
    return value
