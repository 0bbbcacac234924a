"""GraphQL twins of the call routes: the same services, the same Operations."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.calls import CALLS
from hadar.domain.calls import Call as CallRow
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.types import Connection, Node, NodeKind, mutation, query
from hadar.services import calls as service

Call = object_type(service.CallOut, interfaces=(Node,))
CallCreateInput = input_type(service.CallCreate, "CallCreateInput")


def call_of(row: CallRow) -> Any:
    return Call.from_dict(service.present_call(row))  # type: ignore[attr-defined]


async def find_call(context: Context, call_id: str) -> Any:
    """One call by id in the caller's sandbox (NotFound otherwise)."""
    return call_of(await service.get_call(scope=context.scope, call_id=call_id))


NODES = (NodeKind("call", Call, CALLS, find_call),)


@strawberry.type
class Query:
    @query(
        service.LIST,
        "Voice calls, newest first (REST: GET /api/v1/calls; first = limit, after = cursor).",
    )
    async def calls(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        lead_id: strawberry.ID | None = None,
        status: str | None = None,
    ) -> Connection[Call]:
        page = await service.list_calls(
            scope=info.context.scope,
            limit=first,
            cursor=after,
            lead_id=str(lead_id) if lead_id is not None else None,
            status=status,
        )
        return Connection.of(page, call_of, after=after)

    @query(service.RETRIEVE, "One call (REST: GET /api/v1/calls/{id}).")
    async def call(self, info: Info[Context, None], id: strawberry.ID) -> Call:
        return await find_call(info.context, str(id))


@strawberry.type
class Mutation:
    @mutation(
        service.CREATE,
        "Call a lead with the AI voice agent through Vapi (REST: POST /api/v1/calls).",
    )
    async def create_call(self, info: Info[Context, None], input: CallCreateInput) -> Call:
        row = await service.create_call(scope=info.context.scope, data=as_body(input))
        return call_of(row)
