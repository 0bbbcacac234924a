"""Findings of the black-box probe (issue 9) that live in the request pipeline and GraphQL:
each test failed before its fix."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx
import pytest

from hadar.domain.records import IdempotencyRecord
from tests.conftest import Workspace, lead_body

CREATE_KEY = 'mutation { createApiKey(input: {role: "agent"}) { token apiKey { id } } }'
CREATE_LEAD = "mutation($i: LeadCreateInput!) { createLead(input: $i) { lead { id } } }"


async def gql(
    ws: Workspace, query: str, variables: Any = None, *, role: str = "admin", **headers: str
) -> httpx.Response:
    h = {**(await ws.headers("test", role)), **headers}
    return await ws.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=h
    )


def fan_out(levels: int) -> str:
    fragments = ["fragment L0 on LeadConnection { pageInfo { hasNextPage } }"]
    fragments += [
        f"fragment L{i} on LeadConnection {{ ...L{i - 1} ...L{i - 1} }}"
        for i in range(1, levels + 1)
    ]
    return f"query {{ leads(first: 1) {{ ...L{levels} }} }} " + " ".join(fragments)


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


async def test_a_fragment_fan_out_is_refused_at_once(ws: Workspace) -> None:
    document = fan_out(30)
    assert len(document) < 1600
    await gql(ws, "{ __typename }")  # warm the schema's caches
    best = min([(await timed(gql(ws, document)))[1] for _ in range(3)])
    r = await gql(ws, document)
    assert r.status_code == 200
    error = r.json()["errors"][0]
    assert error["extensions"]["code"] == "validation_error"
    assert "fragments are expanded" in error["message"]
    assert best < 0.05, f"the fan-out took {best * 1000:.0f} ms"
    health, spent = await timed(ws.client.get("/healthz"))
    assert health.status_code == 200 and spent < 0.05


async def test_repeated_fields_are_validated_in_linear_time(ws: Workspace) -> None:
    # graphql-core's pairwise rule spends hundreds of ms on this 2 KB document.
    document = "{ leads(first: 1) { " + "edges { node { id name } } " * 70 + "} }"
    await gql(ws, "{ __typename }")
    best = min([(await timed(gql(ws, document)))[1] for _ in range(3)])
    r = await gql(ws, document)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    assert best < 0.1, f"validation took {best * 1000:.0f} ms"
    page = "{ pageInfo { hasNextPage } }"
    conflicting = f"{{ a: leads(first: 1) {page} a: leads(first: 2) {page} }}"
    r = await gql(ws, conflicting)
    assert "conflict because they have differing arguments" in r.json()["errors"][0]["message"]


async def test_a_viewer_replaying_an_admins_key_mint_gets_403_and_no_token(ws: Workspace) -> None:
    key = str(uuid.uuid4())
    first = await gql(ws, CREATE_KEY, **{"Idempotency-Key": key})
    token = first.json()["data"]["createApiKey"]["token"]
    assert token.startswith("hdr_test_")
    replay = await gql(ws, CREATE_KEY, role="viewer", **{"Idempotency-Key": key})
    assert replay.status_code == 403
    assert replay.json()["errors"][0]["extensions"]["code"] == "forbidden"
    assert "idempotent-replayed" not in replay.headers and token not in replay.text
    # Nothing shown once is ever stored; the admin's own replay carries null.
    records = await IdempotencyRecord.filter(key=key).all()
    assert len(records) == 1 and token.encode() not in bytes(records[0].body)
    again = await gql(ws, CREATE_KEY, **{"Idempotency-Key": key})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["createApiKey"]["token"] is None


async def test_a_viewer_replaying_rest_mints_and_webhook_creation_gets_403(ws: Workspace) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"url": "https://hooks.example.com/hadar", "events": ["lead.created"]}
    first = await ws.request("POST", "/api/v1/webhooks", json=body, headers=key)
    secret = first.json()["data"]["secret"]
    assert secret.startswith("whsec_")
    replay = await ws.request("POST", "/api/v1/webhooks", json=body, headers=key, role="viewer")
    assert replay.status_code == 403 and replay.json()["error"]["code"] == "forbidden"
    assert "whsec_" not in replay.text
    record = await IdempotencyRecord.get(key=key["Idempotency-Key"])
    assert secret.encode() not in bytes(record.body)
    again = await ws.request("POST", "/api/v1/webhooks", json=body, headers=key)
    assert again.headers["idempotent-replayed"] == "true" and again.json()["data"]["secret"] is None
    key = {"Idempotency-Key": str(uuid.uuid4())}
    await ws.request("POST", "/api/v1/api_keys", json={"role": "agent"}, headers=key)
    replay = await ws.request(
        "POST", "/api/v1/api_keys", json={"role": "agent"}, headers=key, role="viewer"
    )
    assert replay.status_code == 403 and "hdr_" not in replay.text


async def test_graphql_is_metered_per_root_field(client: httpx.AsyncClient) -> None:
    ws = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    await ws.key("test", "admin", plan="starter")  # 60 a minute
    aliases = " ".join(f"a{i}: createLead(input: $i{i}) {{ lead {{ id }} }}" for i in range(25))
    params = ", ".join(f"$i{i}: LeadCreateInput!" for i in range(25))
    document = f"mutation({params}) {{ {aliases} }}"

    def leads() -> dict[str, Any]:
        return {f"i{i}": lead_body() for i in range(25)}

    first = await gql(ws, document, leads())
    assert first.status_code == 200 and "errors" not in first.json(), first.text
    assert 34 <= int(first.headers["x-ratelimit-remaining"]) <= 35
    second = await gql(ws, document, leads())
    assert second.status_code == 200
    assert 9 <= int(second.headers["x-ratelimit-remaining"]) <= 11
    third = await gql(ws, document, leads())
    assert third.status_code == 429
    assert third.json()["errors"][0]["extensions"]["code"] == "rate_limited"
    assert int(third.headers["retry-after"]) >= 1
    r = await ws.request("GET", "/api/v1/leads", params={"limit": 100})
    assert len(r.json()["data"]["items"]) == 50  # the refused document ran nothing


async def test_graphql_checks_the_key_before_reading_the_body(ws: Workspace) -> None:
    big = b'{"query": "' + b"x" * 2_000_000 + b'"}'
    r = await ws.client.post("/graphql", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 401
    r = await ws.client.post(
        "/graphql",
        content=big,
        headers={**(await ws.headers()), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert "x-ratelimit-limit" in r.headers


async def test_invalid_variables_are_validation_errors_and_stay_out_of_logs(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    document = "query($t: DateTime) { leads(createdAfter: $t) { edges { node { id } } } }"
    with caplog.at_level(logging.DEBUG):
        r = await gql(ws, document, {"t": "aisha.private@example.com"})
        bad = {"name": 5, "phone": "+971501112233", "email": "x.private@example.com"}
        r2 = await gql(ws, CREATE_LEAD, {"i": bad})
    for response in (r, r2):
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["code"] == "validation_error"
    logged = "\n".join(f"{rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records)
    assert "private@example.com" not in logged and "+971501112233" not in logged


async def test_a_replayed_graphql_error_answers_with_its_original_trace_id(ws: Workspace) -> None:
    missing = 'mutation { deleteLead(id: "lead_01HMNZ0000000000000000000Z") { id } }'
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await gql(ws, missing, **key)
    original = first.json()["errors"][0]["extensions"]["trace_id"]
    assert first.headers["x-trace-id"] == original
    again = await gql(ws, missing, **key)
    assert again.headers["idempotent-replayed"] == "true"
    assert (
        again.headers["x-trace-id"]
        == original
        == again.json()["errors"][0]["extensions"]["trace_id"]
    )
