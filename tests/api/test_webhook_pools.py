"""A worker keeps one connection pool per endpoint host: two tenants' endpoints behind one
address (a CDN, a shared host) never share a connection, so one's events cannot travel on a
TLS session opened for the other's name."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hadar.domain.webhooks import Delivery
from hadar.webhooks import delivery, urls
from hadar.webhooks.worker import Worker, WorkerConfig
from tests.conftest import Workspace, lead_body


async def test_pools_are_per_host_case_folded_and_bounded() -> None:
    clients = delivery.Clients(timeout=2.0, most=2)
    a = await clients.for_host("a.example.com")
    assert await clients.for_host("A.Example.COM") is a
    b = await clients.for_host("b.example.com")
    assert b is not a
    await clients.for_host("c.example.com")  # a is the least recently used: closed
    assert a.is_closed and not b.is_closed
    await clients.aclose()
    assert b.is_closed


@pytest.fixture(autouse=True)
async def empty_queue() -> None:
    await Delivery.filter(status="pending").delete()


async def test_two_hosts_on_one_address_never_share_a_connection(
    ws: Workspace, monkeypatch: Any
) -> None:
    seen: list[tuple[str, int]] = []  # (Host header, the worker's source port)

    async def hook(request: Request) -> Response:
        assert request.client is not None
        seen.append((request.headers["host"].split(":")[0], request.client.port))
        return PlainTextResponse("ok")

    sock = socket.socket(socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/in", hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)

    # Both names resolve to the one (here: loopback, taken as public) address, so every
    # attempt is pinned to it exactly as to a CDN's address in production.
    monkeypatch.setattr(urls, "is_public", lambda address: True)

    async def one_address(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    for host in ("tenant-a.example.com", "tenant-b.example.com"):
        r = await ws.request(
            "POST", "/api/v1/webhooks", json={"url": f"http://{host}:{port}/in", "events": ["*"]}
        )
        assert r.status_code == 201, r.text
    for _ in range(3):
        assert (await ws.request("POST", "/api/v1/leads", json=lead_body())).status_code == 201
    # One attempt at a time, so a pooled connection would be reused by the next attempt.
    config = WorkerConfig(allow_private=False, timeout=2.0, concurrency=1)
    worker = Worker(config, resolver=one_address)
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.shutdown()
        server.should_exit = True
        await task
        sock.close()
    hosts = {host for host, _ in seen}
    assert hosts == {"tenant-a.example.com", "tenant-b.example.com"}
    assert len(seen) == 6
    ports = {host: {p for h, p in seen if h == host} for host in hosts}
    assert not ports["tenant-a.example.com"] & ports["tenant-b.example.com"], seen
