"""Idempotency-Key (reference "Idempotency keys", SPEC section 6): byte-identical replays, 409 on
reuse with another request, nothing stored for rejected requests, and safety under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from hadar import clock
from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"


def idem(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def new_key() -> str:
    return str(uuid.uuid4())


def assert_error(r, status: int, code: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None
    assert body["error"]["code"] == code, body
    if field is not None:
        assert body["error"].get("field") == field, body
    return body["error"]


async def lead_ids(ws, env: str = "test") -> list[str]:
    r = await ws.request("GET", LEADS, env=env, params={"limit": 100})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]["items"]]


def replayed(r) -> bool:
    return r.headers.get("idempotent-replayed") == "true"


# --- replay ---------------------------------------------------------------------------------


async def test_same_key_replays_byte_identical_response(ws):
    key = new_key()
    body = lead_body(budget_aed=1_800_000, area="Dubai Marina")
    first = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert first.status_code == 201, first.text
    assert not replayed(first)
    second = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert second.status_code == 201, second.text
    assert second.content == first.content
    assert replayed(second)
    third = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert third.content == first.content and replayed(third)
    assert await lead_ids(ws) == [first.json()["data"]["id"]]


async def test_replay_is_not_a_merge(ws):
    """Without a key a repeat merges (200); with the same key it replays the original 201."""
    key = new_key()
    body = lead_body()
    first = await ws.request("POST", LEADS, json=body, headers=idem(key))
    again = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert (first.status_code, again.status_code) == (201, 201)
    plain = await ws.request("POST", LEADS, json=body)
    assert plain.status_code == 200
    assert plain.json()["data"]["id"] == first.json()["data"]["id"]


async def test_replay_via_alias_path_is_the_same_request(ws):
    key = new_key()
    body = lead_body()
    first = await ws.request("POST", "/api/v1/leads", json=body, headers=idem(key))
    second = await ws.request("POST", "/v1/leads", json=body, headers=idem(key))
    assert first.status_code == 201, first.text
    assert second.status_code == 201 and replayed(second), second.text
    assert second.content == first.content
    assert len(await lead_ids(ws)) == 1


async def test_patch_replay_has_no_second_effect(ws):
    r = await ws.request("POST", LEADS, json=lead_body())
    lead = r.json()["data"]
    key = new_key()
    first = await ws.request(
        "PATCH", f"{LEADS}/{lead['id']}", json={"status": "contacted"}, headers=idem(key)
    )
    assert first.status_code == 200, first.text
    # someone else changes the lead in between
    other = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"status": "qualified"})
    assert other.status_code == 200
    second = await ws.request(
        "PATCH", f"{LEADS}/{lead['id']}", json={"status": "contacted"}, headers=idem(key)
    )
    assert second.status_code == 200 and replayed(second)
    assert second.content == first.content
    current = (await ws.request("GET", f"{LEADS}/{lead['id']}")).json()["data"]
    assert current["status"] == "qualified"


async def test_delete_replay_answers_the_original_200_not_404(ws):
    r = await ws.request("POST", LEADS, json=lead_body())
    lead_id = r.json()["data"]["id"]
    key = new_key()
    first = await ws.request("DELETE", f"{LEADS}/{lead_id}", headers=idem(key))
    assert first.status_code == 200, first.text
    second = await ws.request("DELETE", f"{LEADS}/{lead_id}", headers=idem(key))
    assert second.status_code == 200, second.text
    assert replayed(second)
    assert second.content == first.content
    assert second.json()["data"]["id"] == lead_id
    assert second.json()["data"]["deleted"] is True


async def test_replayed_error_keeps_trace_header_consistent(ws):
    """A stored error (404 after execution) replays byte-identical; X-Trace-Id must still equal
    the body's trace_id (SPEC 5: every response)."""
    key = new_key()
    path = f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"
    first = await ws.request("PATCH", path, json={"area": "JBR"}, headers=idem(key))
    assert_error(first, 404, "not_found")
    assert first.headers["x-trace-id"] == first.json()["error"]["trace_id"]
    second = await ws.request("PATCH", path, json={"area": "JBR"}, headers=idem(key))
    assert second.status_code == 404
    assert second.content == first.content
    assert replayed(second)
    assert second.headers["x-trace-id"] == second.json()["error"]["trace_id"]


