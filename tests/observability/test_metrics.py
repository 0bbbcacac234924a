"""GET /metrics: Prometheus text for a Bearer of HADAR_METRICS_TOKEN, else the unknown-route 404."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hadar.domain.webhooks import Delivery
from hadar.observability import metrics
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.conftest import Workspace, lead_body
from tests.observability.conftest import AppFactory, Sink

TOKEN = "metrics-" + uuid.uuid4().hex
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    r = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


@pytest.fixture
async def scraped(app_with: AppFactory) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await app_with(metrics_token=TOKEN)
    return client


@pytest.fixture
def no_breakers() -> Iterator[None]:
    yield
    metrics.set_breaker_states_provider(None)


async def test_without_the_right_token_metrics_is_an_unknown_route(
    scraped: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    unknown = await scraped.get("/metricz")
    refused = [
        await scraped.get("/metrics"),
        await scraped.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}),
        await scraped.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
        await scraped.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}),
        await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}),  # no token set
    ]
    for r in [unknown, *refused]:
        assert r.status_code == 404
        error = r.json()["error"]
        assert error["code"] == "not_found" and r.json()["data"] is None
        assert error["trace_id"] == r.headers["x-trace-id"]
        assert "x-ratelimit-remaining" in r.headers
    assert refused[0].json()["error"]["message"] == "no route for GET /metrics"
    assert unknown.json()["error"]["message"] == "no route for GET /metricz"
    ok = await scraped.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and "x-ratelimit-limit" in ok.headers
    assert "hadar_http_requests_total" in ok.text


async def test_requests_are_counted_by_route_template_method_and_status(
    scraped: httpx.AsyncClient,
) -> None:
    ws = Workspace(scraped, f"t-{uuid.uuid4().hex[:12]}")
    before = await scrape(scraped)
    lead = (await ws.request("POST", "/api/v1/leads", json=lead_body())).json()["data"]
    for _ in range(3):
        assert (await ws.request("GET", f"/api/v1/leads/{lead['id']}")).status_code == 200
    assert (await ws.request("GET", "/api/v1/leads/lead_nope")).status_code == 404
    after = await scrape(scraped)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    one = "/api/v1/leads/{lead_id}"
    assert delta("hadar_http_requests_total", route=one, method="GET", status="200") == 3
    assert delta("hadar_http_requests_total", route=one, method="GET", status="404") == 1
    created = {"route": "/api/v1/leads", "method": "POST", "status": "201"}
    assert delta("hadar_http_requests_total", **created) == 1
    assert delta("hadar_http_request_duration_seconds_count", route=one, method="GET") == 4
    assert (
        delta("hadar_http_request_duration_seconds_bucket", route=one, method="GET", le="+Inf") == 4
    )
    assert delta("hadar_http_requests_total", route="/metrics", method="GET", status="200") == 1


async def test_rate_limit_refusals_are_counted(scraped: httpx.AsyncClient) -> None:
    ws = Workspace(scraped, f"t-{uuid.uuid4().hex[:12]}")
    await ws.key("test", "admin", rate_limit=2)
    before = await scrape(scraped)
    statuses = [(await ws.request("GET", "/api/v1/leads")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    after = await scrape(scraped)
    route = {"route": "/api/v1/leads"}
    assert (
        value(after, "hadar_rate_limited_total", **route)
        - value(before, "hadar_rate_limited_total", **route)
        == 1
    )
    limited = {**route, "method": "GET", "status": "429"}
    assert (
        value(after, "hadar_http_requests_total", **limited)
        - value(before, "hadar_http_requests_total", **limited)
        == 1
    )


async def test_webhook_backlog_and_delivery_outcomes(
    scraped: httpx.AsyncClient, sink: Sink
) -> None:
    await Delivery.filter(status="pending").delete()  # the session database is shared
    failing = Sink(status=500)
    try:
        ws = Workspace(scraped, f"t-{uuid.uuid4().hex[:12]}")
        for url in (sink.url, failing.url):
            body: dict[str, Any] = {"url": f"{url}/hooks", "events": ["lead.created"]}
            assert (await ws.request("POST", "/api/v1/webhooks", json=body)).status_code == 201
        before = await scrape(scraped)
        assert value(before, "hadar_webhook_backlog") == 0
        await ws.request("POST", "/api/v1/leads", json=lead_body())
        assert value(await scrape(scraped), "hadar_webhook_backlog") == 2
        worker = Worker(WorkerConfig(allow_private=True, timeout=2.0))
        try:
            assert await worker.run_once() == 2
        finally:
            await worker.shutdown()
        after = await scrape(scraped)
    finally:
        failing.close()
    assert value(after, "hadar_webhook_backlog") == 0  # the failed one is due again in 1 s
    for outcome in ("succeeded", "retrying"):
        name, labels = "hadar_webhook_deliveries_total", {"outcome": outcome}
        assert value(after, name, **labels) - value(before, name, **labels) == 1


async def test_provider_breaker_states_come_from_the_registered_callback(
    scraped: httpx.AsyncClient, no_breakers: None
) -> None:
    metrics.set_breaker_states_provider(
        lambda: [
            ("ten_a", "meta", "open"),
            ("ten_b", "stripe", "closed"),
            ("ten_c", "vapi", "half_open"),
        ]
    )
    got = await scrape(scraped)
    name = "hadar_provider_breaker_state"
    assert value(got, name, tenant="ten_a", provider="meta") == 2
    assert value(got, name, tenant="ten_b", provider="stripe") == 0
    assert value(got, name, tenant="ten_c", provider="vapi") == 1

    def broken() -> list[tuple[str, str, metrics.BreakerState]]:
        raise RuntimeError("provider registry down")

    metrics.set_breaker_states_provider(broken)
    got = await scrape(scraped)  # the rest of the scrape still answers
    assert (name, frozenset({("tenant", "ten_a"), ("provider", "meta")})) not in got
    assert value(got, "hadar_webhook_backlog") >= 0
