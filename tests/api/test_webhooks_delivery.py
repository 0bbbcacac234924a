"""The worker against a real local receiver: signed POSTs, the retry schedule, final failure,
secret rotation overlap and the delivery-time address check. Time is the injectable clock, so
the schedule is checked to the second without sleeping through it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hadar import clock
from hadar.domain.webhooks import Delivery
from hadar.webhooks import signing
from hadar.webhooks.queue import SCHEDULE
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.api.test_webhooks_signing import node_verify
from tests.conftest import Workspace, lead_body


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A webhook receiver on a free loopback port. `script` answers requests in order (a status,
    or ("sleep", seconds)); once it runs out every request gets 200."""

    script: list[Any] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    sock: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET))
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        # Bound but not listening: connections are refused until start().
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks"

    async def handle(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body(), time.time()))
        step = self.script.pop(0) if self.script else 200
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(step, tuple):
            await asyncio.sleep(step[1])
            step = 200
        return PlainTextResponse(f"answer {step}", status_code=step)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks", self.handle, methods=["POST"])])
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
        self.sock.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()


@pytest.fixture
def frozen() -> Any:
    """An adjustable clock: `frozen.advance(seconds)`."""

    class Frozen:
        at = clock.now()

        def advance(self, seconds: float) -> None:
            self.at += timedelta(seconds=seconds)

    f = Frozen()
    clock.set_clock(lambda: f.at)
    yield f
    clock.set_clock(None)


@pytest.fixture(autouse=True)
async def empty_queue() -> None:
    """Only this test's deliveries are due (the session database is shared)."""
    await Delivery.filter(status="pending").delete()


def make_worker(**over: Any) -> Worker:
    config = WorkerConfig(
        **{"allow_private": True, "backoff_scale": 1.0, "timeout": 2.0, "lease": 30.0, **over}
    )
    return Worker(config)


async def run(worker: Worker, times: int = 1) -> int:
    done = 0
    for _ in range(times):
        done += await worker.run_once()
    return done


