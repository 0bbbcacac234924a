"""Object types: the public shapes of the resources, built from the same presenters REST uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from hadar.domain.leads import Lead as LeadRow
from hadar.domain.leads import LeadRecord
from hadar.domain.records import AuditEvent as AuditEventRow
from hadar.domain.tenants import ApiKey as ApiKeyRow
from hadar.graphql.scalars import JSON, BigInt, DateTime
from hadar.pagination import Page
from hadar.services import audit, keys, leads

T = TypeVar("T")


@strawberry.interface(description="An object with a prefixed, globally unique id (lead_…, key_…).")
class Node:
    id: strawberry.ID


@strawberry.type(description="Channels the lead has opted out of.")
class DoNotContact:
    whatsapp: bool
    voice: bool
    email: bool


@strawberry.type(description="One term of a lead's score and why it applies.")
class ScoreFactor:
    factor: str
    points: int
    reason: str


@strawberry.type(description="A buyer or tenant enquiry (REST: /api/v1/leads).")
class Lead(Node):
    name: str
    phone: str | None
    email: str | None
    source: str
    source_raw: str | None
    sources: list[str]
    utm: JSON | None
    budget_aed: BigInt | None
    bedrooms: int | None
    area: str | None
    handover_horizon: str | None
    status: str
    assigned_to: str | None
    do_not_contact: DoNotContact
    score: int
    score_factors: list[ScoreFactor]
    created_at: DateTime
    updated_at: DateTime

    @classmethod
    def from_domain(cls, row: LeadRow | LeadRecord) -> Lead:
        out = leads.present_lead(row)
        return cls(
            id=strawberry.ID(out["id"]),
            name=out["name"],
            phone=out["phone"],
            email=out["email"],
            source=out["source"],
            source_raw=out["source_raw"],
            sources=out["sources"],
            utm=out["utm"],
            budget_aed=out["budget_aed"],
            bedrooms=out["bedrooms"],
            area=out["area"],
            handover_horizon=out["handover_horizon"],
            status=out["status"],
            assigned_to=out["assigned_to"],
            do_not_contact=DoNotContact(**out["do_not_contact"]),
            score=out["score"],
            score_factors=[ScoreFactor(**f) for f in out["score_factors"]],
            created_at=out["created_at"],
            updated_at=out["updated_at"],
        )


@strawberry.type(description="An API key (REST: /api/v1/api_keys); the token is shown once.")
class ApiKey(Node):
    environment: str
    role: str
    name: str | None
    last4: str
    created_at: DateTime
    expires_at: DateTime
    revoked_at: DateTime | None

    @classmethod
    def from_domain(cls, row: ApiKeyRow) -> ApiKey:
        out = keys.present_key(row)
        return cls(
            id=strawberry.ID(out["id"]),
            environment=out["environment"],
            role=out["role"],
            name=out["name"],
            last4=out["last4"],
            created_at=out["created_at"],
            expires_at=out["expires_at"],
            revoked_at=out["revoked_at"],
        )


@strawberry.type(description="One mutation in the audit log (REST: /api/v1/audit_events).")
class AuditEvent:
    id: strawberry.ID
    key_id: str | None
    action: str
    object_id: str | None
    trace_id: str | None
    created_at: DateTime

    @classmethod
    def from_domain(cls, row: AuditEventRow) -> AuditEvent:
        out = audit.present_event(row)
        return cls(
            id=strawberry.ID(out["id"]),
            key_id=out["key_id"],
            action=out["action"],
            object_id=out["object_id"],
            trace_id=out["trace_id"],
            created_at=out["created_at"],
        )


@strawberry.type(description="Relay page info, from the same signed cursors as REST lists.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null when hasNextPage is false."
    )


@strawberry.type
class Edge(Generic[T]):
    node: T
    page: strawberry.Private[Page[Any]]
    item_id: strawberry.Private[str]

    @strawberry.field(description="Pass as `after` to resume right after this node.")
    def cursor(self) -> str:
        # Signed only when asked for: most list views never read edge cursors.
        return self.page.cursor_after(self.item_id)


@strawberry.type(description="A Relay connection over one page of a REST list.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[Any], node: Callable[[Any], T], *, after: str | None) -> Connection[T]:
        return cls(
            edges=[Edge(node=node(item), page=page, item_id=item.id) for item in page.items],
            page_info=PageInfo(
                has_next_page=page.has_more,
                has_previous_page=after is not None,
                end_cursor=page.next_cursor,
            ),
        )


@strawberry.type
class CreateLeadPayload:
    lead: Lead
    created: bool = strawberry.field(
        description="False when the lead was merged into an existing one (REST answers 200)."
    )


@strawberry.type
class DeletedObject:
    id: strawberry.ID
    deleted: bool


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey
    token: str = strawberry.field(description="The full token; shown only this once.")
    tenant: str
