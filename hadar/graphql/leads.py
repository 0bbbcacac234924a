"""GraphQL twins of the lead routes: the same services, the same Operations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.types import Info

from hadar.domain.leads import LEADS, LeadRecord
from hadar.domain.leads import Lead as LeadRow
from hadar.graphql.bookings import lead_bookings
from hadar.graphql.context import Context
from hadar.graphql.conversations import lead_conversations
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.invoices import lead_invoices
from hadar.graphql.matches import MATCHES_FIELD
from hadar.graphql.presented import PRESENTED
from hadar.graphql.scalars import DateTime
from hadar.graphql.types import (
    Connection,
    DeletedObject,
    Edge,
    Node,
    NodeKind,
    PageInfo,
    mutation,
    query,
)
from hadar.pagination import Page
from hadar.services import lead_models
from hadar.services import leads as lead_service

if TYPE_CHECKING:
    from hadar.graphql.calls import Call


async def _calls(
    root: Any, info: Info[Context, None]
) -> list[Annotated[Call, strawberry.lazy("hadar.graphql.calls")]]:
    from hadar.domain.calls import Call as CallRow
    from hadar.graphql.calls import call_of  # calls' types import this module

    rows = await info.context.loaders.children(CallRow, "lead_id").load(str(root.id))
    return [call_of(row) for row in rows]


Lead = object_type(
    lead_service.LeadOut,
    interfaces=(Node,),
    relations={
        "matches": MATCHES_FIELD,
        "conversations": strawberry.field(
            resolver=lead_conversations, description="The lead's conversations, newest first."
        ),
        "calls": strawberry.field(
            resolver=_calls, description="The lead's voice calls, newest first (batched)."
        ),
        "invoices": strawberry.field(resolver=lead_invoices),
        "bookings": strawberry.field(
            resolver=lead_bookings, description="The lead's viewings, newest first."
        ),
    },
)
LeadCreateInput = input_type(lead_service.LeadCreate, "LeadCreateInput")
LeadUpdateInput = input_type(lead_service.LeadUpdate, "LeadUpdateInput", optional=True)


_DoNotContact: Any = object_type(lead_models.DoNotContactOut)
_ScoreFactor: Any = object_type(lead_models.ScoreFactorOut)


def _nested(name: str, convert: Any) -> property:
    # Built on first read: a list view rarely selects them, and they are most of a lead's cost.
    return property(lambda self: convert(getattr(self, PRESENTED)[name]))


_LeadView: Any = type(
    "LeadView",
    (Lead,),
    {
        "do_not_contact": _nested("do_not_contact", _DoNotContact.from_dict),
        "score_factors": _nested(
            "score_factors", lambda factors: [_ScoreFactor.from_dict(f) for f in factors]
        ),
    },
)
_SCALARS = tuple(
    name
    for name in lead_service.LeadOut.model_fields
    if name not in {"object", "do_not_contact", "score_factors"}
)


def lead_of(row: LeadRow | LeadRecord) -> Any:
    """The GraphQL Lead of a row: its scalars set at once, its nested objects on first read
    (an instance of the Lead type, so execution treats it exactly as one)."""
    return _view(lead_service.present_lead(row))


def _view(body: dict[str, Any]) -> Any:
    view = _LeadView.__new__(_LeadView)
    view.__dict__.update({name: body[name] for name in _SCALARS})
    setattr(view, PRESENTED, body)  # execution answers plain selections from it directly
    return view


def _edges(connection: Any) -> list[Edge[Any]]:
    # Built on first read: a plain selection is answered from the presented body alone.
    edges: list[Edge[Any]] | None = connection.__dict__.get("_edges")
    if edges is None:
        page = connection._page
        edges = connection._edges = [
            Edge(node=_view(body), page=page, item_id=body["id"]) for body in connection._bodies
        ]
    return edges


# A Connection whose edges (and their Lead objects) exist only once something reads them.
_LeadPage: Any = type("LeadPage", (Connection,), {"edges": property(_edges)})


def presented_connection(page: Page[dict[str, Any]], *, after: str | None) -> Connection[Any]:
    """The connection of a page of presented leads (Connection.of, with lead_of), holding its
    whole body, so a plain selection of it (edges, nodes, pageInfo; not `cursor`, a resolver)
    is answered in one walk (hadar.graphql.presented) without building its edges."""
    bodies = page.items
    connection = _LeadPage.__new__(_LeadPage)
    connection.page_info = PageInfo(
        has_next_page=page.has_more,
        has_previous_page=after is not None,
        end_cursor=page.next_cursor,
    )
    connection._page, connection._bodies = page, bodies
    info = connection.page_info
    presented = {
        "edges": [{"node": body} for body in bodies],
        "page_info": {
            "has_next_page": info.has_next_page,
            "has_previous_page": info.has_previous_page,
            "end_cursor": info.end_cursor,
        },
    }
    setattr(connection, PRESENTED, presented)
    return connection  # type: ignore[no-any-return]


async def find_lead(context: Context, lead_id: str) -> Any:
    """One lead by id, through the request's loader (a list may have primed it)."""
    return lead_of(await context.loaders.one(LeadRow, lead_id, "lead"))


