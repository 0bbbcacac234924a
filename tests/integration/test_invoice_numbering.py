"""Invoice numbers under concurrent finalizes on two `hadar serve` processes (PostgreSQL): the
counter row is taken in each finalize's transaction, so no number is shared or skipped."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hadar import clock
from hadar.domain.invoices import invoice_year
from tests.conftest import lead_body
from tests.integration.conftest import Cluster, bearer

pytestmark = pytest.mark.integration
N = 30


async def test_30_concurrent_finalizes_across_two_processes_number_without_gaps(
    cluster: Cluster,
) -> None:
    minted = cluster.mint()
    a, b = cluster.servers[:2]
    headers = bearer(minted["token"])
    lines = [{"description": "Commission", "quantity": 1, "unit_amount": 3_600_000}]
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        r = await client.post(f"{a.url}/api/v1/leads", json=lead_body(), headers=headers)
        lead = r.json()["data"]["id"]
        ids = []
        for _ in range(N):
            r = await client.post(
                f"{a.url}/api/v1/invoices",
                json={"lead_id": lead, "line_items": lines},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["data"]["id"])

        async def finalize(i: int, invoice_id: str) -> httpx.Response:
            server = a if i % 2 else b
            return await client.post(
                f"{server.url}/api/v1/invoices/{invoice_id}/finalize", headers=headers
            )

        year = invoice_year(clock.now())
        answers = await asyncio.gather(*(finalize(i, x) for i, x in enumerate(ids)))
        assert [r.status_code for r in answers] == [200] * N, [r.text for r in answers]
        numbers = sorted(r.json()["data"]["number"] for r in answers)
        assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, N + 1)]
        # A repeated finalize, on either process, is a conflict and takes no number.
        again = await finalize(1, ids[0])
        assert again.status_code == 409
        r = await client.post(
            f"{b.url}/api/v1/invoices", json={"lead_id": lead, "line_items": lines}, headers=headers
        )
        last = await finalize(0, r.json()["data"]["id"])
        assert last.json()["data"]["number"] == f"INV-{year}-{N + 1:06d}"
