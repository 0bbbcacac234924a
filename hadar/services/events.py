"""The event outbox: every webhook event is written in the transaction of the change behind it.

Services call `emit` right after the change (inside the request's transaction), so an event
exists exactly when its change committed; `hadar worker` delivers it afterwards (woken by the
NOTIFY of migration 0008 on PostgreSQL).

Whom to deliver to is read in the same transaction, every time, rather than cached: a cache
correct across instances needs a version check, itself a round trip, and the lookup it would
save is one indexed read of a few (id, events) pairs (issue 12 measured both). So an endpoint
created on any instance is seen by the very next event, and a tenant with no subscribed
endpoint gets no outbox row at all.
"""

from __future__ import annotations

from typing import Any

import orjson

from hadar import clock
from hadar.domain.rows import fetch_sql
from hadar.domain.scope import Scope
from hadar.domain.webhooks import ALL_EVENTS, EVENT_TYPES, Delivery, DeliveryStatus, Event
from hadar.ids import new_id
from hadar.platform import fastsql

# PostgreSQL: the event and its deliveries in one statement (one round trip). The deliveries'
# foreign key is checked at the end of the statement, when the event row exists.
_INSERT_PG = (
    "WITH event AS (INSERT INTO webhook_events"
    " (id, tenant_id, environment, type, payload, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6))"
    " INSERT INTO webhook_deliveries (id, tenant_id, environment, event_id, endpoint_id, status,"
    " attempt_count, failures, next_attempt_at, created_at, updated_at)"
    " SELECT d.id, $2, $3, $1, d.endpoint_id, 'pending', 0, 0, $6, $6, $6"
    " FROM unnest($7::text[], $8::text[]) AS d(id, endpoint_id)"
)


_SUBSCRIBERS = (
    "SELECT id, events FROM webhook_endpoints"
    " WHERE tenant_id = {} AND environment = {} AND enabled = {}"
)


def _wanted(rows: list[Any], type: str) -> list[str]:
    out = []
    for row in rows:
        wanted = row[1]
        if isinstance(wanted, (str, bytes)):
            wanted = orjson.loads(wanted)
        if ALL_EVENTS in wanted or type in wanted:
            out.append(row[0])
    return out


async def subscribers(*, scope: Scope, type: str) -> list[str]:
    """Ids of the enabled endpoints of the caller's tenant and environment that want `type`."""
    rows = await fetch_sql(_SUBSCRIBERS, [scope.tenant_id, scope.environment, True])
    return _wanted([(r["id"], r["events"]) for r in rows], type)


async def emit(*, scope: Scope, type: str, obj: dict[str, Any]) -> str | None:
    """Record event `type` about `obj` (its public shape) and one delivery per endpoint of the
    tenant and environment that is enabled and subscribed to it, in the caller's transaction;
    the event's id, or None (nothing written) when no endpoint subscribes."""
    assert type in EVENT_TYPES, type
    endpoints = await subscribers(scope=scope, type=type)
    if not endpoints:
        return None
    at = clock.now()
    event_id = new_id("evt", at)
    payload = orjson.dumps(
        {"id": event_id, "type": type, "created_at": clock.isoformat(at), "data": {"object": obj}}
    ).decode("utf-8")
    event = {
        "id": event_id,
        "tenant_id": scope.tenant_id,
        "environment": scope.environment,
        "type": type,
        "payload": payload,
        "created_at": at,
    }
    delivery_ids = [new_id("dlv", at) for _ in endpoints]
    conn = fastsql.connection()
    if fastsql.is_postgres(conn):
        await conn.execute_query(
            _INSERT_PG,
            [
                event_id,
                scope.tenant_id,
                scope.environment,
                type,
                payload,
                at,
                delivery_ids,
                endpoints,
            ],
        )
        return event_id
    await fastsql.insert(Event, event)
    for delivery_id, endpoint_id in zip(delivery_ids, endpoints, strict=True):
        await fastsql.insert(Delivery, _delivery(delivery_id, event, endpoint_id))
    return event_id


def _delivery(delivery_id: str, event: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    at = event["created_at"]
    return {
        "id": delivery_id,
        "tenant_id": event["tenant_id"],
        "environment": event["environment"],
        "event_id": event["id"],
        "endpoint_id": endpoint_id,
        "status": DeliveryStatus.PENDING.value,
        "attempt_count": 0,
        "failures": 0,
        "next_attempt_at": at,
        "created_at": at,
        "updated_at": at,
    }
