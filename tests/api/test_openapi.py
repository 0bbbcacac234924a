"""The OpenAPI document: generated from the route table, committed, served, and true to the API."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis

from hadar.openapi import TITLE, build_document, render
from hadar.openapi.operations import UNDESCRIBED
from hadar.openapi.responses import statuses_of
from hadar.rest.routes import ROUTES
from tests.conftest import Workspace, lead_body

COMMITTED = Path(__file__).parents[2] / "schema" / "openapi.json"
DOC = build_document()


def test_committed_document_is_current() -> None:
    # On failure regenerate with: .venv/bin/python -m hadar.openapi
    assert COMMITTED.read_text(encoding="utf-8") == render(), "schema/openapi.json drifted"


def test_document_is_valid_openapi_31() -> None:
    schema = schemathesis.openapi.from_dict(DOC)
    schema.validate()
    assert DOC["openapi"].startswith("3.1")
    assert DOC["info"]["title"] == TITLE


def test_every_route_is_documented_with_its_statuses() -> None:
    for spec in ROUTES:
        op = DOC["paths"]["/api/v1" + spec.path][spec.method.lower()]
        expected = {spec.status, *spec.extra_statuses}
        for code in spec.errors:
            expected.update(statuses_of(code, mutation=spec.mutation))
        assert set(map(int, op["responses"])) == expected, (spec.method, spec.path)
        names = {p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"]}
        assert set(spec.query) <= names
        assert ("Idempotency-Key" in names) == spec.mutation
        if spec.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{spec.body.__name__}"


def test_documents_auth_idempotency_and_limits() -> None:
    bearer = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert "hdr_live_" in bearer["description"] and "hdr_test_" in bearer["description"]
    assert DOC["security"] == [{"bearerAuth": []}]
    assert "expires_in_seconds" in DOC["info"]["description"]
    assert "make run" in DOC["info"]["description"]
    limit = next(
        p for p in DOC["paths"]["/api/v1/leads"]["get"]["parameters"] if p.get("name") == "limit"
    )
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    lead_create = DOC["components"]["schemas"]["LeadCreate"]
    assert lead_create["additionalProperties"] is False
    assert lead_create["properties"]["name"]["maxLength"] == 200
    assert set(DOC["components"]["headers"]) >= {"X-Trace-Id", "Retry-After", "X-RateLimit-Reset"}


async def test_served_document_and_swagger_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/developers/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.content == COMMITTED.read_bytes()
    assert r.headers["x-trace-id"] and r.headers["x-ratelimit-limit"]
    page = await client.get("/developers/api-docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/developers/openapi.json" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"/static/swagger/{asset}" in page.text
        assert (await client.get(f"/static/swagger/{asset}")).status_code == 200


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].split("/")[-2:]
        node = DOC["components"][section][name]
    return node


def conforms(method: str, path: str, response: httpx.Response) -> dict[str, Any]:
    """Assert `response` is documented for the operation and matches its schema and headers."""
    op = DOC["paths"][path][method.lower()]
    assert str(response.status_code) in op["responses"], (method, path, response.status_code)
    documented = _resolve(op["responses"][str(response.status_code)])
    schema = documented["content"]["application/json"]["schema"]
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": DOC["components"]})
    body = response.json()
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, (method, path, errors, body)
    for name, header in documented["headers"].items():
        if _resolve(header)["required"]:
            assert name.lower() in response.headers, (method, path, name)
    return body


async def test_real_responses_match_the_document(ws: Workspace) -> None:
    leads, lead = "/api/v1/leads", "/api/v1/leads/{lead_id}"
    body = lead_body(email="a@example.com", utm={"campaign": "x"})
    r = await ws.request("POST", leads, json=body)
    created = conforms("POST", leads, r)["data"]
    r = await ws.request("POST", leads, json=lead_body(email="a@example.com", source="Foo"))
    assert r.status_code == 200
    conforms("POST", leads, r)
    at = f"/api/v1/leads/{created['id']}"
    conforms("GET", lead, await ws.request("GET", at))
    patched = await ws.request("PATCH", at, json={"status": "lost", "bedrooms": 0})
    conforms("PATCH", lead, patched)
    conforms("GET", leads, await ws.request("GET", leads, params={"limit": 1}))
    conforms("GET", leads, await ws.request("GET", leads, params={"limit": 0}))
    conforms("GET", leads, await ws.client.get(leads))
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    conforms("DELETE", lead, await ws.request("DELETE", at, headers=headers))
    replay = await ws.request("DELETE", at, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    conforms("DELETE", lead, replay)
    conforms("DELETE", lead, await ws.request("DELETE", at))
    conforms("POST", leads, await ws.request("POST", leads, content=b"{"))

    keys, revoke = "/api/v1/api_keys", "/api/v1/api_keys/{key_id}/revoke"
    r = await ws.request("POST", keys, json={"expires_in_seconds": 3600, "name": "docs"})
    minted = conforms("POST", keys, r)["data"]
    conforms("GET", keys, await ws.request("GET", keys))
    conforms("POST", revoke, await ws.request("POST", f"{keys}/{minted['id']}/revoke"))
    conforms("GET", keys, await ws.request("GET", keys, role="viewer"))
    r = await ws.client.get(leads, headers={"Authorization": f"Bearer {minted['token']}"})
    assert r.json()["error"]["code"] == "invalid_api_key"
    conforms("GET", leads, r)


@pytest.mark.parametrize("path", sorted(DOC["paths"]))
def test_paths_are_canonical(path: str) -> None:
    assert path.startswith("/api/v1/")
    assert json.dumps(DOC["paths"][path])  # serialisable as served


def test_every_route_has_a_response_model() -> None:
    undescribed = [
        f"{method.upper()} {path}"
        for path, item in DOC["paths"].items()
        for method, op in item.items()
        if UNDESCRIBED in json.dumps(op)
    ]
    assert not undescribed, f"add response models to hadar.openapi DOCS for {undescribed}"