async def endpoint(ws: Workspace, url: str, **over: Any) -> dict[str, Any]:
    r = await ws.request("POST", "/api/v1/webhooks", json={"url": url, "events": ["*"], **over})
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def delivery_list(ws: Workspace, endpoint_id: str) -> list[dict[str, Any]]:
    r = await ws.request("GET", f"/api/v1/webhooks/{endpoint_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["data"]["items"]


async def test_delivers_signed_event(ws: Workspace, receiver: Receiver, tmp_path: Path) -> None:
    await receiver.start()
    hook = await endpoint(ws, receiver.url)
    r = await ws.request("POST", "/api/v1/leads", json=lead_body(name="عائشة خان"))
    lead = r.json()["data"]
    worker = make_worker()
    try:
        assert await run(worker) == 1
        assert await run(worker) == 0  # delivered once, nothing left
    finally:
        await worker.shutdown()
    (got,) = receiver.received
    assert got.headers["x-hadar-event"] == "lead.created"
    assert got.headers["x-hadar-delivery"].startswith("dlv_")
    assert got.headers["content-type"] == "application/json"
    payload = orjson.loads(got.body)
    assert payload["id"].startswith("evt_") and payload["type"] == "lead.created"
    assert payload["data"]["object"] == lead
    header = got.headers["x-hadar-signature"]
    assert signing.verify(got.body, header, hook["secret"])
    raw = got.body.decode("utf-8")
    assert node_verify(tmp_path, [(raw, header, hook["secret"]), (raw, header, "whsec_x")]) == [
        True,
        False,
    ]
    (item,) = await delivery_list(ws, hook["id"])
    assert item["id"] == got.headers["x-hadar-delivery"]
    assert (item["status"], item["attempt_count"]) == ("succeeded", 1)
    (attempt,) = item["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["response_excerpt"] == "answer 200"
    assert attempt["duration_ms"] >= 0 and attempt["attempted_at"].endswith("Z")


async def test_retries_refused_500_and_timeout_then_succeeds(
    ws: Workspace, receiver: Receiver, frozen: Any
) -> None:
    hook = await endpoint(ws, receiver.url)
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = make_worker(timeout=0.5)
    try:
        assert await run(worker) == 1  # nobody listening yet: connection refused
        row = await Delivery.get(endpoint_id=hook["id"])
        assert row.next_attempt_at == frozen.at + timedelta(seconds=1)
        assert await run(worker) == 0  # not due before its time
        receiver.script = [500, ("sleep", 3.0)]
        await receiver.start()
        for wait in SCHEDULE[:3]:
            frozen.advance(wait)
            assert await run(worker) == 1
    finally:
        await worker.shutdown()
    (item,) = await delivery_list(ws, hook["id"])
    assert (item["status"], item["attempt_count"]) == ("succeeded", 4)
    codes = [a["status_code"] for a in item["attempts"]]
    errors = [a["error"] or "" for a in item["attempts"]]
    assert codes == [None, 500, None, 200]
    assert errors[0].startswith("connection failed")
    assert errors[1] == "HTTP 500"
    assert errors[2] == "timeout after 0.5s"
    assert errors[3] == ""
    assert item["attempts"][1]["response_excerpt"] == "answer 500"
    # One delivery id on every retry, so receivers can dedupe.
    assert {r.headers["x-hadar-delivery"] for r in receiver.received} == {item["id"]}
    assert len(receiver.received) == 3


async def test_final_failure_after_schedule_then_manual_retry(
    ws: Workspace, receiver: Receiver, frozen: Any
) -> None:
    receiver.script = [503] * 8
    await receiver.start()
    hook = await endpoint(ws, receiver.url)
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = make_worker()
    try:
        assert await run(worker) == 1
        for wait in SCHEDULE:
            row = await Delivery.get(endpoint_id=hook["id"])
            assert row.status == "pending"
            assert row.next_attempt_at == frozen.at + timedelta(seconds=wait)
            frozen.advance(wait - 0.001)
            assert await run(worker) == 0
            frozen.advance(0.001)
            assert await run(worker) == 1
        row = await Delivery.get(endpoint_id=hook["id"])
        assert (row.status, row.attempt_count) == ("failed", 8)
        frozen.advance(86400)
        assert await run(worker) == 0
        r = await ws.request("POST", f"/api/v1/webhook_deliveries/{row.id}/retry")
        assert r.status_code == 200, r.text
        assert await run(worker) == 1
    finally:
        await worker.shutdown()
    (item,) = await delivery_list(ws, hook["id"])
    assert (item["status"], item["attempt_count"]) == ("succeeded", 9)
    assert [a["status_code"] for a in item["attempts"]] == [503] * 8 + [200]


async def test_backoff_scale(ws: Workspace, receiver: Receiver, frozen: Any) -> None:
    receiver.script = [500]
    await receiver.start()
    hook = await endpoint(ws, receiver.url)
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = make_worker(backoff_scale=0.001)
    try:
        await run(worker)
        row = await Delivery.get(endpoint_id=hook["id"])
        assert row.next_attempt_at == frozen.at + timedelta(milliseconds=1)
    finally:
        await worker.shutdown()


async def test_secret_rotation_overlap(
    ws: Workspace, receiver: Receiver, frozen: Any, tmp_path: Path
) -> None:
    await receiver.start()
    hook = await endpoint(ws, receiver.url)
    old = hook["secret"]
    r = await ws.request("POST", f"/api/v1/webhooks/{hook['id']}/rotate_secret")
    new = r.json()["data"]["secret"]
    worker = make_worker()
    try:
        await ws.request("POST", "/api/v1/leads", json=lead_body())
        await run(worker)
        frozen.advance(24 * 3600 + 1)
        await ws.request("POST", "/api/v1/leads", json=lead_body())
        await run(worker)
    finally:
        await worker.shutdown()
    during, after = receiver.received
    header = during.headers["x-hadar-signature"]
    assert header.count("v1=") == 2
    assert signing.verify(during.body, header, old) and signing.verify(during.body, header, new)
    raw = during.body.decode()
    assert node_verify(tmp_path, [(raw, header, new)]) == [True]
    header = after.headers["x-hadar-signature"]
    assert header.count("v1=") == 1
    assert signing.verify(after.body, header, new)
    assert not signing.verify(after.body, header, old)


async def test_delivery_time_address_check(ws: Workspace, frozen: Any) -> None:
    """DNS rebinding: the name was public at creation, resolves to loopback at delivery."""
    hook = await endpoint(ws, "https://hooks.example.com/in")
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    calls: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    worker = Worker(WorkerConfig(allow_private=False, timeout=2.0), resolver=rebinding)
    try:
        assert await run(worker) == 1
    finally:
        await worker.shutdown()
    (item,) = await delivery_list(ws, hook["id"])
    assert calls == ["hooks.example.com"]
    assert item["status"] == "pending"
    assert item["attempts"][0]["error"].startswith("refused: url host hooks.example.com")


async def test_redirects_are_not_followed(ws: Workspace, frozen: Any) -> None:
    hits: list[str] = []

    async def redirect(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(status_code=307, headers={"location": "/elsewhere"})

    app = Starlette(
        routes=[
            Route("/hooks", redirect, methods=["POST"]),
            Route("/elsewhere", redirect, methods=["POST"]),
        ]
    )
    r = Receiver()  # only for its free port
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[r.sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    hook = await endpoint(ws, r.url)
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = make_worker()
    try:
        await run(worker)
    finally:
        await worker.shutdown()
        server.should_exit = True
        await task
        r.sock.close()
    assert hits == ["/hooks"]
    (item,) = await delivery_list(ws, hook["id"])
    assert item["attempts"][0]["status_code"] == 307 and item["status"] == "pending"


async def test_graceful_stop_finishes_in_flight(ws: Workspace, receiver: Receiver) -> None:
    receiver.delay = 0.5
    await receiver.start()
    hook = await endpoint(ws, receiver.url)
    for _ in range(3):
        await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = make_worker(poll_interval=0.05)
    task = asyncio.create_task(worker.run())
    while len(receiver.received) < 3:
        await asyncio.sleep(0.02)
    worker.stop()  # what SIGTERM does
    await asyncio.wait_for(task, 5)
    items = await delivery_list(ws, hook["id"])
    assert [i["status"] for i in items] == ["succeeded"] * 3


async def test_graceful_stop_releases_what_it_cannot_finish(
    ws: Workspace, receiver: Receiver
) -> None:
    receiver.delay = 5.0
    await receiver.start()
    hook = await endpoint(ws, receiver.url)
    await ws.request("POST", "/api/v1/leads", json=lead_body())
    worker = make_worker(poll_interval=0.05, grace=0.2, timeout=10.0)
    task = asyncio.create_task(worker.run())
    while not receiver.received:
        await asyncio.sleep(0.02)
    worker.stop()
    await asyncio.wait_for(task, 5)
    row = await Delivery.get(endpoint_id=hook["id"])
    # Handed back at once: due now for another worker, not after the 30 s lease.
    assert (row.status, row.lease_until, row.claimed_by) == ("pending", None, None)
