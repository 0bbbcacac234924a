"""Concurrent writes to one lead never lose each other (SPEC 8): PATCHes of different fields,
and a PATCH racing a merge (a POST of a duplicate), all land. On PostgreSQL the service's row
lock (`SELECT … FOR UPDATE`) is what serialises them, in-process (separate pool connections)
and across two `hadar serve` processes; on SQLite, which has no row locks, the one connection
serialises the transactions (the in-process tests run on both).

Each round starts the writes together on a fresh lead; without the lock the last full-row
save wins and the test sees a field fall back to its old value.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import lead_body
from tests.integration.conftest import AppClient, Cluster, bearer, mint

LEADS = "/api/v1/leads"
ROUNDS = 6
# One field each, so every PATCH of a round must survive the others.
CHANGES: dict[str, Any] = {
    "name": "Renamed",
    "area": "JBR",
    "bedrooms": 3,
    "budget_aed": 4_000_000,
    "assigned_to": "sara@agency.ae",
    "handover_horizon": "off_plan_2028",
    "status": "qualified",
    "do_not_contact": {"voice": True},
}


def landed(lead: dict[str, Any]) -> dict[str, Any]:
    """The fields of CHANGES whose value is not what its PATCH set."""
    lost = {k: lead[k] for k, v in CHANGES.items() if k != "do_not_contact" and lead[k] != v}
    if lead["do_not_contact"]["voice"] is not True:
        lost["do_not_contact"] = lead["do_not_contact"]
    return lost


async def patch_race(client: httpx.AsyncClient, urls: list[str], token: str) -> None:
    headers = bearer(token)
    for _ in range(ROUNDS):
        r = await client.post(f"{urls[0]}{LEADS}", json=lead_body(), headers=headers)
        assert r.status_code == 201, r.text
        lead_id = r.json()["data"]["id"]
        answers = await asyncio.gather(
            *(
                client.patch(
                    f"{urls[i % len(urls)]}{LEADS}/{lead_id}", json={k: v}, headers=headers
                )
                for i, (k, v) in enumerate(CHANGES.items())
            )
        )
        assert [a.status_code for a in answers] == [200] * len(CHANGES), [a.text for a in answers]
        final = (await client.get(f"{urls[0]}{LEADS}/{lead_id}", headers=headers)).json()["data"]
        assert landed(final) == {}, final


async def merge_race(client: httpx.AsyncClient, urls: list[str], token: str) -> None:
    """A PATCH of the area racing POSTs of the same phone from other sources: the area, every
    source and the budget the merge fills in all land."""
    headers = bearer(token)
    sources = ["property_finder", "dubizzle", "website", "referral"]
    for _ in range(ROUNDS):
        first = lead_body(source="bayut")
        r = await client.post(f"{urls[0]}{LEADS}", json=first, headers=headers)
        lead_id = r.json()["data"]["id"]
        duplicates = [
            {"name": "Again", "phone": first["phone"], "source": s, "budget_aed": 2_500_000}
            for s in sources
        ]
        answers = await asyncio.gather(
            client.patch(f"{urls[-1]}{LEADS}/{lead_id}", json={"area": "JBR"}, headers=headers),
            *(
                client.post(f"{urls[i % len(urls)]}{LEADS}", json=body, headers=headers)
                for i, body in enumerate(duplicates)
            ),
        )
        assert [a.status_code for a in answers] == [200] * (1 + len(sources)), [
            a.text for a in answers
        ]
        assert {a.json()["data"]["id"] for a in answers} == {lead_id}
        final = (await client.get(f"{urls[0]}{LEADS}/{lead_id}", headers=headers)).json()["data"]
        assert final["area"] == "JBR", final
        assert set(final["sources"]) == {"bayut", *sources}, final
        assert final["budget_aed"] == 2_500_000, final


async def test_concurrent_patches_of_one_lead_all_land(app_client: AppClient) -> None:
    _app, client = await app_client()
    minted = await mint()
    await patch_race(client, [""], minted.token)


async def test_a_patch_racing_a_merge_loses_neither(app_client: AppClient) -> None:
    _app, client = await app_client()
    minted = await mint()
    await merge_race(client, [""], minted.token)


async def test_patches_and_merges_across_two_processes_all_land(cluster: Cluster) -> None:
    token = cluster.mint()["token"]
    urls = [server.url for server in cluster.servers[:2]]
    async with httpx.AsyncClient(timeout=30) as client:
        await patch_race(client, urls, token)
        await merge_race(client, urls, token)


async def test_a_merge_filling_an_email_that_another_lead_takes_meanwhile(
    app_client: AppClient,
) -> None:
    """A merge fills a blank e-mail into the existing lead while another request creates a
    lead with that very e-mail: whichever commits first keeps it, the other answers without
    it, and neither is a 500 (the merge used to let the unique violation escape)."""
    _app, client = await app_client()
    headers = bearer((await mint()).token)
    for n in range(ROUNDS * 2):
        first = {"name": "Has a phone", "phone": lead_body()["phone"]}
        r = await client.post(LEADS, json=first, headers=headers)
        lead_id = r.json()["data"]["id"]
        email = f"race-{n}-{lead_id[-8:].lower()}@example.com"
        merge, other = await asyncio.gather(
            client.post(LEADS, json={**first, "email": email}, headers=headers),
            client.post(LEADS, json={**lead_body(), "email": email}, headers=headers),
        )
        assert merge.status_code == 200, merge.text
        assert other.status_code in (200, 201), other.text
        holders = (await client.get(LEADS, params={"limit": 100}, headers=headers)).json()
        assert [i["id"] for i in holders["data"]["items"] if i["email"] == email] in (
            [lead_id],
            [other.json()["data"]["id"]],
        )
