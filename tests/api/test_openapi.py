"""The OpenAPI document: generated from the route table, committed, served, and true to the API."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import schemathesis
from openapi_spec_validator import validate

from hadar.openapi import TITLE, build_document, render
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


def test_document_passes_the_openapi_spec_validator_and_every_ref_resolves() -> None:
    validate(json.loads(COMMITTED.read_text(encoding="utf-8")))
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(DOC)
    assert refs
    for ref in refs:
        section, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in DOC["components"][section], ref


def test_a_few_operations_read_as_a_client_would_read_them() -> None:
    """Hand-written expectations for representative routes (not re-derived from the code)."""
    create = DOC["paths"]["/api/v1/leads"]["post"]
    assert set(create["responses"]) == {"201", "200", "400", "401", "403", "409", "413", "429"}
    listing = DOC["paths"]["/api/v1/leads"]["get"]
    assert set(listing["responses"]) == {"200", "400", "401", "403", "429"}
    names = {p.get("name") for p in listing["parameters"]}
    assert names == {
        "limit",
        "cursor",
        "source",
        "score_min",
        "created_after",
        "assigned_to",
        "status",
    }
    created_after = next(p for p in listing["parameters"] if p["name"] == "created_after")
    assert created_after["schema"]["format"] == "date-time"
    keys = DOC["paths"]["/api/v1/api_keys"]["post"]
    assert "503" in keys["responses"] and "Idempotency-Key" in json.dumps(keys["parameters"])
    audit = DOC["paths"]["/api/v1/audit_events"]["get"]["responses"]["200"]
    data = audit["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/AuditEventList"}
    lead = DOC["components"]["schemas"]["Lead"]
    assert lead["properties"]["created_at"]["format"] == "date-time"


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


async def test_every_route_documents_what_it_really_answers(ws: Workspace) -> None:
    """Drive every route into the answers any route can give (no key, a viewer, an unknown
    id, a bad body) and check each real answer against the document."""
    viewer = await ws.headers("test", "viewer")
    for spec in ROUTES:
        template = "/api/v1" + spec.path
        path = template
        for name in spec.path_params:
            prefix = name.removesuffix("_id").replace("webhook", "whk").replace("delivery", "dlv")
            prefix = {"lead": "lead", "key": "key"}.get(prefix, prefix)
            path = path.replace("{" + name + "}", f"{prefix}_01HMNZ0000000000000000000Z")
        method = spec.method
        conforms(method, template, await ws.client.request(method, path))
        body = {"content": b"{"} if spec.mutation else {}
        conforms(method, template, await ws.request(method, path, **body))
        r = await ws.client.request(method, path, headers=viewer, json={})
        conforms(method, template, r)
        if spec.mutation:
            assert r.status_code in (403, 404), (method, path, r.status_code)
