"""Relay edge cursors resume a list right after their node, like REST's next_cursor."""

from tests.conftest import lead_body


async def _gql(ws, query: str) -> dict:
    r = await ws.request("POST", "/graphql", json={"query": query})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


async def test_edge_cursor_resumes_after_its_node(ws):
    for _ in range(4):
        r = await ws.request("POST", "/api/v1/leads", json=lead_body())
        assert r.status_code == 201
    page = await _gql(ws, "{ leads(first: 4) { edges { cursor node { id } } } }")
    edges = page["leads"]["edges"]
    ids = [e["node"]["id"] for e in edges]
    assert len(ids) == 4
    rest = await _gql(
        ws, f'{{ leads(first: 4, after: "{edges[1]["cursor"]}") {{ edges {{ node {{ id }} }} }} }}'
    )
    assert [e["node"]["id"] for e in rest["leads"]["edges"]] == ids[2:]
    # The same cursor works on the REST surface: one pagination, two surfaces.
    r = await ws.request("GET", "/api/v1/leads", params={"cursor": edges[1]["cursor"]})
    assert [i["id"] for i in r.json()["data"]["items"]] == ids[2:]


async def test_edge_cursor_is_bound_to_its_filters(ws):
    for _ in range(2):
        await ws.request("POST", "/api/v1/leads", json=lead_body(source="bayut"))
    page = await _gql(ws, '{ leads(first: 2, source: "bayut") { edges { cursor } } }')
    cursor = page["leads"]["edges"][0]["cursor"]
    r = await ws.request(
        "POST",
        "/graphql",
        json={"query": f'{{ leads(after: "{cursor}") {{ edges {{ cursor }} }} }}'},
    )
    body = r.json()
    assert body["errors"][0]["extensions"]["code"] == "validation_error"
    assert body["errors"][0]["extensions"]["field"] == "cursor"
