"""Of 20 concurrent requests for one viewing slot exactly one wins (SPEC 8 Booking): the
same agent at 20 different properties, and one property with 20 different agents. On
PostgreSQL the exclusion constraints decide, across two `hadar serve` processes; on SQLite
(one process) the write lock taken first in the transaction does. Without either, several
requests read "free" before any writes and more than one booking is stored."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.conftest import lead_body
from tests.integration.conftest import AppClient, Cluster, bearer, mint

RACERS = 20
SLOT = {"starts_at": "2026-07-01T14:00:00+04:00", "ends_at": "2026-07-01T15:00:00+04:00"}


async def setup(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """A lead and RACERS available properties."""
    r = await client.post(f"{url}/api/v1/leads", json=lead_body(), headers=headers)
    assert r.status_code == 201, r.text
    props = []
    for _ in range(RACERS):
        body = {
            "title": "Race",
            "reference": f"RACE-{uuid.uuid4().hex[:10]}",
            "type": "villa",
            "price_aed": 1,
            "purpose": "rent",
        }
        p = await client.post(f"{url}/api/v1/properties", json=body, headers=headers)
        assert p.status_code == 201, p.text
        props.append(p.json()["data"]["id"])
    return {"lead": r.json()["data"]["id"], "props": props}


async def race(client: httpx.AsyncClient, urls: list[str], token: str) -> None:
    headers = bearer(token)
    made = await setup(client, urls[0], headers)
    lead, props = made["lead"], made["props"]
    same_agent = [
        {"lead_id": lead, "property_id": props[i], "agent": "sara@agency.ae", **SLOT}
        for i in range(RACERS)
    ]
    same_property = [
        {"lead_id": lead, "property_id": props[0], "agent": f"agent-{i}@agency.ae", **SLOT}
        for i in range(RACERS)
    ]
    # The second race reuses props[0] at another time, so the first race's winner is no help.
    for n, bodies in enumerate((same_agent, same_property)):
        if n:
            bodies = [{**b, "starts_at": "2026-07-02T10:00:00Z", "ends_at": None} for b in bodies]
            bodies = [{k: v for k, v in b.items() if v is not None} for b in bodies]
        answers = await asyncio.gather(
            *(
                client.post(f"{urls[i % len(urls)]}/api/v1/bookings", json=b, headers=headers)
                for i, b in enumerate(bodies)
            )
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] + [409] * (RACERS - 1), [
            a.text for a in answers if a.status_code != 409
        ]
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"conflict"}
    stored = await client.get(
        f"{urls[0]}/api/v1/bookings", params={"lead_id": lead, "limit": 100}, headers=headers
    )
    assert len(stored.json()["data"]["items"]) == 2, stored.text


async def test_twenty_requests_for_one_slot_in_process(app_client: AppClient) -> None:
    _app, client = await app_client()
    await race(client, [""], (await mint()).token)


async def test_twenty_requests_for_one_slot_across_two_processes(cluster: Cluster) -> None:
    token = cluster.mint()["token"]
    urls = [server.url for server in cluster.servers[:2]]
    async with httpx.AsyncClient(timeout=60) as client:
        await race(client, urls, token)
