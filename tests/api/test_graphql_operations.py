"""The operation a document runs is the one it is planned as: with several operations and no
operationName, Strawberry runs the first named one, so that one is metered, role-checked,
POST-only and idempotent exactly as if it were sent alone."""

from __future__ import annotations

from tests.conftest import Workspace, lead_body


async def _lead(ws: Workspace) -> str:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201
    return str(r.json()["data"]["id"])


def _delete(lead_id: str) -> str:
    return f'mutation Drop {{ deleteLead(id: "{lead_id}") {{ id deleted }} }}'


async def test_a_first_named_mutation_is_checked_as_if_sent_alone(ws: Workspace) -> None:
    lead_id = await _lead(ws)
    alone = _delete(lead_id)
    several = alone + " query Look { __typename }"
    for role, method in (("viewer", "POST"), ("admin", "GET")):
        answers = []
        for query in (alone, several):
            if method == "GET":
                r = await ws.request(method, "/graphql", role=role, params={"query": query})
            else:
                r = await ws.request(method, "/graphql", role=role, json={"query": query})
            body = r.json()
            answers.append((r.status_code, body["data"], body["errors"][0]["extensions"]["code"]))
        assert answers[0] == answers[1], (role, method, answers)
        assert answers[0][2] in ("forbidden", "validation_error")
    r = await ws.request("GET", f"/api/v1/leads/{lead_id}")
    assert r.status_code == 200  # neither deleted it


async def test_a_first_named_query_still_runs_and_an_ambiguous_document_runs_nothing(
    ws: Workspace,
) -> None:
    lead_id = await _lead(ws)
    r = await ws.request(
        "POST", "/graphql", json={"query": "query Look { __typename } " + _delete(lead_id)}
    )
    assert r.json() == {"data": {"__typename": "Query"}}
    r = await ws.request("POST", "/graphql", json={"query": "{ __typename } " + _delete(lead_id)})
    body = r.json()
    assert body["data"] is None  # an anonymous operation must be the only one
    assert body["errors"][0]["extensions"]["code"] == "validation_error"
    r = await ws.request("GET", f"/api/v1/leads/{lead_id}")
    assert r.status_code == 200
