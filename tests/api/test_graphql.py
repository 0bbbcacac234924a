"""GraphQL over HTTP: admission (keys, rate limits, fail-closed), errors in extensions,
idempotent mutations, transactional rollback, hostile-query limits and GraphiQL."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from hadar.app import create_app
from hadar.domain.leads import Lead
from hadar.platform.guard import Guard
from hadar.platform.runtime import Runtime
from hadar.platform.store import StoreUnavailable, Verdict
from hadar.services import leads as lead_service
from tests.conftest import Workspace, lead_body

CREATE = """mutation($input: LeadCreateInput!) {
  createLead(input: $input) { created lead { id name phone } }
}"""
LIST = "{ leads(first: 5) { edges { node { id } } pageInfo { hasNextPage endCursor } } }"


async def gql(
    ws: Workspace,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    role: str = "admin",
    env: str = "test",
    headers: dict[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    h = {**(await ws.headers(env, role)), **(headers or {})}
    return await (client or ws.client).post(
        "/graphql", json={"query": query, "variables": variables}, headers=h
    )


def gql_error(r: httpx.Response, status: int, code: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    err = body["errors"][0]
    assert err["extensions"]["code"] == code, body
    assert err["extensions"].get("field") == field, body
    assert err["extensions"]["trace_id"] == r.headers["x-trace-id"]
    return body


async def count_leads(ws: Workspace) -> int:
    page = await ws.request("GET", "/api/v1/leads?limit=100")
    return len(page.json()["data"]["items"])


# --- admission ---------------------------------------------------------------------------


async def test_missing_and_malformed_keys_are_unauthorized(client: httpx.AsyncClient) -> None:
    r = await client.post("/graphql", json={"query": LIST})
    body = gql_error(r, 401, "unauthorized")
    assert body["data"] is None
    assert "x-ratelimit-limit" in r.headers
    r = await client.post(
        "/graphql", json={"query": LIST}, headers={"Authorization": "Bearer hdr_test_nope"}
    )
    gql_error(r, 401, "unauthorized")


async def test_unknown_and_revoked_keys_are_invalid(ws: Workspace) -> None:
    token = await ws.key("test", "admin")
    forged = token[:-7] + ("A" if token[-7] != "A" else "B") + token[-6:]
    r = await ws.client.post(
        "/graphql", json={"query": LIST}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] in {"unauthorized", "invalid_api_key"}
    victim = await ws.key("test", "agent")
    key_id = ws.key_ids[("test", "agent")]
    r = await gql(
        ws, "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }", {"id": key_id}
    )
    assert r.json()["data"]["revokeApiKey"]["revokedAt"]
    r = await ws.client.post(
        "/graphql", json={"query": LIST}, headers={"Authorization": f"Bearer {victim}"}
    )
    gql_error(r, 401, "invalid_api_key")


async def test_rate_limit_headers_and_429(ws: Workspace) -> None:
    token = await ws.key("test", "agent", rate_limit=2)
    h = {"Authorization": f"Bearer {token}"}
    first = await ws.client.post("/graphql", json={"query": LIST}, headers=h)
    assert first.status_code == 200, first.text
    assert first.headers["x-ratelimit-limit"] == "2"
    assert {"x-ratelimit-remaining", "x-ratelimit-reset"} <= set(first.headers)
    await ws.client.post("/graphql", json={"query": LIST}, headers=h)
    r = await ws.client.post("/graphql", json={"query": LIST}, headers=h)
    gql_error(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1


class DownStore:
    """A shared store (Redis) that is unreachable."""

    async def hit(self, key: str, limit: int, cost: int = 1) -> Verdict:
        raise StoreUnavailable("down")

    async def acquire(self, key: str, ttl: float) -> str | None:
        raise StoreUnavailable("down")

    async def release(self, key: str, token: str) -> None:
        raise StoreUnavailable("down")

    async def ping(self) -> None:
        raise StoreUnavailable("down")

    async def aclose(self) -> None:
        return None


async def test_api_key_operations_fail_closed_leads_do_not(ws: Workspace, settings: Any) -> None:
    app = create_app(settings)
    app.state.runtime = Runtime(
        settings=settings,
        guard=Guard(DownStore(), shared=True),
        authenticate=app.state.runtime.authenticate,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hadar.test"
    ) as down:
        r = await gql(ws, LIST, client=down)
        assert r.status_code == 200, r.text
        r = await gql(ws, "{ apiKeys { edges { node { id } } } }", client=down)
        gql_error(r, 503, "service_unavailable")
        r = await gql(ws, "mutation { createApiKey { token } }", client=down)
        gql_error(r, 503, "service_unavailable")
        key_id = ws.key_ids[("test", "admin")]
        r = await gql(ws, "query($id: ID!) { node(id: $id) { id } }", {"id": key_id}, client=down)
        gql_error(r, 200, "service_unavailable")


async def test_tenants_and_environments_are_isolated(ws: Workspace, client: Any) -> None:
    r = await gql(ws, CREATE, {"input": lead_body()})
    lead_id = r.json()["data"]["createLead"]["lead"]["id"]
    other = Workspace(client, ws.slug + "-other")
    r = await gql(other, "query($id: ID!) { lead(id: $id) { id } }", {"id": lead_id})
    gql_error(r, 200, "not_found")
    r = await gql(ws, "query($id: ID!) { node(id: $id) { id } }", {"id": lead_id}, env="live")
    assert r.json() == {"data": {"node": None}}


# --- errors -------------------------------------------------------------------------------


async def test_field_errors_carry_code_field_and_trace(ws: Workspace) -> None:
    r = await gql(ws, CREATE, {"input": {"name": "A", "email": "not-an-email"}})
    body = gql_error(r, 200, "validation_error", "lead.email")
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["createLead"]
    r = await gql(ws, "{ leads(first: 101) { edges { node { id } } } }")
    gql_error(r, 200, "validation_error", "limit")
    # A role refusal is decided before execution, as on REST: the request is refused whole.
    r = await gql(ws, CREATE, {"input": lead_body()}, role="viewer")
    gql_error(r, 403, "forbidden")


async def test_document_errors_are_validation_errors(ws: Workspace) -> None:
    r = await gql(ws, "{ leads { edges { node { nope } } } }")
    gql_error(r, 200, "validation_error")
    r = await gql(ws, "{ leads {")
    gql_error(r, 200, "validation_error")


async def test_unknown_exceptions_are_internal_and_logged(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(**kw: Any) -> Any:
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(lead_service, "list_lead_rows", broken)
    with caplog.at_level(logging.ERROR, logger="hadar.graphql"):
        r = await gql(ws, LIST)
    body = gql_error(r, 200, "internal_error")
    assert "secret database detail" not in r.text
    assert body["errors"][0]["message"].startswith("An internal error occurred")
    assert any("secret database detail" in (rec.exc_text or "") for rec in caplog.records)


# --- idempotency and transactions -------------------------------------------------------


async def test_idempotent_replay_is_byte_identical_and_runs_once(ws: Workspace) -> None:
    variables = {"input": lead_body()}
    h = {"Idempotency-Key": "gql-replay-1"}
    first = await gql(ws, CREATE, variables, headers=h)
    again = await gql(ws, CREATE, variables, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.json()["data"]["createLead"]["created"] is True
    assert await count_leads(ws) == 1


async def test_idempotency_key_conflicts_and_validation(ws: Workspace) -> None:
    h = {"Idempotency-Key": "gql-conflict-1"}
    await gql(ws, CREATE, {"input": lead_body()}, headers=h)
    r = await gql(ws, CREATE, {"input": lead_body()}, headers=h)
    gql_error(r, 409, "conflict", "Idempotency-Key")
    r = await ws.request("POST", "/api/v1/leads", json=lead_body(), headers=h)
    assert r.json()["error"]["code"] == "conflict"
    r = await gql(ws, CREATE, {"input": lead_body()}, headers={"Idempotency-Key": "x" * 256})
    gql_error(r, 400, "validation_error", "Idempotency-Key")


async def test_remembered_errors_replay_and_rejections_are_not_stored(ws: Workspace) -> None:
    missing = 'mutation { deleteLead(id: "lead_01HMNZ0000000000000000000Z") { id } }'
    h = {"Idempotency-Key": "gql-notfound-1"}
    first = await gql(ws, missing, headers=h)
    gql_error(first, 200, "not_found")
    again = await gql(ws, missing, headers=h)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    # A validation error is not stored: the corrected retry under the same key executes.
    h = {"Idempotency-Key": "gql-invalid-1"}
    bad = await gql(ws, CREATE, {"input": {"name": "A", "email": "nope"}}, headers=h)
    gql_error(bad, 200, "validation_error", "lead.email")
    r = await gql(ws, CREATE, {"input": {"name": "A", "email": "nope"}}, headers=h)
    assert "idempotent-replayed" not in r.headers


async def test_failed_mutation_request_rolls_back_whole(ws: Workspace) -> None:
    query = """mutation($input: LeadCreateInput!) {
      a: createLead(input: $input) { lead { id } }
      b: deleteLead(id: "lead_01HMNZ0000000000000000000Z") { id }
    }"""
    r = await gql(ws, query, {"input": lead_body()})
    body = gql_error(r, 200, "not_found")
    assert body["data"] is None
    assert await count_leads(ws) == 0
    assert await Lead.filter(name="Aisha Khan", tenant__slug=ws.slug).count() == 0


# --- hostile queries, introspection, GraphiQL ---------------------------------------------


async def test_depth_alias_and_token_limits(ws: Workspace) -> None:
    aliases = " ".join(f"a{i}: leads {{ pageInfo {{ hasNextPage }} }}" for i in range(31))
    body = gql_error(await gql(ws, "{ " + aliases + " }"), 200, "validation_error")
    assert any("aliases" in e["message"] for e in body["errors"])
    deep = "{ leads { edges { node { " + "x { " * 9 + "y" + " }" * 9 + " } } } }"
    body = gql_error(await gql(ws, deep), 200, "validation_error")
    assert any("exceeds maximum operation depth of 10" in e["message"] for e in body["errors"])
    body = gql_error(await gql(ws, "{ " + "__typename " * 2100 + "}"), 200, "validation_error")
    assert any("tokens" in e["message"] for e in body["errors"])
    ok = await gql(ws, "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }")
    assert ok.status_code == 200 and "errors" not in ok.json()


async def test_introspection_is_allowed(ws: Workspace) -> None:
    r = await gql(ws, get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert r.status_code == 200, r.text
    types = {t["name"] for t in r.json()["data"]["__schema"]["types"]}
    assert {"Lead", "ApiKey", "LeadConnection", "PageInfo"} <= types


async def test_graphiql_is_served_from_own_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "x-ratelimit-limit" in r.headers
    assert "/static/graphiql/graphiql.min.js" in r.text
    assert "unpkg.com" not in r.text and "jsdelivr" not in r.text
    assert (await client.get("/static/graphiql/graphiql.min.js")).status_code == 200


async def test_get_queries_work_and_get_mutations_do_not(ws: Workspace) -> None:
    h = await ws.headers()
    r = await ws.client.get("/graphql", params={"query": LIST}, headers=h)
    assert r.status_code == 200 and r.json()["data"]["leads"]["edges"] == []
    r = await ws.client.get(
        "/graphql", params={"query": 'mutation { deleteLead(id: "x") { id } }'}, headers=h
    )
    gql_error(r, 400, "validation_error", "body")
