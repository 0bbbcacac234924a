"""Webhook delivery benchmark (issue: webhooks). Not run by `make test`.

For 1 and 3 `hadar worker` processes on PostgreSQL, delivering to a local receiver:
  - latency: events committed at a steady rate (--rate a second for --seconds); commit-to-arrival
    p50 / p95 (includes the workers' idle poll, 0.2 s by default);
  - throughput: a backlog of --events events delivered as fast as the workers go (deliveries/s
    between the first and the last arrival).

    eval "$(scripts/services.sh env)"
    .venv/bin/python -m bench.webhooks_bench [--events 3000] [--rate 50] [--seconds 6]

A fresh database is created beside the one in --database-url (default HADAR_TEST_DATABASE_URL)
for every run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.transactions import in_transaction

from bench.common import ROOT
from hadar import pagination, secretbox
from hadar.db import close_db, open_db
from hadar.domain.scope import Scope
from hadar.services import events, keys, webhooks
from tests.dbutil import create_database, drop_database


class Receiver:
    """A receiver on its own thread and event loop, so its timing is not the bench's."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        app = Starlette(routes=[Route("/hooks", self.handle, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks"

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.arrivals.setdefault(orjson.loads(body)["id"], time.time())
        self.count += 1
        return Response(status_code=204)

    def __enter__(self) -> Receiver:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "HADAR_DATABASE_URL": url,
        "HADAR_SECRET_KEY": "bench-secret-webhooks-0123456789-abcd",
        "HADAR_ALLOW_PRIVATE_WEBHOOK_URLS": "1",
        "PYTHONPATH": str(ROOT),
    }


def start_workers(url: str, n: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "hadar.cli", "worker"],
            env=_env(url),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(30)


async def wait_for(receiver: Receiver, ids: set[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ids <= receiver.arrivals.keys():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids - receiver.arrivals.keys())} events never arrived")
        await asyncio.sleep(0.05)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run_one(server_url: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    base, _, _ = server_url.rpartition("/")
    url = f"{base}/hadar_bench_{uuid.uuid4().hex[:8]}"
    await create_database(url)
    subprocess.run(
        [sys.executable, "-m", "hadar.cli", "migrate"],
        env=_env(url),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pagination.configure("bench-secret")
    secretbox.configure("bench-secret")  # the workers seal and unseal with HADAR_SECRET_KEY
    await open_db(url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with Receiver() as receiver:
            tenant = await keys.ensure_tenant(slug="bench")
            scope = Scope(tenant_id=tenant.id, environment="test", role="admin")
            await webhooks.create_endpoint(
                scope=scope, data={"url": receiver.url, "events": ["*"]}, allow_private=True
            )
            obj = {"id": "lead_x", "object": "lead", "name": "Aisha Khan", "score": 78}

            # Latency: steady commits, each event in its own transaction.
            procs = start_workers(url, workers)
            await asyncio.sleep(2.0)  # let the workers import and connect
            committed: dict[str, float] = {}
            interval = 1.0 / args.rate
            started = time.monotonic()
            for i in range(int(args.rate * args.seconds)):
                await asyncio.sleep(max(0.0, started + i * interval - time.monotonic()))
                async with in_transaction():
                    event = await events.emit(scope=scope, type="lead.created", obj=obj)
                committed[event.id] = time.time()
            await wait_for(receiver, set(committed))
            latencies = [(receiver.arrivals[k] - t) * 1000 for k, t in committed.items()]
            stop_workers(procs)

            # Throughput: a backlog, then the workers.
            backlog: set[str] = set()
            for start in range(0, args.events, 100):
                async with in_transaction():
                    for _ in range(min(100, args.events - start)):
                        backlog.add(
                            (await events.emit(scope=scope, type="lead.updated", obj=obj)).id
                        )
            procs = start_workers(url, workers)
            await wait_for(receiver, backlog)
            times = sorted(receiver.arrivals[k] for k in backlog)
            rate = (len(times) - 1) / (times[-1] - times[0])
            stop_workers(procs)
            procs = []
            duplicates = receiver.count - len(receiver.arrivals)
    finally:
        for proc in procs:
            proc.kill()
        await close_db()
        await drop_database(url)
    return {
        "workers": workers,
        "deliveries_per_s": round(rate, 1),
        "latency_ms_p50": round(pct(latencies, 50), 1),
        "latency_ms_p95": round(pct(latencies, 95), 1),
        "latency_ms_mean": round(statistics.fmean(latencies), 1),
        "latency_events": len(latencies),
        "backlog_events": len(backlog),
        "duplicates": duplicates,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("HADAR_TEST_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", default="1,3")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        sys.exit('needs PostgreSQL: eval "$(scripts/services.sh env)" or --database-url')
    results = [await run_one(args.database_url, int(n), args) for n in args.workers.split(",")]
    for r in results:
        print(
            f"{r['workers']} worker(s): {r['deliveries_per_s']:8.1f} deliveries/s   "
            f"commit-to-delivery p50 {r['latency_ms_p50']:6.1f} ms  "
            f"p95 {r['latency_ms_p95']:6.1f} ms"
            f"   duplicates {r['duplicates']}"
        )
    out = Path(__file__).parent / "results" / "webhooks-pg.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
