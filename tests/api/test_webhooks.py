"""Webhook endpoints over REST, and the outbox: events and deliveries written with the change."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import orjson
import pytest
from tortoise.transactions import in_transaction

from hadar.app import create_app
from hadar.domain.scope import Scope
from hadar.domain.webhooks import Delivery, Event
from hadar.services import leads
from hadar.settings import Settings
from tests.api.parity import Twin, created
from tests.conftest import Workspace, lead_body

URL = "http://127.0.0.1:9/hooks"  # never contacted: these tests run no worker


async def create_endpoint(ws: Workspace, env: str = "test", **over: Any) -> dict[str, Any]:
    body = {"url": URL, "events": ["*"], **over}
    r = await ws.request("POST", "/api/v1/webhooks", env=env, json=body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def deliveries(ws: Workspace, endpoint_id: str) -> list[dict[str, Any]]:
    r = await ws.request("GET", f"/api/v1/webhooks/{endpoint_id}/deliveries", params={"limit": 100})
    assert r.status_code == 200, r.text
    return r.json()["data"]["items"]


@pytest.fixture(autouse=True)
async def quiet_queue() -> Any:
    """These tests run no worker; leave nothing pending for the worker tests that follow."""
    yield
    await Delivery.filter(status="pending").delete()


async def test_crud_and_secret_shown_once(ws: Workspace) -> None:
    created = await create_endpoint(ws, events=["lead.created"], description="CRM sync")
    assert created["id"].startswith("whk_")
    assert created["secret"].startswith("whsec_")
    assert created["object"] == "webhook_endpoint"
    assert (created["events"], created["enabled"]) == (["lead.created"], True)
    path = f"/api/v1/webhooks/{created['id']}"
    r = await ws.request("GET", path)
    assert r.status_code == 200
    assert "secret" not in r.json()["data"]
    r = await ws.request("GET", "/api/v1/webhooks")
    assert [i["id"] for i in r.json()["data"]["items"]] == [created["id"]]
    assert all("secret" not in i for i in r.json()["data"]["items"])
    r = await ws.request(
        "PATCH", path, json={"events": ["lead.updated", "lead.created"], "enabled": False}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["events"] == ["lead.updated", "lead.created"]
    assert r.json()["data"]["enabled"] is False
    assert "secret" not in r.json()["data"]
    r = await ws.request("DELETE", path)
    assert r.json()["data"] == {"id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert (await ws.request("GET", path)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["*"]}, "webhook.url"),
        ({"url": URL}, "webhook.events"),
        ({"url": URL, "events": []}, "webhook.events"),
        ({"url": URL, "events": ["lead.exploded"]}, "webhook.events"),
        ({"url": "not a url", "events": ["*"]}, "webhook.url"),
        ({"url": "ftp://example.com/x", "events": ["*"]}, "webhook.url"),
        ({"url": URL, "events": ["*"], "secret": "whsec_mine"}, "webhook.secret"),
        ({"url": URL, "events": ["*"], "enabled": "yes"}, "webhook.enabled"),
    ],
)
async def test_validation(ws: Workspace, body: dict[str, Any], field: str) -> None:
    r = await ws.request("POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["field"] == field


async def test_admin_only_and_tenant_isolation(ws: Workspace, client: httpx.AsyncClient) -> None:
    created = await create_endpoint(ws)
    for role in ("agent", "viewer"):
        r = await ws.request(
            "POST", "/api/v1/webhooks", role=role, json={"url": URL, "events": ["*"]}
        )
        assert r.status_code == 403
        assert (await ws.request("GET", "/api/v1/webhooks", role=role)).status_code == 403
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    await other.key("test", "admin")
    assert (await other.request("GET", f"/api/v1/webhooks/{created['id']}")).status_code == 404
    r = await other.request("POST", f"/api/v1/webhooks/{created['id']}/rotate_secret")
    assert r.status_code == 404
    # A live key sees only live endpoints.
    r = await ws.request("GET", f"/api/v1/webhooks/{created['id']}", env="live")
    assert r.status_code == 404


async def test_live_endpoints_need_https_and_public_addresses(
    ws: Workspace, settings: Settings
) -> None:
    strict = create_app(dataclasses.replace(settings, allow_private_webhook_urls=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=strict), base_url="http://hadar.test"
    ) as c:
        for env, url, message in [
            ("live", "http://hooks.example.com/x", "https"),
            ("live", "https://127.0.0.1/x", "non-public"),
            ("live", "https://169.254.169.254/latest/meta-data", "non-public"),
            ("live", "https://[::1]:8443/x", "non-public"),
            ("live", "https://10.0.0.5/x", "non-public"),
            ("live", "https://localhost/x", "non-public"),
            ("test", "http://192.168.1.10/x", "non-public"),
        ]:
            r = await c.post(
                "/api/v1/webhooks",
                headers=await ws.headers(env),
                json={"url": url, "events": ["*"]},
            )
            assert r.status_code == 400, (url, r.text)
            assert r.json()["error"]["field"] == "webhook.url"
            assert message in r.json()["error"]["message"]
        # The check runs again when the URL changes.
        created = await create_endpoint(ws, env="test")
        r = await c.patch(
            f"/api/v1/webhooks/{created['id']}",
            headers=await ws.headers("test"),
            json={"url": "http://127.0.0.1:8080/x"},
        )
        assert r.status_code == 400
    # HADAR_ALLOW_PRIVATE_WEBHOOK_URLS=1 (the test app) lifts the address check, not the scheme.
    await create_endpoint(ws, env="live", url="https://127.0.0.1/x")
    r = await ws.request("POST", "/api/v1/webhooks", env="live", json={"url": URL, "events": ["*"]})
    assert r.status_code == 400
    assert "https" in r.json()["error"]["message"]


async def test_rotate_secret(ws: Workspace) -> None:
    created = await create_endpoint(ws)
    r = await ws.request("POST", f"/api/v1/webhooks/{created['id']}/rotate_secret")
    assert r.status_code == 200, r.text
    rotated = r.json()["data"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None


async def test_lead_changes_emit_filtered_events(ws: Workspace) -> None:
    created_only = await create_endpoint(ws, events=["lead.created"])
    everything = await create_endpoint(ws, events=["*"])
    disabled = await create_endpoint(ws, events=["*"], enabled=False)
    updated_only = await create_endpoint(ws, events=["lead.updated"])
    live = await create_endpoint(ws, env="live", url="https://127.0.0.1/x", events=["*"])

    body = lead_body()
    r = await ws.request("POST", "/api/v1/leads", json=body)
    assert r.status_code == 201
    lead = r.json()["data"]
    r = await ws.request("PATCH", f"/api/v1/leads/{lead['id']}", json={"status": "contacted"})
    assert r.status_code == 200
    r = await ws.request("POST", "/api/v1/leads", json={**body, "source": "website"})
    assert r.status_code == 200  # merged: lead.updated

    types = lambda items: [i["event_type"] for i in reversed(items)]  # noqa: E731
    assert types(await deliveries(ws, created_only["id"])) == ["lead.created"]
    assert types(await deliveries(ws, everything["id"])) == [
        "lead.created",
        "lead.updated",
        "lead.updated",
    ]
    assert types(await deliveries(ws, updated_only["id"])) == ["lead.updated", "lead.updated"]
    assert await deliveries(ws, disabled["id"]) == []
    r = await ws.request("GET", f"/api/v1/webhooks/{live['id']}/deliveries", env="live")
    assert r.json()["data"]["items"] == []

    items = await deliveries(ws, everything["id"])
    first = items[-1]
    assert first["id"].startswith("dlv_") and first["event_id"].startswith("evt_")
    assert (first["status"], first["attempt_count"], first["attempts"]) == ("pending", 0, [])
    event = await Event.get(id=first["event_id"])
    payload = orjson.loads(event.payload)
    assert set(payload) == {"id", "type", "created_at", "data"}
    assert payload["id"] == event.id and payload["type"] == "lead.created"
    assert payload["data"]["object"]["id"] == lead["id"]
    assert payload["data"]["object"]["object"] == "lead"
    merged = orjson.loads((await Event.get(id=items[0]["event_id"])).payload)
    assert "website" in merged["data"]["object"]["sources"]


async def test_replayed_request_emits_nothing_twice(ws: Workspace) -> None:
    endpoint = await create_endpoint(ws)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = lead_body()
    for _ in range(2):
        r = await ws.request("POST", "/api/v1/leads", json=body, headers=headers)
        assert r.status_code == 201
    assert len(await deliveries(ws, endpoint["id"])) == 1


async def test_rolled_back_change_emits_nothing(ws: Workspace) -> None:
    endpoint = await create_endpoint(ws)
    await ws.key("test", "admin")
    scope = Scope(tenant_id=await _tenant_id(ws), environment="test", role="admin")
    before = await Event.filter(tenant_id=scope.tenant_id).count()
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await leads.create_lead(scope=scope, data=lead_body())
            assert await Event.filter(tenant_id=scope.tenant_id).count() == before + 1
            raise RuntimeError("the change fails after emitting")
    assert await Event.filter(tenant_id=scope.tenant_id).count() == before
    assert await deliveries(ws, endpoint["id"]) == []


async def test_retry_endpoint(ws: Workspace) -> None:
    endpoint = await create_endpoint(ws)
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    (item,) = await deliveries(ws, endpoint["id"])
    await Delivery.filter(id=item["id"]).update(status="failed", failures=8, attempt_count=8)
    r = await ws.request("POST", f"/api/v1/webhook_deliveries/{item['id']}/retry")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "pending"
    assert r.json()["data"]["next_attempt_at"] is not None
    row = await Delivery.get(id=item["id"])
    assert (row.status, row.failures, row.attempt_count) == ("pending", 0, 8)
    r = await ws.request("POST", "/api/v1/webhook_deliveries/dlv_01HMNZ8G7Q3V5X2T4R6Y9W0K1B/retry")
    assert r.status_code == 404
    r = await ws.request("POST", f"/api/v1/webhook_deliveries/{item['id']}/retry", role="agent")
    assert r.status_code == 403


async def _tenant_id(ws: Workspace) -> str:
    from hadar.domain.tenants import Tenant

    return (await Tenant.get(slug=ws.slug)).id


PARITY_WEBHOOK = {"url": "https://hooks.example.com/hadar", "events": ["lead.created"]}


async def _endpoint_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    """An endpoint for every event, and a delivery to it (of a lead created after it)."""
    whk = (await created(ws, "/api/v1/webhooks", {**PARITY_WEBHOOK, "events": ["*"]}))["id"]
    await created(ws, "/api/v1/leads", lead_body())
    deliveries = await created(ws, f"/api/v1/webhooks/{whk}/deliveries", method="GET")
    return {"whk": whk, "dlv": deliveries["items"][0]["id"]}


# The twins of the webhook mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "webhooks.create": Twin(
        lambda ids: ("POST", "/api/v1/webhooks", PARITY_WEBHOOK),
        lambda ids: (
            "mutation($i: WebhookCreateInput!) { createWebhook(input: $i) { id secret } }",
            {"i": PARITY_WEBHOOK},
        ),
    ),
    "webhooks.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/webhooks/{ids['whk']}", {"description": "p"}),
        lambda ids: (
            'mutation($id: ID!) { updateWebhook(id: $id, input: {description: "p"}) { id } }',
            {"id": ids["whk"]},
        ),
        setup=_endpoint_setup,
    ),
    "webhooks.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/webhooks/{ids['whk']}", None),
        lambda ids: (
            "mutation($id: ID!) { deleteWebhook(id: $id) { id deleted } }",
            {"id": ids["whk"]},
        ),
        setup=_endpoint_setup,
    ),
    "webhooks.rotate_secret": Twin(
        lambda ids: ("POST", f"/api/v1/webhooks/{ids['whk']}/rotate_secret", None),
        lambda ids: (
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { id secret } }",
            {"id": ids["whk"]},
        ),
        setup=_endpoint_setup,
    ),
    "webhooks.retry_delivery": Twin(
        lambda ids: ("POST", f"/api/v1/webhook_deliveries/{ids['dlv']}/retry", None),
        lambda ids: (
            "mutation($id: ID!) { retryWebhookDelivery(id: $id) { id } }",
            {"id": ids["dlv"]},
        ),
        setup=_endpoint_setup,
    ),
}
