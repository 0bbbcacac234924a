"""Prometheus metrics at `GET /metrics`, for a `Bearer` of HADAR_METRICS_TOKEN only.

Counted as they happen: requests by route template, method and status, their latency, 429
refusals (the access middleware), webhook delivery outcomes (the worker). Computed at scrape
time: the webhook backlog (one indexed COUNT) and provider circuit-breaker states (a callback the
providers register).

Several uvicorn workers (`hadar serve --workers N`) share one listening socket, so a scrape
reaches any one of them: `prepare_multiprocess` switches prometheus-client to its multiprocess
mode (a directory of memory-mapped files, PROMETHEUS_MULTIPROC_DIR), and every scrape then sums
all workers' counters and histograms. Breaker states are the scraped process's own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Literal

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from hadar import clock
from hadar.domain.webhooks import Delivery, DeliveryStatus

log = logging.getLogger("hadar.metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "hadar_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "hadar_http_request_duration_seconds",
    "Time from request start to the end of the response, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMITED = Counter(
    "hadar_rate_limited",
    "Requests refused with 429 rate_limited, by route template.",
    ["route"],
)
DELIVERIES = Counter(
    "hadar_webhook_deliveries",
    "Webhook delivery attempts by outcome: succeeded, retrying (failed, retry scheduled), "
    "failed (gave up), unrecorded (the result could not be saved; the lease will retry it).",
    ["outcome"],
)

BreakerState = Literal["closed", "half_open", "open"]
BREAKER_VALUES: dict[str, float] = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
BreakerStates = Callable[[], Iterable[tuple[str, str, BreakerState]]]
_breaker_states: BreakerStates | None = None

Page = Callable[[Request], Awaitable[Response]]


def method_label(method: str) -> str:
    """The method as a label; anything a client invents counts as `other`."""
    return method if method in METHODS else "other"


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request (and a 429 as a rate-limit refusal)."""
    method = method_label(method)
    REQUESTS.labels(route, method, str(status)).inc()
    DURATION.labels(route, method).observe(seconds)
    if status == 429:
        RATE_LIMITED.labels(route).inc()


def count_delivery(outcome: str) -> None:
    """Count one webhook attempt's outcome."""
    DELIVERIES.labels(outcome).inc()


def set_breaker_states_provider(provider: BreakerStates | None) -> None:
    """Register the callback that lists (tenant, provider, state) of every circuit breaker."""
    global _breaker_states
    _breaker_states = provider


def prepare_multiprocess(workers: int) -> str | None:
    """Before uvicorn starts N > 1 workers: a fresh, empty PROMETHEUS_MULTIPROC_DIR inherited by
    every worker, unless the operator names one (then emptying it between runs is theirs to do:
    a `hadar worker` on the same host may be writing its counts there). None for one worker."""
    path = os.environ.get(MULTIPROC_ENV)
    if path or workers <= 1:
        return path
    path = tempfile.mkdtemp(prefix="hadar-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def authorized(header: str | None, token: str | None) -> bool:
    """True for `Bearer <token>`; compared in constant time (digests, so length leaks nothing)."""
    if not token or not header:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    expected = hashlib.sha256(token.encode()).digest()
    return hmac.compare_digest(hashlib.sha256(given.strip().encode()).digest(), expected)


async def webhook_backlog() -> int:
    """Pending deliveries that are due now (in flight included)."""
    pending = Delivery.filter(status=DeliveryStatus.PENDING.value, next_attempt_at__lte=clock.now())
    return await pending.count()


def _scrape_time(backlog: int | None) -> Iterator[Metric]:
    if backlog is not None:
        yield GaugeMetricFamily(
            "hadar_webhook_backlog", "Pending webhook deliveries due now.", value=backlog
        )
    states = GaugeMetricFamily(
        "hadar_provider_breaker_state",
        "Provider circuit breaker per tenant: 0 closed, 1 half-open (probing), 2 open.",
        labels=["tenant", "provider"],
    )
    if _breaker_states is not None:
        try:
            for tenant, provider, state in _breaker_states():
                states.add_metric([tenant, provider], BREAKER_VALUES.get(state, 2.0))
        except Exception:
            log.exception("metrics: listing provider breaker states failed")
    yield states


class _Exposition(Collector):
    """One scrape: the counted metrics (this process's, or every worker's) plus the scrape-time
    ones."""

    def __init__(self, extra: list[Metric]) -> None:
        self.extra = extra

    def collect(self) -> Iterable[Metric]:
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            yield from registry.collect()
        else:
            yield from REGISTRY.collect()
        yield from self.extra


async def scrape(request: Request) -> Response:
    """The Prometheus text exposition."""
    backlog: int | None
    try:
        backlog = await webhook_backlog()
    except Exception:
        log.exception("metrics: counting the webhook backlog failed")
        backlog = None
    body = generate_latest(_Exposition(list(_scrape_time(backlog))))
    return Response(
        body, media_type=CONTENT_TYPE_PLAIN_0_0_4, headers={"Cache-Control": "no-store"}
    )


def metrics_endpoint(
    *, token: str | None, refuse: Page, serve: Callable[[Page], Page] = lambda page: page
) -> Page:
    """`GET /metrics`: `refuse` (the unknown-route answer) unless the request carries the token;
    `serve` wraps the scrape (e.g. with per-address metering, like every public page)."""
    page = serve(scrape)

    async def run(request: Request) -> Response:
        if not authorized(request.headers.get("authorization"), token):
            return await refuse(request)
        return await page(request)

    return run
