"""The audit log: who (key), what, when and trace for every mutation, admins only."""

from tests.conftest import lead_body


async def test_every_mutation_is_logged_with_key_and_trace(ws):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    r = await ws.request(
        "POST",
        "/api/v1/leads",
        json=lead_body(),
        headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    lead_id = r.json()["data"]["id"]
    await ws.request("PATCH", f"/api/v1/leads/{lead_id}", json={"status": "qualified"})
    await ws.request("DELETE", f"/api/v1/leads/{lead_id}")
    r = await ws.request("GET", "/api/v1/audit_events")
    assert r.status_code == 200, r.text
    items = r.json()["data"]["items"]
    assert [i["action"] for i in items[:3]] == ["lead.deleted", "lead.updated", "lead.created"]
    created = items[2]
    assert created["object_id"] == lead_id
    assert created["key_id"] == ws.key_ids[("test", "admin")]
    assert created["trace_id"] == trace


async def test_only_admins_read_it_and_only_their_own(ws, client):
    from tests.conftest import Workspace

    for role in ("agent", "viewer"):
        r = await ws.request("GET", "/api/v1/audit_events", role=role)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    other = Workspace(client, ws.slug + "-x")
    r = await other.request("GET", "/api/v1/audit_events")
    assert r.json()["data"]["items"] == []
    r = await ws.request("GET", "/api/v1/audit_events", env="live")
    assert r.json()["data"]["items"] == []


async def test_graphql_reads_the_same_log(ws):
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    rest = (await ws.request("GET", "/api/v1/audit_events")).json()["data"]["items"]
    r = await ws.request(
        "POST",
        "/graphql",
        json={"query": "{ auditEvents(first: 5) { edges { node { id action } } } }"},
    )
    nodes = [e["node"] for e in r.json()["data"]["auditEvents"]["edges"]]
    assert nodes == [{"id": i["id"], "action": i["action"]} for i in rest[:5]]
