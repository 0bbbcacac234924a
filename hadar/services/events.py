"""The event outbox: every webhook event is written in the transaction of the change behind it.

Services call `emit` right after the change (inside the request's transaction), so an event
exists exactly when its change committed; `hadar worker` delivers it afterwards.
"""

from __future__ import annotations

from typing import Any

import orjson

from hadar import clock
from hadar.domain.scope import Scope
from hadar.domain.webhooks import EVENT_TYPES, Delivery, Event, WebhookEndpoint
from hadar.ids import new_id


async def emit(*, scope: Scope, type: str, obj: dict[str, Any]) -> Event:
    """Record event `type` about `obj` (its public shape) and one delivery per endpoint of the
    tenant and environment that is enabled and subscribed to it, in the caller's transaction."""
    assert type in EVENT_TYPES, type
    at = clock.now()
    event_id = new_id("evt", at)
    payload = orjson.dumps(
        {"id": event_id, "type": type, "created_at": clock.isoformat(at), "data": {"object": obj}}
    ).decode("utf-8")
    event = await Event.create(
        id=event_id,
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        type=type,
        payload=payload,
        created_at=at,
    )
    endpoints = await WebhookEndpoint.filter(
        tenant_id=scope.tenant_id, environment=scope.environment, enabled=True
    )
    deliveries = [
        Delivery(
            id=new_id("dlv", at),
            tenant_id=scope.tenant_id,
            environment=scope.environment,
            event_id=event.id,
            endpoint_id=endpoint.id,
            next_attempt_at=at,
            created_at=at,
            updated_at=at,
        )
        for endpoint in endpoints
        if endpoint.wants(type)
    ]
    if deliveries:
        await Delivery.bulk_create(deliveries)
    return event
