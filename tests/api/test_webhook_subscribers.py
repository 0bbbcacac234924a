"""Who an event goes to is read in the emitting transaction: no endpoint subscribed, no outbox
row; an endpoint created or disabled by another instance (here another process on the same
database) counts from the very next event."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from hadar.domain.webhooks import Delivery, Event
from hadar.settings import Settings
from tests.conftest import SECRET, Workspace, lead_body

ROOT = Path(__file__).resolve().parents[2]

# Another instance: its own process and connections, the services it would call.
OTHER = """
import asyncio, sys
from hadar import pagination, secretbox
from hadar.db import close_db, open_db
from hadar.domain.scope import Scope
from hadar.domain.tenants import Tenant
from hadar.services import webhooks

async def main(url, slug, action):
    secretbox.configure(sys.argv[4])
    pagination.configure(sys.argv[4])
    await open_db(url)
    try:
        tenant = await Tenant.get(slug=slug)
        scope = Scope(tenant_id=tenant.id, environment="test", role="admin")
        if action == "create":
            data = {"url": "https://127.0.0.1:9/hooks", "events": ["lead.created"]}
            hook = await webhooks.create_endpoint(scope=scope, data=data, allow_private=True)
            print(hook.id)
        else:
            await webhooks.update_endpoint(
                scope=scope, endpoint_id=action, data={"enabled": False}, allow_private=True
            )
    finally:
        await close_db()

asyncio.run(main(*sys.argv[1:4]))
"""


async def other_instance(settings: Settings, slug: str, action: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", OTHER, settings.database_url, slug, action, SECRET),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode().strip()


async def events_of(ws: Workspace, lead_id: str) -> list[Event]:
    return list(await Event.filter(payload__contains=lead_id))


async def test_endpoints_of_another_instance_count_from_the_next_event(
    ws: Workspace, settings: Settings
) -> None:
    first = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]
    assert await events_of(ws, first["id"]) == []  # nobody subscribes: no outbox row

    hook_id = await other_instance(settings, ws.slug, "create")
    second = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]
    (event,) = await events_of(ws, second["id"])
    assert event.type == "lead.created"
    (delivery,) = await Delivery.filter(event_id=event.id)
    assert delivery.endpoint_id == hook_id and delivery.status == "pending"

    # Not subscribed to lead.updated: no row for an update either.
    r = await ws.request("PATCH", f"/api/v1/leads/{second['id']}", json={"name": "Aisha K."})
    assert r.status_code == 200, r.text
    assert [e.type for e in await events_of(ws, second["id"])] == ["lead.created"]

    await other_instance(settings, ws.slug, hook_id)  # disabled over there
    third = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]
    assert await events_of(ws, third["id"]) == []
    await Delivery.filter(endpoint_id=hook_id).delete()  # nothing for the workers of other tests
