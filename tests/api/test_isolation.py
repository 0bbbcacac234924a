"""Sandboxes: test and live data of one tenant never meet, and tenants never see each other.
A foreign id answers exactly like a missing one: 404 not_found, never 403."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"
MISSING = "lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"


def assert_not_found(r) -> dict:
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["data"] is None
    assert body["error"]["code"] == "not_found"
    assert r.headers["x-trace-id"] == body["error"]["trace_id"]
    return body["error"]


async def other_workspace(client) -> Workspace:
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    await other.key("test", "admin", plan="enterprise")
    return other


async def create(ws, env="test", **over) -> dict:
    r = await ws.request("POST", LEADS, env=env, json=lead_body(**over))
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def ids(ws, env="test", role="admin", **params) -> list[str]:
    r = await ws.request("GET", LEADS, env=env, role=role, params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]["items"]]


# --- tenants --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "agent", "viewer"])
async def test_other_tenant_cannot_read_lead(ws, client, role):
    lead = await create(ws)
    other = await other_workspace(client)
    r = await other.request("GET", f"{LEADS}/{lead['id']}", role=role)
    err = assert_not_found(r)
    assert lead["name"] not in r.text and lead["phone"] not in r.text
    # indistinguishable from an id that exists nowhere
    missing = assert_not_found(await other.request("GET", f"{LEADS}/{MISSING}", role=role))
    assert err["message"].replace(lead["id"], "X") == missing["message"].replace(MISSING, "X")


async def test_other_tenant_cannot_update_lead(ws, client):
    lead = await create(ws, area="Dubai Marina")
    other = await other_workspace(client)
    for role in ("admin", "agent"):
        r = await other.request(
            "PATCH", f"{LEADS}/{lead['id']}", role=role, json={"name": "Hijacked", "area": "JBR"}
        )
        assert_not_found(r)
    r = await ws.request("GET", f"{LEADS}/{lead['id']}")
    assert r.status_code == 200
    got = r.json()["data"]
    assert got["name"] == lead["name"]
    assert got["area"] == "Dubai Marina"
    assert got["updated_at"] == lead["updated_at"]


async def test_other_tenant_cannot_delete_lead(ws, client):
    lead = await create(ws)
    other = await other_workspace(client)
    for role in ("admin", "agent"):
        r = await other.request("DELETE", f"{LEADS}/{lead['id']}", role=role)
        assert_not_found(r)
    r = await ws.request("GET", f"{LEADS}/{lead['id']}")
    assert r.status_code == 200, r.text


async def test_other_tenant_list_never_includes_lead(ws, client):
    mine = [await create(ws, source="bayut", assigned_to="sara@agency.ae") for _ in range(3)]
    other = await other_workspace(client)
    theirs = await create(other, source="bayut", assigned_to="sara@agency.ae")
    assert await ids(other) == [theirs["id"]]
    assert await ids(
        other, source="bayut", assigned_to="sara@agency.ae", status="new", score_min=0
    ) == [theirs["id"]]
    assert sorted(await ids(ws)) == sorted(m["id"] for m in mine)


async def test_same_phone_in_two_tenants_creates_two_leads(ws, client):
    body = lead_body(email=f"{uuid.uuid4().hex[:8]}@example.com")
    other = await other_workspace(client)
    r1 = await ws.request("POST", LEADS, json=body)
    r2 = await other.request("POST", LEADS, json=body)
    assert r1.status_code == 201 and r2.status_code == 201, (r1.text, r2.text)
    assert r1.json()["data"]["id"] != r2.json()["data"]["id"]
    assert r2.json()["data"]["sources"] == ["bayut"]


# --- environments ---------------------------------------------------------------------------


@pytest.mark.parametrize(("owner", "intruder"), [("test", "live"), ("live", "test")])
async def test_environment_cannot_read_other_environment_lead(ws, owner, intruder):
    lead = await create(ws, env=owner)
    for role in ("admin", "agent", "viewer"):
        r = await ws.request("GET", f"{LEADS}/{lead['id']}", env=intruder, role=role)
        assert_not_found(r)
    r = await ws.request("GET", f"{LEADS}/{lead['id']}", env=owner)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("owner", "intruder"), [("test", "live"), ("live", "test")])
async def test_environment_cannot_update_other_environment_lead(ws, owner, intruder):
    lead = await create(ws, env=owner)
    r = await ws.request(
        "PATCH",
        f"{LEADS}/{lead['id']}",
        env=intruder,
        json={"status": "won", "budget_aed": 5_000_000},
    )
    assert_not_found(r)
    got = (await ws.request("GET", f"{LEADS}/{lead['id']}", env=owner)).json()["data"]
    assert got["status"] == "new"
    assert got["budget_aed"] is None
    assert got["score"] == lead["score"]


@pytest.mark.parametrize(("owner", "intruder"), [("test", "live"), ("live", "test")])
async def test_environment_cannot_delete_other_environment_lead(ws, owner, intruder):
    lead = await create(ws, env=owner)
    r = await ws.request("DELETE", f"{LEADS}/{lead['id']}", env=intruder)
    assert_not_found(r)
    r = await ws.request("GET", f"{LEADS}/{lead['id']}", env=owner)
    assert r.status_code == 200, r.text


async def test_lists_are_separate_per_environment(ws):
    test_leads = [await create(ws, env="test") for _ in range(2)]
    live_leads = [await create(ws, env="live") for _ in range(3)]
    assert sorted(await ids(ws, env="test")) == sorted(x["id"] for x in test_leads)
    assert sorted(await ids(ws, env="live")) == sorted(x["id"] for x in live_leads)
    assert sorted(await ids(ws, env="live", role="viewer", source="bayut")) == sorted(
        x["id"] for x in live_leads
    )


async def test_live_key_does_not_see_test_leads_of_same_tenant(ws):
    await create(ws, env="test")
    await create(ws, env="test")
    assert await ids(ws, env="live") == []
    assert await ids(ws, env="live", role="viewer") == []


async def test_same_phone_in_test_and_live_is_not_merged(ws):
    body = lead_body(email=f"{uuid.uuid4().hex[:8]}@example.com")
    r_test = await ws.request("POST", LEADS, env="test", json=body)
    r_live = await ws.request("POST", LEADS, env="live", json={**body, "source": "PF"})
    assert r_test.status_code == 201, r_test.text
    assert r_live.status_code == 201, r_live.text
    assert r_test.json()["data"]["id"] != r_live.json()["data"]["id"]
    assert r_live.json()["data"]["sources"] == ["property_finder"]
    got = (await ws.request("GET", f"{LEADS}/{r_test.json()['data']['id']}")).json()["data"]
    assert got["sources"] == ["bayut"]


async def test_patch_phone_conflict_check_is_sandboxed(ws):
    """A phone held by a live lead does not block a test lead from taking it."""
    live = await create(ws, env="live")
    test = await create(ws, env="test")
    r = await ws.request("PATCH", f"{LEADS}/{test['id']}", json={"phone": live["phone"]})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["phone"] == live["phone"]
