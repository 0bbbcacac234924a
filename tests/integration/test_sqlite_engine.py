"""Hadar's SQLite engine (hadar.platform.sqlite): a lead costs one hand-off to the database
thread (its COMMIT) instead of six or ten; another process's write lock is waited for off the
event loop; reads outside a transaction never wait for one."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.records import AuditEvent
from hadar.domain.rows import fetch_sql
from hadar.ids import new_id
from hadar.platform import fastsql
from hadar.platform.sqlite import Connection
from tests.conftest import Workspace, lead_body

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("HADAR_TEST_DATABASE_URL")), reason="the SQLite engine (SQLite pass)"
)


def _thread() -> Connection:
    connection = Tortoise.get_connection("default")._connection
    assert isinstance(connection, Connection)
    return connection


def _audit(action: str) -> dict[str, Any]:
    at = clock.now()
    return {
        "id": new_id("aud", at),
        "tenant_id": "ten_engine",
        "environment": "test",
        "key_id": None,
        "action": action,
        "object_id": None,
        "trace_id": None,
        "created_at": at,
    }


async def test_a_new_lead_takes_one_handoff_with_or_without_an_idempotency_key(
    ws: Workspace,
) -> None:
    await ws.subscribe("test")  # the outbox event is written too, inside the same trips
    thread = _thread()
    before = thread.handoffs
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201, r.text
    # The statements (lead, audit row, event, delivery) run on the loop; the COMMIT on the
    # thread.
    assert thread.handoffs - before == 1
    before = thread.handoffs
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    r = await ws.request("POST", "/api/v1/leads", json=lead_body(), headers=headers)
    assert r.status_code == 201, r.text
    # The key's lookup and the stored answer are statements too.
    assert thread.handoffs - before == 1
    lead_id = r.json()["data"]["id"]
    audit = await AuditEvent.filter(object_id=lead_id).values_list("action", flat=True)
    assert audit == ["lead.created"]
    deliveries = await fetch_sql(
        "SELECT e.type FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id"
        " WHERE e.payload LIKE {}",
        [f'%"{lead_id}"%'],
    )
    assert [row["type"] for row in deliveries] == ["lead.created"]
    replay = await ws.request("POST", "/api/v1/leads", json={}, headers=headers)
    assert replay.status_code == 409  # same key, different body: the stored record answers


async def test_another_processs_write_lock_is_waited_for_off_the_event_loop(
    ws: Workspace, settings: Any
) -> None:
    path = settings.database_url.removeprefix("sqlite://")
    other = sqlite3.connect(path, isolation_level=None)  # another process's connection
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        post = asyncio.create_task(ws.request("POST", "/api/v1/leads", json=lead_body()))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the lead waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert not post.done()
        assert ticks == 20
    finally:
        other.execute("COMMIT")
        other.close()
    r = await asyncio.wait_for(post, 10)
    assert r.status_code == 201, r.text  # it waited, then went through
    assert await AuditEvent.exists(object_id=r.json()["data"]["id"], action="lead.created")


async def test_a_read_waits_for_nothing_and_a_locked_file_still_answers_reads(
    ws: Workspace, settings: Any
) -> None:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201
    path = settings.database_url.removeprefix("sqlite://")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        # WAL: readers never wait for the writer, so a list answers while the lock is held.
        listed = await asyncio.wait_for(ws.request("GET", "/api/v1/leads?limit=1"), 5)
        assert listed.status_code == 200
        assert listed.json()["data"]["items"]
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_reads_outside_a_transaction_do_not_wait_for_one_holding_the_connection(
    ws: Workspace,
) -> None:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201
    held, release = asyncio.Event(), asyncio.Event()
    row = _audit("engine.slow")

    async def slow_transaction() -> None:  # e.g. a send waiting for the provider's answer
        async with in_transaction():
            await fastsql.insert(AuditEvent, row)
            held.set()
            await release.wait()

    task = asyncio.create_task(slow_transaction())
    await held.wait()
    try:
        listed = await asyncio.wait_for(ws.request("GET", "/api/v1/leads?limit=1"), 2)
        assert listed.status_code == 200 and listed.json()["data"]["items"]
        # Only what is committed is seen: the open transaction's row is not.
        assert not await asyncio.wait_for(AuditEvent.exists(id=row["id"]), 2)
    finally:
        release.set()
        await task
    assert await AuditEvent.exists(id=row["id"])


async def test_a_failed_commit_keeps_nothing_and_leaves_the_connection_usable() -> None:
    first = _audit("engine.first")
    thread = _thread()
    # A deferred foreign key is checked at COMMIT: the COMMIT itself fails, on the thread.
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await fetch_sql("PRAGMA defer_foreign_keys = ON", [])
            await fastsql.insert(AuditEvent, first)
            await fetch_sql(
                "INSERT INTO webhook_deliveries (id, tenant_id, environment, event_id,"
                " endpoint_id, status, attempt_count, failures, next_attempt_at, created_at,"
                " updated_at) VALUES ('dlv_x', 't', 'test', 'evt_missing', 'we_missing',"
                " 'pending', 0, 0, '2026-01-01', '2026-01-01', '2026-01-01')",
                [],
            )
    assert not await AuditEvent.exists(id=first["id"])  # the whole transaction is undone
    assert not thread.in_transaction
    async with in_transaction():
        await fastsql.insert(AuditEvent, first)
    assert await AuditEvent.exists(id=first["id"])


async def test_a_transaction_that_wrote_nothing_commits_without_a_handoff() -> None:
    thread = _thread()
    before = thread.handoffs
    async with in_transaction():
        await fetch_sql("SELECT 1 AS one", [])
    assert thread.handoffs == before
