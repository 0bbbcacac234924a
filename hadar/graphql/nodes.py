"""`node(id:)` and `nodes(ids:)`: any object by its prefixed id, batched through the loaders.

The kinds come from the feature modules' `NODES` (hadar.graphql.types.NodeKind): a new
resource that declares its kind is found here by existing."""

from __future__ import annotations

import asyncio
from functools import cache

import strawberry
from strawberry.types import Info

from hadar.discovery import modules
from hadar.errors import NotFound, ValidationError
from hadar.graphql.context import Context
from hadar.graphql.types import Node, NodeKind
from hadar.ids import looks_like
from hadar.pagination import MAX_LIMIT


@cache
def kinds() -> dict[str, NodeKind]:
    """Every feature module's node kinds, by id prefix (read once: modules do not change)."""
    found: dict[str, NodeKind] = {}
    for module in modules("hadar.graphql", skip=frozenset({"schema", "view"})):
        for kind in vars(module).get("NODES", ()):
            assert kind.prefix not in found, f"two node kinds claim {kind.prefix}_"
            found[kind.prefix] = kind
    return found


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its id; null when it does not exist here.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        return await _node(info.context, str(id))

    @strawberry.field(description="Objects by id, in order; null where one does not exist.")
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_LIMIT:
            raise ValidationError(f"ids may name at most {MAX_LIMIT} objects", field="ids")
        # Gathered, so the loaders see every id in one tick and batch them into one query.
        return list(await asyncio.gather(*(_node(info.context, str(i)) for i in ids)))


async def _node(context: Context, node_id: str) -> Node | None:
    kind = kinds().get(node_id.partition("_")[0])
    if kind is None or not looks_like(kind.prefix, node_id):
        return None
    if kind.resource.fail_closed:  # as its own list and get do (SPEC 5)
        await context.runtime.guard.require_reachable()
    try:
        found: Node | None = await kind.fetch(context, node_id)
    except NotFound:
        return None
    return found
