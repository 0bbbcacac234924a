"""Webhook signing secrets are stored sealed (hadar.secretbox): the row never holds the
plaintext, the API shows it on create and rotate only, deliveries still sign with it, a value
that does not unseal fails loudly, and `hadar migrate` seals rows stored in plain text."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise

from hadar import clock, secretbox
from hadar.domain.webhooks import Delivery, WebhookEndpoint, secret_context
from hadar.migrate import seal_plaintext_secrets
from hadar.webhooks import signing
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.api.test_webhooks_delivery import Receiver
from tests.conftest import SECRET, Workspace, lead_body
from tests.integration.conftest import HADAR

URL = "http://127.0.0.1:9/hooks"


async def raw_row(endpoint_id: str) -> dict[str, Any]:
    """The endpoint's row as the database holds it (raw SQL, no model in between)."""
    conn = Tortoise.get_connection("default")
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    (row,) = await conn.execute_query_dict(
        f"SELECT * FROM webhook_endpoints WHERE id = {mark}",
        [endpoint_id],
    )
    return row


async def raw_set(endpoint_id: str, **values: str) -> None:
    conn = Tortoise.get_connection("default")
    postgres = conn.capabilities.dialect == "postgres"
    for column, value in values.items():
        a, b = ("$1", "$2") if postgres else ("?", "?")
        await conn.execute_query(
            f"UPDATE webhook_endpoints SET {column} = {a} WHERE id = {b}",
            [value, endpoint_id],
        )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()


@pytest.fixture(autouse=True)
async def empty_queue() -> AsyncIterator[None]:
    await Delivery.filter(status="pending").delete()
    yield
    await Delivery.filter(status="pending").delete()


async def create(ws: Workspace, url: str = URL) -> dict[str, Any]:
    r = await ws.request("POST", "/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


async def test_the_row_never_holds_the_plaintext_secret(ws: Workspace) -> None:
    hook = await create(ws)
    shown = hook["secret"]
    assert shown.startswith("whsec_")
    row = await raw_row(hook["id"])
    assert shown not in repr(row)
    assert row["secret"].startswith("enc1:") and row["previous_secret"] is None

    r = await ws.request("POST", f"/api/v1/webhooks/{hook['id']}/rotate_secret")
    rotated = r.json()["data"]["secret"]
    assert rotated.startswith("whsec_") and rotated != shown
    row = await raw_row(hook["id"])
    assert shown not in repr(row) and rotated not in repr(row)
    assert row["secret"].startswith("enc1:") and row["previous_secret"].startswith("enc1:")
    # Each column is bound to its own context: the previous secret was sealed again.
    context = secret_context(hook["id"], "previous_secret")
    assert secretbox.unseal(row["previous_secret"], context=context) == shown
    # Reads never show the secret, sealed or not.
    r = await ws.request("GET", f"/api/v1/webhooks/{hook['id']}")
    assert "secret" not in r.json()["data"] and "enc1:" not in r.text


async def test_deliveries_sign_with_the_secrets_shown(ws: Workspace, receiver: Receiver) -> None:
    await receiver.start()
    hook = await create(ws, receiver.url)
    r = await ws.request("POST", f"/api/v1/webhooks/{hook['id']}/rotate_secret")
    rotated = r.json()["data"]["secret"]
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = Worker(WorkerConfig(allow_private=True, timeout=2.0))
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.shutdown()
    (got,) = receiver.received
    header = got.headers["x-hadar-signature"]
    assert signing.verify(got.body, header, hook["secret"])  # the overlap of the old one
    assert signing.verify(got.body, header, rotated)
    assert "enc1" not in header


async def test_a_secret_that_does_not_unseal_fails_the_attempt(
    ws: Workspace, receiver: Receiver
) -> None:
    await receiver.start()
    hook = await create(ws, receiver.url)
    other = await create(ws, receiver.url)
    # Another endpoint's sealed secret, copied into this row: bound to the other id.
    await raw_set(hook["id"], secret=(await raw_row(other["id"]))["secret"])
    await WebhookEndpoint.filter(id=other["id"]).delete()
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = Worker(WorkerConfig(allow_private=True, timeout=2.0))
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.shutdown()
    assert receiver.received == []  # nothing sent unsigned or signed wrongly
    r = await ws.request("GET", f"/api/v1/webhooks/{hook['id']}/deliveries")
    (item,) = r.json()["data"]["items"]
    assert item["status"] == "pending"
    assert "could not be decrypted" in item["attempts"][0]["error"]
    assert "enc1" not in r.text


async def test_plaintext_rows_are_sealed_by_the_migrate_step(ws: Workspace) -> None:
    hook = await create(ws)
    legacy, previous = "whsec_legacy_current_0123456789", "whsec_legacy_previous_0123456789"
    await raw_set(hook["id"], secret=legacy, previous_secret=previous)
    assert await seal_plaintext_secrets() == 2
    row = await raw_row(hook["id"])
    assert legacy not in repr(row) and previous not in repr(row)
    for column, plain in (("secret", legacy), ("previous_secret", previous)):
        assert secretbox.unseal(row[column], context=secret_context(hook["id"], column)) == plain
    assert await seal_plaintext_secrets() == 0  # idempotent
    assert await raw_row(hook["id"]) == row


def test_hadar_migrate_seals_legacy_rows(tmp_path: Path) -> None:
    """The CLI path on a database of its own: migrate, a row written in plain text (as before
    0003), migrate again."""
    db = tmp_path / "legacy.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env.update(HADAR_DATABASE_URL=f"sqlite://{db}", HADAR_SECRET_KEY=SECRET)

    def migrate() -> None:
        subprocess.run([HADAR, "migrate"], env=env, cwd=tmp_path, check=True, timeout=60)

    migrate()
    at = clock.isoformat(clock.now())
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO tenants (id, slug, name, plan, created_at) VALUES (?, ?, ?, ?, ?)",
            ("ten_legacy", "legacy", "Legacy", "starter", at),
        )
        conn.execute(
            "INSERT INTO webhook_endpoints (id, tenant_id, environment, url, events, enabled,"
            " secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("whk_legacy", "ten_legacy", "live", URL, '["*"]', 1, "whsec_plain", at, at),
        )
    migrate()
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT secret FROM webhook_endpoints").fetchone()
    assert stored.startswith("enc1:")
    box = secretbox.SecretBox(SECRET)
    context = secret_context("whk_legacy", "secret")
    assert box.unseal(stored, context=context) == "whsec_plain"
