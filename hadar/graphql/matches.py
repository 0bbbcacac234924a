"""A lead's property matches: the `Lead.matches` relation (batched across a page of leads)
and its root twin `leadMatches`, over the same service as GET /api/v1/leads/{id}/matches."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.graphql.context import Context
from hadar.graphql.derive import object_type
from hadar.graphql.properties import Property
from hadar.graphql.types import query
from hadar.services import matches as match_service

assert Property  # the Property type (with Node) is built before a match nests it
PropertyMatch = object_type(match_service.PropertyMatchOut)


def _match_of(pair: Any) -> Any:
    return PropertyMatch.from_dict(match_service.present_match(*pair))  # type: ignore[attr-defined]


async def resolve_matches(
    root: Any, info: Info[Context, None], limit: int | None = None
) -> list[PropertyMatch]:
    size = match_service.match_limit(limit)
    wish = match_service.wish_of(root)
    ranked = await info.context.loaders.of(match_service.rank_for).load((wish, size))
    return [_match_of(pair) for pair in ranked]


# Lead's relation field (hadar.graphql.leads passes it to object_type(..., relations=)).
MATCHES_FIELD = strawberry.field(
    resolver=resolve_matches,
    description="Available properties that fit this lead, best first (limit 1-100, default "
    f"{match_service.DEFAULT_LIMIT}); the same ranking as GET /api/v1/leads/{{id}}/matches.",
)


@strawberry.type
class Query:
    @query(
        match_service.MATCHES,
        "A lead's best available properties, best first (REST: GET "
        "/api/v1/leads/{id}/matches); `lead { matches }` gives the same for a page of leads.",
    )
    async def lead_matches(
        self, info: Info[Context, None], lead_id: strawberry.ID, limit: int | None = None
    ) -> list[PropertyMatch]:
        ranked = await match_service.lead_matches(
            scope=info.context.scope, lead_id=str(lead_id), limit=limit
        )
        return [_match_of(pair) for pair in ranked]