async def test_replay_carries_rate_limit_headers(ws):
    key = new_key()
    body = lead_body()
    await ws.request("POST", LEADS, json=body, headers=idem(key))
    r = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert replayed(r)
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert r.headers[name].isdigit()
    assert r.headers["content-type"].startswith("application/json")


# --- conflicts ------------------------------------------------------------------------------


async def test_same_key_different_body_is_conflict(ws):
    key = new_key()
    body = lead_body()
    first = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert first.status_code == 201
    for changed in (
        {**body, "name": "Someone Else"},
        {**body, "budget_aed": 1},
        lead_body(),
        {k: v for k, v in body.items() if k != "source"},
    ):
        r = await ws.request("POST", LEADS, json=changed, headers=idem(key))
        assert_error(r, 409, "conflict")
        assert not replayed(r)
    assert await lead_ids(ws) == [first.json()["data"]["id"]]
    # the original request still replays
    r = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert r.content == first.content and replayed(r)


async def test_same_key_different_path_or_method_is_conflict(ws):
    key = new_key()
    first = await ws.request("POST", LEADS, json=lead_body(), headers=idem(key))
    lead = first.json()["data"]
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"area": "JBR"}, headers=idem(key))
    assert_error(r, 409, "conflict")
    r = await ws.request("DELETE", f"{LEADS}/{lead['id']}", headers=idem(key))
    assert_error(r, 409, "conflict")
    r = await ws.request("POST", "/api/v1/api_keys", json={"role": "viewer"}, headers=idem(key))
    assert_error(r, 409, "conflict")
    got = (await ws.request("GET", f"{LEADS}/{lead['id']}")).json()["data"]
    assert got["area"] is None


# --- invalid keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "k" * 256,
        "abc\x01def",
        "tab\there",
        "del\x7f",
        b"caf\xe9",
        "",
    ],
)
async def test_invalid_key_is_refused(ws, value):
    r = await ws.request("POST", LEADS, json=lead_body(), headers={"Idempotency-Key": value})
    assert_error(r, 400, "validation_error", "Idempotency-Key")
    assert await lead_ids(ws) == []


async def test_key_of_255_printable_characters_is_accepted(ws):
    key = ("k-" + uuid.uuid4().hex + "~ !\"#$%&'()*+,./:;<=>?@[\\]^_`{|}") * 5
    key = key[:255]
    assert len(key) == 255
    body = lead_body()
    first = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert first.status_code == 201, first.text
    second = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert replayed(second) and second.content == first.content


async def test_single_character_key_is_accepted(ws):
    r = await ws.request("POST", LEADS, json=lead_body(), headers=idem("x"))
    assert r.status_code == 201, r.text


# --- rejected requests store nothing --------------------------------------------------------


async def test_validation_failure_stores_nothing(ws):
    key = new_key()
    body = lead_body()
    bad = await ws.request("POST", LEADS, json={**body, "email": "not-an-email"}, headers=idem(key))
    assert_error(bad, 400, "validation_error", "lead.email")
    again = await ws.request(
        "POST", LEADS, json={**body, "email": "not-an-email"}, headers=idem(key)
    )
    assert_error(again, 400, "validation_error", "lead.email")
    assert not replayed(again)
    fixed = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert fixed.status_code == 201, fixed.text
    assert not replayed(fixed)
    assert await lead_ids(ws) == [fixed.json()["data"]["id"]]


async def test_invalid_json_under_a_key_stores_nothing(ws):
    key = new_key()
    r = await ws.request("POST", LEADS, content=b"{oops", headers=idem(key))
    assert_error(r, 400, "validation_error")
    fixed = await ws.request("POST", LEADS, json=lead_body(), headers=idem(key))
    assert fixed.status_code == 201, fixed.text


