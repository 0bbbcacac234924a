"""Webhook URLs over the API: control characters and whitespace refused on create and update,
IPv6 spellings of internal IPv4 addresses refused at creation and at delivery, and no refusal
telling the client which internal address a name resolves to."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from hadar.app import create_app
from hadar.domain.webhooks import Delivery, WebhookEndpoint
from hadar.settings import Settings
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.conftest import Workspace, lead_body

URL = "http://127.0.0.1:9/hooks"  # never contacted unless a worker runs


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the address check on (the session app lifts it for local receivers)."""
    app = create_app(dataclasses.replace(settings, allow_private_webhook_urls=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hadar.test"
    ) as c:
        yield c


@pytest.fixture(autouse=True)
async def empty_queue() -> AsyncIterator[None]:
    """Only this test's deliveries are due (the session database is shared)."""
    await Delivery.filter(status="pending").delete()
    yield
    await Delivery.filter(status="pending").delete()


BAD_URLS = [
    "http://127.0.0.1:9/hooks\r\nX-Injected: 1",
    "http://127.0.0.1:9/ho\noks",
    "http://127.0.0.1:9/hooks\x00.evil",
    "\thttp://127.0.0.1:9/hooks",
    "http://127.0.0.1:9/hooks ",
    "http://127.0.0.1:9/ho oks",
    "http://127.0.0.1:9/hooks\x7f",
    "http://127.0.0.1:9/hooks\x85",
    "http://127.0.0.1:9/hooks\u00a0",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_control_characters_refused_on_create(ws: Workspace, url: str) -> None:
    before = await WebhookEndpoint.all().count()
    r = await ws.request("POST", "/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", "webhook.url")
    assert r.headers["x-trace-id"] == error["trace_id"]
    assert await WebhookEndpoint.all().count() == before


@pytest.mark.parametrize("url", BAD_URLS)
async def test_control_characters_refused_on_update(ws: Workspace, url: str) -> None:
    r = await ws.request("POST", "/api/v1/webhooks", json={"url": URL, "events": ["*"]})
    assert r.status_code == 201, r.text
    hook = r.json()["data"]
    r = await ws.request("PATCH", f"/api/v1/webhooks/{hook['id']}", json={"url": url})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", "webhook.url")
    stored = await WebhookEndpoint.get(id=hook["id"])
    assert stored.url == URL


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b:1::a9fe:a9fe]",
        "[::127.0.0.1]",
        "[::a9fe:a9fe]",
        "[::ffff:0:a9fe:a9fe]",
        "[fec0::1]",
        "[2002:a9fe:a9fe::1]",
        "[2001:0:a9fe:a9fe::1]",
    ],
)
async def test_ipv6_forms_of_internal_addresses_refused_for_live(
    ws: Workspace, strict: httpx.AsyncClient, host: str
) -> None:
    r = await strict.post(
        "/api/v1/webhooks",
        headers=await ws.headers("live"),
        json={"url": f"https://{host}/hook", "events": ["*"]},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"] == "webhook.url"
    assert "non-public" in r.json()["error"]["message"]


async def test_refusal_does_not_reveal_the_resolved_address(
    ws: Workspace, strict: httpx.AsyncClient
) -> None:
    r = await strict.post(
        "/api/v1/webhooks",
        headers=await ws.headers("live"),
        json={"url": "https://localhost/hook", "events": ["*"]},
    )
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "localhost" in message and "non-public" in message
    assert "127.0.0.1" not in message and "::1" not in message


async def test_delivery_refuses_a_name_that_now_resolves_to_nat64_metadata(ws: Workspace) -> None:
    r = await ws.request(
        "POST", "/api/v1/webhooks", json={"url": "https://hooks.example.com/in", "events": ["*"]}
    )
    assert r.status_code == 201, r.text
    hook = r.json()["data"]
    await ws.request("POST", "/api/v1/leads", json=lead_body())

    async def rebinding(host: str, port: int) -> list[str]:
        return ["64:ff9b::a9fe:a9fe"]

    worker = Worker(WorkerConfig(allow_private=False, timeout=2.0), resolver=rebinding)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.shutdown()
    r = await ws.request("GET", f"/api/v1/webhooks/{hook['id']}/deliveries")
    (item,) = r.json()["data"]["items"]
    error = item["attempts"][0]["error"]
    assert error.startswith("refused: url host hooks.example.com resolves to a non-public")
    assert "a9fe" not in error
