"""The audit trail: one row per mutation, written in the mutation's transaction."""

from __future__ import annotations

from hadar import clock
from hadar.domain.records import AuditEvent
from hadar.domain.scope import Scope
from hadar.ids import new_id
from hadar.platform.tracing import current_trace_id


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