NODES = (NodeKind("lead", Lead, LEADS, find_lead),)


@strawberry.type
class CreateLeadPayload:
    lead: Lead
    created: bool = strawberry.field(
        description="False when the lead was merged into an existing one (REST answers 200)."
    )


@strawberry.type
class Query:
    @query(
        lead_service.LIST,
        "Leads, newest first: the pages, filters and signed cursors of GET /api/v1/leads "
        "(first = limit, 1-100, default 25; after = cursor).",
    )
    async def leads(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        source: str | None = None,
        score_min: int | None = None,
        created_after: DateTime | None = None,
        assigned_to: str | None = None,
        status: str | None = None,
    ) -> Connection[Lead]:
        context = info.context
        page, rows = await lead_service.list_lead_rows(
            scope=context.scope,
            limit=first,
            cursor=after,
            source=source,
            score_min=score_min,
            created_after=cast(datetime | None, created_after),  # the scalar parses to datetime
            assigned_to=assigned_to,
            status=status,
        )
        context.loaders.prime_raw(rows, LeadRow, LeadRecord.from_row)
        return presented_connection(page, after=after)

    @query(lead_service.RETRIEVE, "One lead (REST: GET /api/v1/leads/{id}).")
    async def lead(self, info: Info[Context, None], id: strawberry.ID) -> Lead:
        return await find_lead(info.context, str(id))


@strawberry.type
class Mutation:
    @mutation(
        lead_service.CREATE,
        "Create a lead, or merge it into the one with the same phone or email "
        "(REST: POST /api/v1/leads).",
    )
    async def create_lead(
        self, info: Info[Context, None], input: LeadCreateInput
    ) -> CreateLeadPayload:
        row, created = await lead_service.create_lead(scope=info.context.scope, data=as_body(input))
        return CreateLeadPayload(lead=lead_of(row), created=created)

    @mutation(lead_service.UPDATE, "Change the given fields (REST: PATCH /api/v1/leads/{id}).")
    async def update_lead(
        self, info: Info[Context, None], id: strawberry.ID, input: LeadUpdateInput
    ) -> Lead:
        row = await lead_service.update_lead(
            scope=info.context.scope, lead_id=str(id), data=as_body(input)
        )
        return lead_of(row)

    @mutation(lead_service.DELETE, "Delete a lead for good (REST: DELETE /api/v1/leads/{id}).")
    async def delete_lead(self, info: Info[Context, None], id: strawberry.ID) -> DeletedObject:
        lead_id = await lead_service.delete_lead(scope=info.context.scope, lead_id=str(id))
        return DeletedObject(id=strawberry.ID(lead_id), deleted=True)
