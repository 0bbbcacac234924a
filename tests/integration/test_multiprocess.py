"""Two `hadar serve` processes over one PostgreSQL database and Redis: revocation is seen by
the other process on its very next request, and a key's limit is shared, not per process."""

from __future__ import annotations

import asyncio

import httpx

from tests.integration.conftest import Cluster, bearer

LEADS = "/api/v1/leads"


async def test_revocation_is_seen_by_the_other_process_at_once(cluster: Cluster) -> None:
    a, b = cluster.servers[:2]
    admin = cluster.mint()
    victim = cluster.mint()
    async with httpx.AsyncClient(timeout=10) as client:
        # Both processes have just accepted the key (any cache would now be warm).
        for server in (a, b):
            assert (
                await client.get(f"{server.url}{LEADS}", headers=bearer(victim["token"]))
            ).status_code == 200
        # A key minted and revoked through the API on A ...
        r = await client.post(
            f"{a.url}/api/v1/api_keys", json={"role": "agent"}, headers=bearer(admin["token"])
        )
        assert r.status_code == 201, r.text
        minted = r.json()["data"]
        assert (
            await client.get(f"{b.url}{LEADS}", headers=bearer(minted["token"]))
        ).status_code == 200
        r = await client.post(
            f"{a.url}/api/v1/api_keys/{minted['id']}/revoke", headers=bearer(admin["token"])
        )
        assert r.status_code == 200, r.text
        # ... refused by B on the very next request.
        r = await client.get(f"{b.url}{LEADS}", headers=bearer(minted["token"]))
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_api_key"

        # Revoked by the operator CLI: refused by both on their next request.
        cluster.cli("keys", "revoke", victim["id"])
        for server in (a, b):
            r = await client.get(f"{server.url}{LEADS}", headers=bearer(victim["token"]))
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "invalid_api_key"


async def test_limit_is_shared_by_both_processes(cluster: Cluster) -> None:
    a, b = cluster.servers[:2]
    starter = cluster.mint(plan="starter")
    h = bearer(starter["token"])
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=100)) as client:
        responses = await asyncio.gather(
            *(client.get(f"{(a if i % 2 else b).url}{LEADS}", headers=h) for i in range(100))
        )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 60 and codes.count(429) == 40, codes
    assert {r.headers["x-ratelimit-limit"] for r in responses} == {"60"}
