"""Workers in one process against the session database: a NOTIFY wakes an idle PostgreSQL
worker at once (its poll interval is an hour, so nothing else could), and batch claims by two
concurrent workers never hand one delivery to both (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tortoise import Tortoise

from hadar.domain.webhooks import Delivery
from hadar.webhooks import queue
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.api.test_webhooks_delivery import Receiver, endpoint
from tests.conftest import Workspace, lead_body

HOUR = 3600.0


def postgres() -> bool:
    return Tortoise.get_connection("default").capabilities.dialect == "postgres"


@pytest.fixture(autouse=True)
async def empty_queue() -> None:
    """Only this test's deliveries are due (the session database is shared)."""
    await Delivery.filter(status="pending").delete()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    """Wait for `condition()` (generously bounded: a failure, not a timing, is what we test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    check: Any = condition
    while not (await check() if asyncio.iscoroutinefunction(check) else check()):
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.01)


async def test_notify_wakes_an_idle_worker(ws: Workspace, receiver: Receiver) -> None:
    if not postgres():
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
    hook = await endpoint(ws, receiver.url)
    worker = Worker(
        WorkerConfig(allow_private=True, timeout=2.0, poll_interval=HOUR, listen_poll=HOUR)
    )
    task = asyncio.create_task(worker.run())
    try:
        await until(lambda: worker._listener is not None and worker._listener.listening, "listen")
        # The first event may be picked up by the look the worker takes on (re)connecting;
        # once it is recorded the worker is idle, waiting an hour unless something wakes it.
        first = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]

        async def recorded() -> bool:
            return await Delivery.filter(endpoint_id=hook["id"], status="succeeded").count() == 1

        await until(recorded, "first delivery recorded")
        second = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]
        await until(lambda: len(receiver.received) == 2, "second delivery, woken by NOTIFY")
    finally:
        worker.stop()
        await task
    names = [r.body for r in receiver.received]
    assert first["id"].encode() in names[0] and second["id"].encode() in names[1]


async def test_two_workers_batch_claims_never_overlap(ws: Workspace) -> None:
    hook = await endpoint(ws, "http://127.0.0.1:9/hooks")
    for _ in range(12):
        await ws.request("POST", "/api/v1/leads", json=lead_body())
    expected = set(await Delivery.filter(endpoint_id=hook["id"]).values_list("id", flat=True))
    assert len(expected) == 12
    claims: dict[str, list[str]] = {}

    async def claimer(name: str) -> None:
        for n in range(20):
            got = await queue.claim(token=f"{name}:{n}", limit=5, lease=30.0)
            assert len(got) <= 5
            claims[f"{name}:{n}"] = [d.id for d in got]
            assert all(d.event.payload and d.endpoint.url for d in got)  # loaded with them
            await asyncio.sleep(0)

    await asyncio.gather(claimer("a"), claimer("b"))
    taken = Counter(i for ids in claims.values() for i in ids)
    assert set(taken) == expected and set(taken.values()) == {1}
    assert max(len(ids) for ids in claims.values()) > 1  # batches, not one row a claim
    rows = {d.id: d.claimed_by for d in await Delivery.filter(id__in=list(expected))}
    assert all(rows[i] == token for token, ids in claims.items() for i in ids)


async def test_two_running_workers_deliver_each_once(ws: Workspace, receiver: Receiver) -> None:
    hook = await endpoint(ws, receiver.url)
    workers = [
        Worker(WorkerConfig(allow_private=True, timeout=2.0, poll_interval=0.02, concurrency=4))
        for _ in range(2)
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        for _ in range(3):
            for _ in range(10):
                await ws.request("POST", "/api/v1/leads", json=lead_body())
        await until(lambda: len(receiver.received) >= 30, "30 deliveries")

        async def settled() -> bool:
            return await Delivery.filter(endpoint_id=hook["id"], status="succeeded").count() == 30

        await until(settled, "all 30 recorded")
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
    counts = Counter(r.headers["x-hadar-delivery"] for r in receiver.received)
    assert len(counts) == 30 and set(counts.values()) == {1}


async def test_a_retry_comes_on_schedule_however_long_the_idle_wait(
    ws: Workspace, receiver: Receiver
) -> None:
    # A retry's due time notifies nobody: the worker that failed the attempt wakes itself.
    hook = await endpoint(ws, receiver.url)
    receiver.script = [500]
    await ws.request("POST", "/api/v1/leads", json=lead_body())  # due before the first look
    worker = Worker(
        WorkerConfig(
            allow_private=True, timeout=2.0, poll_interval=HOUR, listen_poll=HOUR, backoff_scale=1.0
        )
    )
    task = asyncio.create_task(worker.run())
    try:

        async def succeeded() -> bool:
            return await Delivery.filter(endpoint_id=hook["id"], status="succeeded").exists()

        await until(succeeded, "the retry, 1 s after the 500")
    finally:
        worker.stop()
        await task
    first, second = receiver.received
    assert first.headers["x-hadar-delivery"] == second.headers["x-hadar-delivery"]
    assert second.at - first.at >= 1.0  # the schedule's first wait, not sooner
