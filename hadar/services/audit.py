"""The audit trail: one row per mutation, written in the mutation's transaction."""

from __future__ import annotations

from typing import Any, Literal

import pydantic

from hadar import clock
from hadar.domain.records import AUDIT_EVENTS, AuditEvent
from hadar.domain.scope import Operation, Scope
from hadar.ids import new_id
from hadar.pagination import Page
from hadar.platform import fastsql
from hadar.services.listing import filtered
from hadar.services.models import Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery

LIST = Operation("audit_events.list", AUDIT_EVENTS)


class AuditEventOut(Out):
    """One mutation: who (the key), what (action and object), when, and its trace."""

    id: id_of("aud")  # type: ignore[valid-type]
    object: Literal["audit_event"]
    key_id: str | None
    action: str = pydantic.Field(examples=["lead.created"])
    object_id: str | None
    trace_id: str | None
    created_at: Timestamp


AuditEventListOut = list_of(AuditEventOut)


async def record(*, scope: Scope, action: str, object_id: str | None) -> None:
    """Append who (key), what (action, object) and when for a mutation."""
    at = clock.now()
    # One prepared INSERT (no model instance, no per-call query building): on every mutation.
    await fastsql.insert(
        AuditEvent,
        {
            "id": new_id("aud", at),
            "tenant_id": scope.tenant_id,
            "environment": scope.environment,
            "key_id": scope.key_id,
            "action": action,
            "object_id": object_id,
            "trace_id": scope.trace_id,
            "created_at": at,
        },
    )


async def list_events(
    *, scope: Scope, limit: int | None = None, cursor: str | None = None
) -> Page[AuditEvent]:
    """The audit trail of the caller's tenant and environment, newest first (admins only)."""
    scope.require_read(AUDIT_EVENTS)
    given = {"limit": limit, "cursor": cursor}
    return await filtered(
        AuditEvent, scope=scope, name="audit_events", query=PageQuery, given=given
    )


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
