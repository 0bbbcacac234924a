"""The audit trail: one row per mutation, written in the mutation's transaction."""

from __future__ import annotations

from typing import Any

from hadar import clock
from hadar.domain.records import AuditEvent
from hadar.domain.scope import Scope
from hadar.ids import new_id
from hadar.pagination import Page, check_limit
from hadar.platform.tracing import current_trace_id
from hadar.services.listing import newest_first


async def record(*, scope: Scope, action: str, object_id: str | None) -> None:
    """Append who (key), what (action, object) and when for a mutation."""
    at = clock.now()
    await AuditEvent.create(
        id=new_id("aud", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        key_id=scope.key_id,
        action=action,
        object_id=object_id,
        trace_id=current_trace_id(),
        created_at=at,
    )


async def list_events(
    *, scope: Scope, limit: int | None = None, cursor: str | None = None
) -> Page[AuditEvent]:
    """The audit trail of the caller's tenant and environment, newest first (admins only)."""
    scope.require_read("audit_events")
    limit = check_limit(limit)
    binding = {"list": "audit_events", "t": scope.tenant_id, "e": scope.environment}
    query = AuditEvent.filter(tenant_id=scope.tenant_id, environment=scope.environment)
    return await newest_first(query, binding=binding, limit=limit, cursor=cursor)


def present_event(event: AuditEvent) -> dict[str, Any]:
    """The public shape of an audit event: who (key), what (action, object), when, trace."""
    return {
        "id": event.id,
        "object": "audit_event",
        "key_id": event.key_id,
        "action": event.action,
        "object_id": event.object_id,
        "trace_id": event.trace_id,
        "created_at": clock.isoformat(event.created_at),
    }