async def test_forbidden_under_a_key_stores_nothing(ws):
    key = new_key()
    body = lead_body()
    r = await ws.request("POST", LEADS, role="viewer", json=body, headers=idem(key))
    assert_error(r, 403, "forbidden")
    ok = await ws.request("POST", LEADS, role="agent", json=body, headers=idem(key))
    assert ok.status_code == 201, ok.text
    assert not replayed(ok)


async def test_unauthorized_under_a_key_stores_nothing(ws):
    key = new_key()
    body = lead_body()
    r = await ws.client.post(
        LEADS, json=body, headers={"Idempotency-Key": key, "Authorization": "Bearer bad"}
    )
    assert r.status_code == 401
    ok = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert ok.status_code == 201 and not replayed(ok)


# --- scope and lifetime ---------------------------------------------------------------------


async def test_key_is_scoped_to_tenant(ws, client):
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    await other.key("test", "admin")
    key = new_key()
    mine = await ws.request("POST", LEADS, json=lead_body(), headers=idem(key))
    theirs = await other.request("POST", LEADS, json=lead_body(name="Other"), headers=idem(key))
    assert mine.status_code == 201 and theirs.status_code == 201, theirs.text
    assert not replayed(theirs)
    assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]
    assert await lead_ids(other) == [theirs.json()["data"]["id"]]


async def test_key_is_scoped_to_environment(ws):
    key = new_key()
    body = lead_body()
    test = await ws.request("POST", LEADS, env="test", json=body, headers=idem(key))
    live = await ws.request("POST", LEADS, env="live", json=body, headers=idem(key))
    assert test.status_code == 201 and live.status_code == 201, live.text
    assert not replayed(live)
    assert await lead_ids(ws, "live") == [live.json()["data"]["id"]]


async def test_key_is_shared_by_keys_of_the_same_tenant_and_environment(ws):
    key = new_key()
    body = lead_body()
    first = await ws.request("POST", LEADS, role="admin", json=body, headers=idem(key))
    second = await ws.request("POST", LEADS, role="agent", json=body, headers=idem(key))
    assert second.status_code == 201 and replayed(second)
    assert second.content == first.content


async def test_key_is_kept_24_hours(ws):
    key = new_key()
    body = lead_body()
    first = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert first.status_code == 201
    start = clock.now()
    try:
        clock.set_clock(lambda: start + timedelta(hours=23, minutes=59))
        r = await ws.request("POST", LEADS, json=body, headers=idem(key))
        assert replayed(r) and r.content == first.content
        clock.set_clock(lambda: start + timedelta(hours=24, seconds=5))
        later = await ws.request("POST", LEADS, json=lead_body(name="New Day"), headers=idem(key))
        assert later.status_code == 201, later.text
        assert not replayed(later)
    finally:
        clock.set_clock(None)
    assert len(await lead_ids(ws)) == 2


# --- concurrency ----------------------------------------------------------------------------


async def test_concurrent_posts_with_one_key_create_exactly_one_lead(ws):
    key = new_key()
    body = lead_body(email=f"c.{uuid.uuid4().hex[:8]}@example.com")
    await ws.key()  # mint before the burst
    responses = await asyncio.gather(
        *[ws.request("POST", LEADS, json=body, headers=idem(key)) for _ in range(50)]
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    originals = [r for r in created if not replayed(r)]
    assert len(originals) == 1, statuses
    stored = originals[0].content
    for r in created:
        assert r.content == stored
    for r in responses:
        if r.status_code == 409:
            assert_error(r, 409, "conflict")
    ids = await lead_ids(ws)
    assert ids == [originals[0].json()["data"]["id"]]
    # afterwards the key replays the stored response
    after = await ws.request("POST", LEADS, json=body, headers=idem(key))
    assert after.status_code == 201 and replayed(after) and after.content == stored


async def test_concurrent_posts_with_distinct_keys_and_same_phone_make_one_lead(ws):
    body = lead_body()
    responses = await asyncio.gather(
        *[ws.request("POST", LEADS, json=body, headers=idem(new_key())) for _ in range(10)]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 9 + [201], statuses
    assert len(await lead_ids(ws)) == 1
