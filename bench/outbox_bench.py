"""The outbox's cost per emitted event (issue 12): what `events.emit` adds to a write, on SQLite
and (with HADAR_TEST_DATABASE_URL) PostgreSQL. Not run by `make test`.

Compares, each call in its own transaction as in a request:
  - before: the event row always, then the endpoints as ORM objects, then the deliveries;
  - after: the subscribers read as values in the same transaction; nothing more without one,
    one statement for event and deliveries on PostgreSQL with one;
  - a version check alone: one primary-key read, what a cache correct across instances would
    still pay per event (a per-tenant endpoints version), before any insert.

    .venv/bin/python -m bench.outbox_bench [--calls 500] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from tortoise.transactions import in_transaction

from hadar import clock, pagination, secretbox
from hadar.db import close_db, open_db
from hadar.domain.scope import Scope
from hadar.domain.tenants import Tenant
from hadar.domain.webhooks import Delivery, Event, WebhookEndpoint
from hadar.ids import new_id
from hadar.migrate import migrate
from hadar.services import events, keys, webhooks
from tests.dbutil import create_database, drop_database

OBJ = {"id": "lead_x", "object": "lead", "name": "Aisha Khan", "score": 78}


async def emit_before(*, scope: Scope, type: str, obj: dict[str, Any]) -> None:
    """events.emit as it was on main before issue 12."""
    at = clock.now()
    event_id = new_id("evt", at)
    payload = orjson.dumps({"id": event_id, "type": type, "data": {"object": obj}}).decode()
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
            endpoint_id=e.id,
            next_attempt_at=at,
            created_at=at,
            updated_at=at,
        )
        for e in endpoints
        if e.wants(type)
    ]
    if deliveries:
        await Delivery.bulk_create(deliveries)


async def emit_after(*, scope: Scope, type: str, obj: dict[str, Any]) -> None:
    await events.emit(scope=scope, type=type, obj=obj)


async def version_check(*, scope: Scope, type: str, obj: dict[str, Any]) -> None:
    await Tenant.filter(id=scope.tenant_id).values_list("id", flat=True)


async def per_call_ms(fn: Callable[..., Awaitable[None]], scope: Scope, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        async with in_transaction():
            await fn(scope=scope, type="lead.created", obj=OBJ)
    return (time.perf_counter() - started) / calls * 1000


async def run(url: str, calls: int) -> None:
    await create_database(url)
    secretbox.configure("bench-outbox-secret-0123456789abcdef")
    pagination.configure("bench")
    await migrate(url)
    await open_db(url)
    try:
        scopes = {}
        for name in ("none", "one"):
            tenant = await keys.ensure_tenant(slug=f"outbox-{name}")
            scopes[name] = Scope(tenant_id=tenant.id, environment="test", role="admin")
        await webhooks.create_endpoint(
            scope=scopes["one"],
            data={"url": "https://127.0.0.1:9/hooks", "events": ["*"]},
            allow_private=True,
        )
        for label, fn in (("before", emit_before), ("after", emit_after)):
            for name, scope in scopes.items():
                await per_call_ms(fn, scope, 20)  # warm up
                ms = await per_call_ms(fn, scope, calls)
                print(f"  {label:<7} {name:>4} subscribed endpoint: {ms:6.3f} ms per event")
        ms = await per_call_ms(version_check, scopes["none"], calls)
        print(f"  a version check alone (one primary-key read): {ms:6.3f} ms per event")
    finally:
        await close_db()
        await drop_database(url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh database beside HADAR_TEST_DATABASE_URL instead of SQLite (one dialect a "
        "process: Tortoise keeps each model's compiled queries)",
    )
    args = parser.parse_args()
    if args.postgres:
        server = os.environ["HADAR_TEST_DATABASE_URL"]
        print("PostgreSQL:")
        await run(f"{server.rpartition('/')[0]}/hadar_outbox_{uuid.uuid4().hex[:8]}", args.calls)
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite:")
        await run(f"sqlite://{tmp}/outbox.db", args.calls)


if __name__ == "__main__":
    asyncio.run(main())
