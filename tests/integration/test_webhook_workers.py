"""Several `hadar worker` processes on one PostgreSQL database: every event delivered exactly once,
a worker killed mid-delivery loses nothing, and a rolled-back change sends nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from hadar.webhooks import signing
from tests.api.test_webhooks_delivery import Receiver
from tests.conftest import SECRET
from tests.dbutil import create_database, drop_database

SERVER = os.environ.get("HADAR_TEST_DATABASE_URL")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SERVER, reason="needs PostgreSQL (HADAR_TEST_DATABASE_URL)"),
]
ROOT = Path(__file__).resolve().parents[2]

# Run in a separate process against the test's own database: a tenant, one endpoint, N leads
# (N lead.created events) committed in small transactions, and one change that rolls back.
SEED = """
import asyncio, json, os, sys
from tortoise.transactions import in_transaction
from hadar import pagination, secretbox
from hadar.db import open_db, close_db
from hadar.domain.scope import Scope
from hadar.services import keys, leads, webhooks

async def main(url, count, batch):
    pagination.configure("x" * 32)
    secretbox.configure(os.environ["HADAR_SECRET_KEY"])  # the workers' own secret
    await open_db(url)
    try:
        tenant = await keys.ensure_tenant(slug="workers")
        scope = Scope(tenant_id=tenant.id, environment="test", role="admin")
        hook = await webhooks.create_endpoint(
            scope=scope, data={"url": sys.argv[1], "events": ["*"]}, allow_private=True
        )
        print(json.dumps({"secret": webhooks.current_secret(hook)}), flush=True)
        try:
            async with in_transaction():
                lead = {"name": "ROLLED BACK", "phone": "+971500000001"}
                await leads.create_lead(scope=scope, data=lead)
                raise RuntimeError("rollback")
        except RuntimeError:
            pass
        for start in range(0, count, batch):
            async with in_transaction():
                for i in range(start, min(count, start + batch)):
                    await leads.create_lead(
                        scope=scope, data={"name": f"Lead {i}", "phone": f"+97155{i:07d}"}
                    )
    finally:
        await close_db()

asyncio.run(main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HADAR_DATABASE_URL": url,
        "HADAR_SECRET_KEY": SECRET,
        "HADAR_ALLOW_PRIVATE_WEBHOOK_URLS": "1",
        "HADAR_WEBHOOK_BACKOFF_SCALE": "0.001",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
async def database() -> AsyncIterator[str]:
    assert SERVER
    base, _, _ = SERVER.rpartition("/")
    url = f"{base}/hadar_w_{uuid.uuid4().hex[:10]}"
    await create_database(url)
    migrate = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hadar.cli",
        "migrate",
        env=_env(url),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    assert await migrate.wait() == 0
    yield url
    await drop_database(url)


async def start_workers(url: str, n: int, lease: float) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hadar.cli",
            "worker",
            "--lease",
            str(lease),
            "--poll-interval",
            "0.05",
            "--concurrency",
            "16",
            env=_env(url),
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]


async def seed(url: str, hook_url: str, count: int) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SEED,
        hook_url,
        url,
        str(count),
        "20",
        env=_env(url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return str(json.loads(out.decode().splitlines()[0])["secret"])


async def wait_for(receiver: Receiver, count: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len({r.headers["x-hadar-delivery"] for r in receiver.received}) < count:
        assert loop.time() < deadline, f"only {len(receiver.received)} of {count} arrived"
        await asyncio.sleep(0.05)


async def statuses(url: str) -> dict[str, int]:
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY 1")
    finally:
        await conn.close()
    return {row["status"]: row["n"] for row in rows}


async def stop(workers: list[asyncio.subprocess.Process]) -> list[int | None]:
    for proc in workers:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    return [await asyncio.wait_for(proc.wait(), 20) for proc in workers]


def names(receiver: Receiver) -> list[Any]:
    return [json.loads(r.body)["data"]["object"]["name"] for r in receiver.received]


async def test_three_workers_deliver_1000_events_exactly_once(database: str) -> None:
    receiver = Receiver()
    await receiver.start()
    workers = await start_workers(database, 3, lease=30)
    try:
        secret = await seed(database, receiver.url, 1000)
        await wait_for(receiver, 1000, timeout=90)
        await asyncio.sleep(0.5)  # a duplicate, were there one, would arrive now
    finally:
        codes = await stop(workers)
        await receiver.stop()
    assert codes == [0, 0, 0]  # SIGTERM: graceful exit
    counts = Counter(r.headers["x-hadar-delivery"] for r in receiver.received)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    assert sorted(names(receiver)) == sorted(f"Lead {i}" for i in range(1000))
    assert "ROLLED BACK" not in names(receiver)
    assert all(
        signing.verify(r.body, r.headers["x-hadar-signature"], secret) for r in receiver.received
    )
    assert await statuses(database) == {"succeeded": 1000}


async def test_killed_worker_loses_nothing(database: str) -> None:
    receiver = Receiver(delay=0.05)  # keep attempts in flight long enough to be cut off
    await receiver.start()
    workers = await start_workers(database, 3, lease=2)
    try:
        seeding = asyncio.create_task(seed(database, receiver.url, 600))
        while len(receiver.received) < 150:
            await asyncio.sleep(0.01)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        await seeding
        await wait_for(receiver, 600, timeout=90)
        # An attempt the victim sent but never recorded stays claimed until its lease (2 s)
        # runs out; a live worker then takes it over, delivers it again and records it.
        deadline = asyncio.get_running_loop().time() + 30
        while (done := await statuses(database)) != {"succeeded": 600}:
            assert asyncio.get_running_loop().time() < deadline, done
            await asyncio.sleep(0.2)
    finally:
        await stop(workers)
        await receiver.stop()
    counts = Counter(r.headers["x-hadar-delivery"] for r in receiver.received)
    assert len(counts) == 600
    # Only attempts cut off by the kill are repeated, each once, by another worker.
    repeats = [d for d, n in counts.items() if n > 1]
    assert len(repeats) <= 16 and max(counts.values()) <= 2
