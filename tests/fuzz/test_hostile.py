"""Hostile input against every route and both surfaces, on whichever database this pass runs
(SQLite, then PostgreSQL): nothing answers 5xx, every refusal is the surface's envelope with a
4xx code (and the `field` the input names), and not one row of the tenant's tables is written.

The cases come from hadar.rest.routes.ROUTES and the GraphQL schema (tests/fuzz/hostile.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from hadar.domain.tenants import Tenant
from hadar.errors import HadarError
from hadar.rest.routes import ROUTES
from tests.conftest import Workspace, lead_body
from tests.fuzz import hostile, hostile_graphql
from tests.fuzz.hostile import Case, Prepared

CASES = hostile.cases() + hostile_graphql.cases()
CLIENT_CODES = {
    cls.code for cls in (HadarError, *HadarError.__subclasses__()) if 400 <= cls.status < 500
} | {"validation_error"}


def test_the_table_covers_every_route_and_both_surfaces() -> None:
    assert len(CASES) >= 150, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    for spec in ROUTES:
        label = f"{spec.method} {spec.path} "
        assert any(c.id.startswith(label) for c in CASES), label
    assert {c.surface for c in CASES} == {"rest", "graphql"}


@pytest.fixture(scope="module")
async def hostile(app: Any) -> AsyncIterator[tuple[Workspace, str, Prepared]]:
    """One tenant for the whole table (a rate limit it never meets) and a real row for every
    path parameter the routes take, so id routes run past their lookup."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hadar.test") as client:
        ws = Workspace(client, f"h-{uuid.uuid4().hex[:12]}")
        await ws.key("test", "admin", plan="enterprise", rate_limit=1_000_000)
        ids: Prepared = {}
        r = await ws.request(
            "POST", "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["*"]}
        )
        ids["webhook_id"] = r.json()["data"]["id"]
        r = await ws.request("POST", "/api/v1/leads", json=lead_body())
        ids["lead_id"] = r.json()["data"]["id"]
        r = await ws.request("GET", f"/api/v1/webhooks/{ids['webhook_id']}/deliveries")
        ids["delivery_id"] = r.json()["data"]["items"][0]["id"]
        r = await ws.request("POST", "/api/v1/api_keys", json={"role": "viewer"})
        ids["key_id"] = r.json()["data"]["id"]
        yield ws, (await Tenant.get(slug=ws.slug)).id, ids


async def tenant_rows(tenant_id: str) -> dict[str, int]:
    """How many rows each table holds for the tenant (every table with a tenant_id column)."""
    counts: dict[str, int] = {}
    for app in Tortoise.apps.values():
        for model in app.values():
            if "tenant_id" in model._meta.fields_db_projection.values():
                table = model._meta.db_table
                counts[table] = await model.filter(tenant_id=tenant_id).count()
    return counts


def _matches(expected: str | re.Pattern[str] | None, actual: Any) -> bool:
    if expected is None:
        return True
    if isinstance(expected, re.Pattern):
        return isinstance(actual, str) and expected.match(actual) is not None
    return bool(actual == expected)


def check_rest(case: Case, r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    if case.status is not None:
        assert r.status_code == case.status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"data", "error"} and body["data"] is None, body
    err = body["error"]
    assert err["code"] in CLIENT_CODES, err
    if err["code"] == "not_found" and MISSING_ID in r.request.url.path:
        return  # its object was never prepared: refused at the lookup, before the body
    if case.code is not None:
        assert err["code"] == case.code, err
    assert _matches(case.field, err.get("field")), err
    assert err["trace_id"] and r.headers["x-trace-id"] == err["trace_id"]


MISSING_ID = "_01HMNZ0000000000000000000Z"  # hostile.missing_id: an object no fixture prepared


def live_only(req: Any) -> bool:
    """Integrations are connected with live keys only (a test key is 403 before validation)."""
    text = req.path.encode() + (req.content or b"")
    return re.search(rb"/api/v1/integrations|connect[A-Z]\w*\(|deleteIntegration", text) is not None


def check_graphql(case: Case, r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    assert r.status_code == 200 or 400 <= r.status_code < 500, r.text[:500]
    if case.status is not None:
        assert r.status_code == case.status, r.text[:500]
    body = r.json()
    data = body.get("data")
    if case.null_ok and not body.get("errors"):
        assert data is not None and all(v in (None, [None]) for v in data.values()), body
        return
    assert body.get("errors"), body
    assert data is None or all(v is None for v in data.values()), body
    ext = body["errors"][0]["extensions"]
    assert ext["code"] in CLIENT_CODES, ext
    if ext["code"] == "not_found" and MISSING_ID in r.request.content.decode("utf-8", "replace"):
        return  # its parent object was never prepared: refused before the field was read
    if case.code is not None:
        assert ext["code"] == case.code, body["errors"][0]
    first = body["errors"][0]
    # A nested input the generator cannot fill (an invoice's line items) is refused by GraphQL's
    # own input coercion before any field is read: a validation error without a field.
    coercion = "path" not in first and "Expected value of type" in first["message"]
    if not coercion:
        assert _matches(case.field, ext.get("field")), first
    assert ext["trace_id"] and r.headers["x-trace-id"] == ext["trace_id"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_hostile_input_is_refused_cleanly(
    hostile: tuple[Workspace, str, Prepared], case: Case
) -> None:
    ws, tenant_id, ids = hostile
    req = case.build(ids)
    env = "live" if live_only(req) else "test"
    headers = {**(await ws.headers(env)), **req.headers}  # minted before the rows are counted
    before = await tenant_rows(tenant_id)
    params: Any = req.params
    url = req.path
    if isinstance(params, bytes):
        url, params = f"{url}?{params.decode()}", None
    r = await ws.client.request(
        req.method, url, content=req.content, headers=headers, params=params
    )
    (check_rest if case.surface == "rest" else check_graphql)(case, r)
    assert await tenant_rows(tenant_id) == before


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/json; charset=utf-8", "text/x+json"]
)
async def test_a_json_body_is_read_whatever_its_json_label(
    hostile: tuple[Workspace, str, Prepared], content_type: str | None
) -> None:
    """The refusals above are of what is not JSON: every JSON label (or none) is read."""
    ws, _, _ = hostile
    headers = await ws.headers()
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = b'{"name": "Labelled", "email": "%s@example.com"}' % uuid.uuid4().hex.encode()
    r = await ws.client.post("/api/v1/leads", content=body, headers=headers)
    assert r.status_code == 201, r.text
    r = await ws.client.post(
        "/graphql",
        content=b'{"query": "{ leads(first: 1) { edges { node { id } } } }"}',
        headers=headers,
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text


async def test_an_action_without_a_body_takes_an_empty_object_too(
    hostile: tuple[Workspace, str, Prepared],
) -> None:
    ws, _, ids = hostile
    r = await ws.request("POST", f"/api/v1/webhooks/{ids['webhook_id']}/rotate_secret", json={})
    assert r.status_code == 200, r.text
    r = await ws.request("POST", f"/api/v1/webhooks/{ids['webhook_id']}/rotate_secret")
    assert r.status_code == 200, r.text
