"""Idempotency-Key semantics (SPEC 6) through the in-process app and its MemoryStore:
validation, byte-identical replay, the two kinds of 409, nothing stored for rejected requests,
one transaction for effect and record, 24-hour expiry and the periodic purge."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hadar import clock
from hadar.domain.leads import Lead
from hadar.domain.records import IdempotencyRecord
from hadar.errors import ValidationError
from hadar.platform import idempotency, maintenance
from hadar.services import keys
from tests.conftest import SECRET, lead_body

LEADS = "/api/v1/leads"


def test_check_key() -> None:
    assert idempotency.check_key(None) is None
    assert idempotency.check_key("a") == "a"
    assert idempotency.check_key("x" * 255) == "x" * 255
    assert idempotency.check_key("with spaces ~!") == "with spaces ~!"
    for bad in ("", "x" * 256, "tab\there", "new\nline", "caf\u00e9", "\x7f"):
        with pytest.raises(ValidationError) as info:
            idempotency.check_key(bad)
        assert info.value.field == "Idempotency-Key"


def test_fingerprint_separates_method_path_and_body() -> None:
    base = idempotency.fingerprint("POST", "/api/v1/leads", b"{}")
    assert base == idempotency.fingerprint("POST", "/api/v1/leads", b"{}")
    assert base != idempotency.fingerprint("PATCH", "/api/v1/leads", b"{}")
    assert base != idempotency.fingerprint("POST", "/api/v1/leads/x", b"{}")
    assert base != idempotency.fingerprint("POST", "/api/v1/leads", b'{"a":1}')


async def mint(role: str = "admin", plan: str = "enterprise", slug: str | None = None) -> Any:
    return await keys.mint_for_tenant(
        slug=slug or f"i-{uuid.uuid4().hex[:12]}",
        environment="test",
        role=role,
        secret=SECRET,
        plan=plan,
    )


def auth(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


async def records(key: str) -> int:
    return await IdempotencyRecord.filter(key=key).count()


async def test_replay_is_byte_identical(client: httpx.AsyncClient) -> None:
    minted = await mint()
    key = str(uuid.uuid4())
    body = lead_body(email="aisha@example.com", budget_aed=1_800_000)
    first = await client.post(LEADS, json=body, headers=auth(minted.token, key))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # Same request again, through another alias and with the body's keys in another order.
    reordered = dict(reversed(list(body.items())))
    for path in (LEADS, "/v1/leads", "/api/leads"):
        again = await client.post(path, json=reordered, headers=auth(minted.token, key))
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["x-ratelimit-limit"] == "1000"
    assert await Lead.filter(tenant_id=minted.key.tenant_id).count() == 1
    assert await records(key) == 1


async def test_stored_error_is_replayed(client: httpx.AsyncClient) -> None:
    minted = await mint()
    key = str(uuid.uuid4())
    path = f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"
    first = await client.patch(path, json={"name": "x"}, headers=auth(minted.token, key))
    assert first.status_code == 404, first.text
    again = await client.patch(path, json={"name": "x"}, headers=auth(minted.token, key))
    assert (again.status_code, again.content) == (404, first.content)
    assert again.headers["idempotent-replayed"] == "true"


async def test_same_key_different_request_is_a_conflict(client: httpx.AsyncClient) -> None:
    minted = await mint()
    key = str(uuid.uuid4())
    body = lead_body()
    first = await client.post(LEADS, json=body, headers=auth(minted.token, key))
    assert first.status_code == 201
    lead_id = first.json()["data"]["id"]
    attempts = [
        ("POST", LEADS, {**body, "name": "Someone Else"}),  # different body
        ("PATCH", f"{LEADS}/{lead_id}", body),  # different method and path
        ("DELETE", f"{LEADS}/{lead_id}", None),
    ]
    for method, path, payload in attempts:
        r = await client.request(method, path, json=payload, headers=auth(minted.token, key))
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["code"] == "conflict"
        assert error["field"] == "Idempotency-Key"
        assert "different method, path or body" in error["message"]
        assert "retry-after" not in r.headers
        assert "idempotent-replayed" not in r.headers
    assert await Lead.filter(id=lead_id).exists()  # the DELETE never ran


async def test_in_flight_key_is_a_conflict_with_retry_after(client: httpx.AsyncClient, app: Any):
    minted = await mint()
    key = str(uuid.uuid4())
    guard = app.state.runtime.guard
    lock = f"idem:{minted.key.tenant_id}:test:{key}"
    token = await guard.acquire(lock, 60)  # the "first" request, still running
    assert token
    try:
        r = await client.post(LEADS, json=lead_body(), headers=auth(minted.token, key))
        assert r.status_code == 409
        assert r.headers["retry-after"] == "1"
        error = r.json()["error"]
        assert error["code"] == "conflict"
        assert "still being processed" in error["message"]
    finally:
        await guard.release(lock, token)
    assert await records(key) == 0
    r = await client.post(LEADS, json=lead_body(), headers=auth(minted.token, key))
    assert r.status_code == 201  # once it is done, the key is free to use


async def test_concurrent_same_key_runs_once(client: httpx.AsyncClient) -> None:
    minted = await mint()
    key = str(uuid.uuid4())
    body = lead_body()
    responses = await asyncio.gather(
        *(client.post(LEADS, json=body, headers=auth(minted.token, key)) for _ in range(30))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    originals = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1
    for r in responses:
        if r.status_code == 201:
            assert r.content == originals[0].content
        else:
            assert r.headers["retry-after"] == "1"
    assert await Lead.filter(tenant_id=minted.key.tenant_id).count() == 1


@pytest.mark.parametrize("bad", ["", "x" * 256])
async def test_invalid_key_is_a_validation_error(client: httpx.AsyncClient, bad: str) -> None:
    minted = await mint()
    r = await client.post(LEADS, json=lead_body(), headers=auth(minted.token, bad))
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "Idempotency-Key"
    assert "x-ratelimit-remaining" in r.headers
    assert await Lead.filter(tenant_id=minted.key.tenant_id).count() == 0


async def test_rejected_requests_store_nothing(client: httpx.AsyncClient) -> None:
    admin = await mint()
    slug = admin.tenant_slug
    viewer = await mint(role="viewer", slug=slug)
    key = str(uuid.uuid4())
    body = lead_body()
    # 401: unknown key, and malformed header.
    unknown = "hdr_test_" + "A" * 32
    r = await client.post(LEADS, json=body, headers=auth(unknown, key))
    assert r.status_code == 401
    # 403: a viewer may not create leads.
    r = await client.post(LEADS, json=body, headers=auth(viewer.token, key))
    assert r.status_code == 403
    # 400: invalid body, and invalid JSON.
    r = await client.post(LEADS, json={"name": ""}, headers=auth(admin.token, key))
    assert r.status_code == 400
    r = await client.post(LEADS, content=b"{nope", headers=auth(admin.token, key))
    assert r.status_code == 400
    assert await records(key) == 0
    # The same key then works, and its stored response is the real one.
    r = await client.post(LEADS, json=body, headers=auth(admin.token, key))
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert await records(key) == 1


async def test_rate_limited_requests_store_nothing(client: httpx.AsyncClient) -> None:
    starter = await mint(plan="starter")
    for _ in range(65):  # the burst, plus any cell that drained meanwhile
        await client.get(LEADS, headers=auth(starter.token))
    key = str(uuid.uuid4())
    r = await client.post(LEADS, json=lead_body(), headers=auth(starter.token, key))
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert await records(key) == 0


async def test_keys_are_scoped_to_tenant_and_environment(client: httpx.AsyncClient) -> None:
    a, b = await mint(), await mint()
    key = str(uuid.uuid4())
    body = lead_body()
    ra = await client.post(LEADS, json=body, headers=auth(a.token, key))
    rb = await client.post(LEADS, json=body, headers=auth(b.token, key))
    assert ra.status_code == rb.status_code == 201
    assert "idempotent-replayed" not in rb.headers
    assert ra.json()["data"]["id"] != rb.json()["data"]["id"]


async def test_effect_and_record_share_one_transaction(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    minted = await mint()

    async def broken_save(*args: Any, **kw: Any) -> None:
        raise RuntimeError("disk full while storing the response")

    monkeypatch.setattr(idempotency, "_save", broken_save)
    key = str(uuid.uuid4())
    r = await client.post(LEADS, json=lead_body(), headers=auth(minted.token, key))
    assert r.status_code == 500
    # The lead was rolled back with the record: a retry creates it exactly once.
    assert await Lead.filter(tenant_id=minted.key.tenant_id).count() == 0
    monkeypatch.undo()
    r = await client.post(LEADS, json=lead_body(), headers=auth(minted.token, key))
    assert r.status_code == 201


@pytest.fixture
def shifted_clock() -> Any:
    def shift(delta: timedelta) -> None:
        real = clock._system_now
        clock.set_clock(lambda: real() + delta)

    yield shift
    clock.set_clock(None)


async def test_records_expire_after_24_hours(client: httpx.AsyncClient, shifted_clock: Any):
    minted = await mint()
    key = str(uuid.uuid4())
    body = lead_body()
    first = await client.post(LEADS, json=body, headers=auth(minted.token, key))
    assert first.status_code == 201
    shifted_clock(timedelta(hours=23, minutes=59))
    again = await client.post(LEADS, json=body, headers=auth(minted.token, key))
    assert again.headers.get("idempotent-replayed") == "true"
    shifted_clock(timedelta(hours=24, seconds=1))
    # Expired: the key is fresh again (the same phone now merges into the existing lead).
    later = await client.post(LEADS, json=body, headers=auth(minted.token, key))
    assert later.status_code == 200, later.text
    assert "idempotent-replayed" not in later.headers
    assert await records(key) == 1


async def test_purge_expired_and_the_maintenance_loop(shifted_clock: Any) -> None:
    at = clock.now()
    stale = [f"stale-{uuid.uuid4()}" for _ in range(3)]
    fresh = f"fresh-{uuid.uuid4()}"
    for key, created in [*((k, at - timedelta(hours=25)) for k in stale), (fresh, at)]:
        await IdempotencyRecord.create(
            tenant_id="ten_purge",
            environment="test",
            key=key,
            method="POST",
            path=LEADS,
            request_hash="0" * 64,
            status=201,
            body=b"{}",
            created_at=created,
            expires_at=created + idempotency.TTL,
        )
    assert await idempotency.purge_expired() >= 3
    assert await IdempotencyRecord.filter(key__in=stale).count() == 0
    assert await records(fresh) == 1
    # The loop started in the app's lifespan purges without being asked.
    shifted_clock(timedelta(hours=25))
    async with maintenance.running(interval=0.05) as task:
        for _ in range(100):
            if await records(fresh) == 0:
                break
            await asyncio.sleep(0.02)
        assert not task.done()
    assert task.cancelled()
    assert await records(fresh) == 0
