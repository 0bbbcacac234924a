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
from tortoise import Tortoise

from hadar import clock
from hadar.domain.scope import Scope
from hadar.domain.webhooks import ALL_EVENTS, EVENT_TYPES, Delivery, Event, WebhookEndpoint
from hadar.ids import new_id

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


async def subscribers(*, scope: Scope, type: str) -> list[str]:
    """Ids of the enabled endpoints of the caller's tenant and environment that want `type`."""
    rows = await WebhookEndpoint.filter(
        tenant_id=scope.tenant_id, environment=scope.environment, enabled=True
    ).values_list("id", "events")
    return [id for id, wanted in rows if ALL_EVENTS in wanted or type in wanted]


async def emit(*, scope: Scope, type: str, obj: dict[str, Any]) -> Event | None:
    """Record event `type` about `obj` (its public shape) and one delivery per endpoint of the
    tenant and environment that is enabled and subscribed to it, in the caller's transaction;
    nothing (None) when no endpoint subscribes."""
    assert type in EVENT_TYPES, type
    endpoints = await subscribers(scope=scope, type=type)
    if not endpoints:
        return None
    at = clock.now()
    event_id = new_id("evt", at)
    payload = orjson.dumps(
        {"id": event_id, "type": type, "created_at": clock.isoformat(at), "data": {"object": obj}}
    ).decode("utf-8")
    event = Event(
        id=event_id,
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        type=type,
        payload=payload,
        created_at=at,
    )
    delivery_ids = [new_id("dlv", at) for _ in endpoints]
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(
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
        return event
    await event.save(force_create=True)
    await Delivery.bulk_create(
        [
            Delivery(
                id=delivery_id,
                tenant_id=scope.tenant_id,
                environment=scope.environment,
                event_id=event_id,
                endpoint_id=endpoint_id,
                next_attempt_at=at,
                created_at=at,
                updated_at=at,
            )
            for delivery_id, endpoint_id in zip(delivery_ids, endpoints, strict=True)
        ]
    )
    return event
