"""200 concurrent POST /api/v1/leads with one Idempotency-Key create exactly one lead, and every
response is the stored one or a 409: on the in-process store, on Redis, and across two
`hadar serve` processes sharing Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from hadar.domain.leads import Lead
from hadar.domain.records import IdempotencyRecord
from tests.conftest import lead_body
from tests.integration.conftest import AppClient, Cluster, bearer, mint, shared_redis_url

LEADS = "/api/v1/leads"
N = 200


def check_outcome(responses: list[httpx.Response], stored: bytes | None = None) -> bytes:
    """Exactly one original 201; every other answer is its byte-identical replay or a 409
    'still being processed' with Retry-After: 1. Returns the stored body."""
    originals = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1, [r.status_code for r in responses]
    body = originals[0].content
    if stored is not None:
        assert body == stored
    replays = conflicts = 0
    for r in responses:
        if r.status_code == 409:
            conflicts += 1
            error = r.json()["error"]
            assert error["code"] == "conflict"
            assert "still being processed" in error["message"]
            assert r.headers["retry-after"] == "1"
        else:
            assert r.status_code == 201, r.text
            assert r.content == body
            replays += r is not originals[0]
    assert replays + conflicts == len(responses) - 1
    return body


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_200_concurrent_creates_make_one_lead(app_client: AppClient, kind: str) -> None:
    _app, client = await app_client(redis_url=shared_redis_url() if kind == "redis" else None)
    minted = await mint()
    key = str(uuid.uuid4())
    body = lead_body()
    headers = bearer(minted.token, **{"Idempotency-Key": key})
    responses = await asyncio.gather(
        *(client.post(LEADS, json=body, headers=headers) for _ in range(N))
    )
    record = await IdempotencyRecord.get(tenant_id=minted.key.tenant_id, key=key)
    check_outcome(list(responses), bytes(record.body))
    assert record.status == 201
    assert await Lead.filter(tenant_id=minted.key.tenant_id).count() == 1
    # Afterwards, every retry is a replay.
    again = await client.post(LEADS, json=body, headers=headers)
    assert again.content == bytes(record.body) and again.headers["idempotent-replayed"] == "true"


async def test_200_concurrent_creates_across_two_processes(cluster: Cluster) -> None:
    minted = cluster.mint()
    a, b = cluster.servers[:2]
    key = str(uuid.uuid4())
    body = lead_body()
    headers = bearer(minted["token"], **{"Idempotency-Key": key})
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def post(i: int) -> httpx.Response:
            server = a if i % 2 else b
            return await client.post(f"{server.url}{LEADS}", json=body, headers=headers)

        responses = await asyncio.gather(*(post(i) for i in range(N)))
        stored = check_outcome(list(responses))
        # Both processes served some of them, and both now replay the stored response.
        for server in (a, b):
            again = await client.post(f"{server.url}{LEADS}", json=body, headers=headers)
            assert again.content == stored
            assert again.headers["idempotent-replayed"] == "true"
        listed = await client.get(f"{a.url}{LEADS}", headers=bearer(minted["token"]))
        items: list[Any] = listed.json()["data"]["items"]
        assert len(items) == 1
        assert items[0]["id"] == httpx.Response(201, content=stored).json()["data"]["id"]
