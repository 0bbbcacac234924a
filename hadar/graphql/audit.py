"""GraphQL twin of the audit log (admin)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.graphql.context import Context
from hadar.graphql.derive import object_type
from hadar.graphql.types import Connection, query
from hadar.services import audit

AuditEvent = object_type(audit.AuditEventOut)


def event_of(row: Any) -> Any:
    return AuditEvent.from_dict(audit.present_event(row))  # type: ignore[attr-defined]


@strawberry.type
class Query:
    @query(audit.LIST, "The audit log of this environment, newest first (admin).")
    async def audit_events(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[AuditEvent]:
        page = await audit.list_events(scope=info.context.scope, limit=first, cursor=after)
        return Connection.of(page, event_of, after=after)
