"""Security headers on every answer (SPEC 5): `no-store` on JSON, a `frame-ancestors 'none'`
CSP on HTML pages, `nosniff` everywhere."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Workspace, lead_body


def assert_json_headers(r: httpx.Response) -> None:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"


def assert_html_headers(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers.get_list("content-security-policy")
    assert any("frame-ancestors 'none'" in policy for policy in csp), csp
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_json_success_answers_are_not_stored(ws: Workspace) -> None:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201
    assert_json_headers(r)
    r = await ws.request("GET", "/api/v1/leads")
    assert r.status_code == 200
    assert_json_headers(r)


async def test_json_error_answers_are_not_stored(client: httpx.AsyncClient, ws: Workspace) -> None:
    r = await client.get("/api/v1/leads")
    assert r.status_code == 401
    assert_json_headers(r)
    r = await ws.request("POST", "/api/v1/leads", json={"name": ""})
    assert r.status_code == 400
    assert_json_headers(r)


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/nowhere", "/static/nowhere.js"])
async def test_unknown_routes_are_not_stored(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert_json_headers(r)


async def test_graphql_json_is_not_stored(ws: Workspace) -> None:
    r = await ws.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers=await ws.headers()
    )
    assert r.status_code == 200
    assert_json_headers(r)


async def test_health_and_openapi_are_not_stored(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/developers/openapi.json"):
        r = await client.get(path)
        assert r.status_code == 200
        assert_json_headers(r)


async def test_graphiql_page_may_not_be_framed(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql", headers={"Accept": "text/html"})
    assert_html_headers(r)


async def test_swagger_page_may_not_be_framed(client: httpx.AsyncClient) -> None:
    r = await client.get("/developers/api-docs")
    assert_html_headers(r)


async def test_static_assets_are_not_sniffed(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/swagger/swagger-ui-bundle.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["x-content-type-options"] == "nosniff"
