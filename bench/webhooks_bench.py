"""Webhook delivery benchmark (issue 12). Not run by `make test`.

With N `hadar worker` processes (3 by default) on PostgreSQL, delivering to a local receiver:
  - latency: events committed at a steady rate (--rate a second for --seconds), each in its own
    transaction; commit-to-arrival p50 / p95;
  - throughput: a backlog of --events events delivered as fast as the workers go (deliveries/s
    between the first and the last arrival);
  - kill: a backlog of --kill-events, one worker SIGKILLed once a third has arrived; counts of
    events delivered (none may be lost), repeats seen by the receiver (only attempts the victim
    had in flight may repeat) and attempts recorded twice by live workers (must be 0).

`--before REV` runs the same three phases first with the workers of git revision REV (exported
with `git archive` to a temp directory and put first on PYTHONPATH), so before and after are
measured side by side on the same machine in one run.

    eval "$(scripts/services.sh env)"
    .venv/bin/python -m bench.webhooks_bench [--before main] [--events 3000] [--rate 100]

A fresh database is created beside the one in --database-url (default HADAR_TEST_DATABASE_URL)
for every run and dropped afterwards. Results go to bench/results/webhooks-pg.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bench.common import ROOT
from hadar import pagination, secretbox
from hadar.db import close_db, open_db
from hadar.domain.scope import Scope
from hadar.services import events, keys, webhooks
from tests.dbutil import create_database, drop_database

SECRET_KEY = "bench-secret-webhooks-0123456789-abcd"


class Receiver:
    """A receiver on its own thread and event loop, so its timing is not the bench's."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # event id -> first arrival
        self.deliveries: Counter[str] = Counter()  # X-Hadar-Delivery -> requests
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
        self.deliveries[request.headers["x-hadar-delivery"]] += 1
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


class Workers:
    """`hadar worker` processes of one code tree (None: this checkout)."""

    def __init__(self, url: str, code: Path | None, logs: Path) -> None:
        self.url, self.code, self.logs = url, code, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        path = [str(self.code)] if self.code else []
        return {
            **os.environ,
            "HADAR_DATABASE_URL": self.url,
            "HADAR_SECRET_KEY": SECRET_KEY,
            "HADAR_ALLOW_PRIVATE_WEBHOOK_URLS": "1",
            "PYTHONPATH": os.pathsep.join([*path, str(ROOT)]),
        }

    def start(self, n: int) -> None:
        """Start `n` workers and wait until each says it started (imports take seconds on a
        busy machine), plus a second for connecting and listening."""
        paths = []
        for _ in range(n):
            paths.append(self.logs / f"worker-{uuid.uuid4().hex[:6]}.log")
            log = open(paths[-1], "wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "hadar.cli", "worker"],
                    env=self.env(),
                    cwd=self.code or ROOT,
                    stdout=log,
                    stderr=log,
                )
            )
        deadline = time.monotonic() + 120
        while not all(b"started" in path.read_bytes() for path in paths):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start; see {self.logs}")
            time.sleep(0.1)
        time.sleep(1.0)

    def cpu_seconds(self) -> float:
        """User + system CPU the running workers have used so far (Linux /proc)."""
        total = 0
        for proc in self.procs:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = []


async def wait_for(receiver: Receiver, ids: set[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ids <= receiver.arrivals.keys():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids - receiver.arrivals.keys())} events never arrived")
        await asyncio.sleep(0.02)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def backlog(scope: Scope, count: int, obj: dict[str, Any]) -> set[str]:
    """`count` events committed at once (one transaction), so all are due together."""
    ids: set[str] = set()
    async with in_transaction():
        for _ in range(count):
            event_id = await events.emit(scope=scope, type="lead.updated", obj=obj)
            assert event_id is not None  # the bench's endpoint subscribes to everything
            ids.add(event_id)
    return ids


async def attempts_by(pid: int) -> int:
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT count(*) AS n FROM webhook_delivery_attempts WHERE worker LIKE $1", [f"%:{pid}:%"]
    )
    return int(rows[0]["n"])


async def twice_by_live_workers(event_ids: set[str], victim_pid: int) -> int:
    """Deliveries of these events that live workers (not the victim) recorded more than once."""
    rows = await Tortoise.get_connection("default").execute_query_dict(
        "SELECT d.id FROM webhook_deliveries d JOIN webhook_delivery_attempts a"
        " ON a.delivery_id = d.id WHERE d.event_id = ANY($1::text[])"
        " AND a.worker NOT LIKE $2 AND a.status_code BETWEEN 200 AND 299"
        " GROUP BY d.id HAVING count(*) > 1",
        [sorted(event_ids), f"%:{victim_pid}:%"],
    )
    return len(rows)


async def run_one(
    server_url: str, label: str, code: Path | None, args: argparse.Namespace, logs: Path
) -> dict[str, Any]:
    base, _, _ = server_url.rpartition("/")
    url = f"{base}/hadar_bench_{uuid.uuid4().hex[:8]}"
    await create_database(url)
    workers = Workers(url, code, logs)
    # This checkout's migrations (a superset of the old revision's) for both.
    subprocess.run(
        [sys.executable, "-m", "hadar.cli", "migrate"],
        env=Workers(url, None, logs).env(),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pagination.configure("bench-secret")
    secretbox.configure(SECRET_KEY)  # what the workers unseal the signing secret with
    await open_db(url)
    n = args.workers
    try:
        with Receiver() as receiver:
            tenant = await keys.ensure_tenant(slug="bench")
            scope = Scope(tenant_id=tenant.id, environment="test", role="admin")
            await webhooks.create_endpoint(
                scope=scope, data={"url": receiver.url, "events": ["*"]}, allow_private=True
            )
            obj = {"id": "lead_x", "object": "lead", "name": "Aisha Khan", "score": 78}

            # Latency: steady commits, each event in its own transaction.
            workers.start(n)
            committed: dict[str, float] = {}
            interval = 1.0 / args.rate
            started = time.monotonic()
            for i in range(int(args.rate * args.seconds)):
                await asyncio.sleep(max(0.0, started + i * interval - time.monotonic()))
                async with in_transaction():
                    event_id = await events.emit(scope=scope, type="lead.created", obj=obj)
                assert event_id is not None
                committed[event_id] = time.time()
            await wait_for(receiver, set(committed))
            latencies = [(receiver.arrivals[k] - t) * 1000 for k, t in committed.items()]
            workers.stop()

            # Throughput: a backlog committed at once under running workers, timed from the
            # first arrival to the last.
            workers.start(n)
            cpu = workers.cpu_seconds()
            ids = await backlog(scope, args.events, obj)
            await wait_for(receiver, ids)
            cpu = workers.cpu_seconds() - cpu
            times = sorted(receiver.arrivals[k] for k in ids)
            rate = (len(times) - 1) / (times[-1] - times[0])
            workers.stop()

            # Kill: one of the workers SIGKILLed mid-run; its claims come back after the lease.
            before = sum(receiver.deliveries.values())
            workers.start(n)
            kill_ids = await backlog(scope, args.kill_events, obj)
            victim = workers.procs[0]
            while len(kill_ids & receiver.arrivals.keys()) < len(kill_ids) // 3 or not (
                await attempts_by(victim.pid)
            ):
                await asyncio.sleep(0.005)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed_at = time.time()
            await wait_for(receiver, kill_ids, timeout=120)
            recovered = max(receiver.arrivals[k] for k in kill_ids) - killed_at
            await asyncio.sleep(1.0)  # a repeat, were there one, would arrive now
            workers.stop()
            requests = sum(receiver.deliveries.values()) - before
            twice = await twice_by_live_workers(kill_ids, victim.pid)
    finally:
        for proc in workers.procs:
            proc.kill()
        await close_db()
        await drop_database(url)
    return {
        "code": label,
        "workers": n,
        "deliveries_per_s": round(rate, 1),
        "backlog_events": len(ids),
        # Load-independent: on a shared machine deliveries/s follow the CPU the workers get.
        "worker_cpu_ms_per_delivery": round(cpu / len(ids) * 1000, 2),
        "latency_ms_p50": round(pct(latencies, 50), 1),
        "latency_ms_p95": round(pct(latencies, 95), 1),
        "latency_events": len(latencies),
        "kill_events": len(kill_ids),
        "kill_delivered": len(kill_ids & receiver.arrivals.keys()),
        "kill_repeats": requests - len(kill_ids),
        "kill_twice_by_live_workers": twice,
        "kill_all_delivered_after_s": round(recovered, 1),
    }


def export(rev: str, into: Path) -> Path:
    """The tree of git revision `rev`, exported to a directory (the old workers run from it)."""
    archive = subprocess.run(
        ["git", "archive", rev, "hadar", "migrations", "setup.py", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    # The wheel's hadar.migrations is migrations/ (package_dir): mirror it for the import.
    (into / "hadar" / "migrations").symlink_to(into / "migrations")
    return into


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("HADAR_TEST_DATABASE_URL"))
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--kill-events", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--before", metavar="REV", help="also run the workers of this revision")
    parser.add_argument("--only-before", action="store_true", help="skip this checkout")
    parser.add_argument("--logs", type=Path, help="keep the workers' logs in this directory")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        sys.exit('needs PostgreSQL: eval "$(scripts/services.sh env)" or --database-url')
    results = []
    with tempfile.TemporaryDirectory(prefix="hadar-wbench-") as tmp:
        logs = args.logs or Path(tmp) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        runs: list[tuple[str, Path | None]] = []
        if args.before:
            old = Path(tmp) / "before"
            old.mkdir()
            runs.append((f"before ({args.before})", export(args.before, old)))
        if not args.only_before:
            runs.append(("after (this checkout)", None))
        for label, code in runs:
            results.append(await run_one(args.database_url, label, code, args, logs))
            print(json.dumps(results[-1]), flush=True)
    for r in results:
        print(
            f"{r['code']:<28} {r['workers']} workers: {r['deliveries_per_s']:7.1f} deliveries/s"
            f" ({r['worker_cpu_ms_per_delivery']:.2f} ms worker CPU each)"
            f"   commit-to-delivery p50 {r['latency_ms_p50']:6.1f} ms"
            f"  p95 {r['latency_ms_p95']:6.1f} ms   SIGKILL: {r['kill_delivered']}"
            f"/{r['kill_events']} delivered, {r['kill_repeats']} repeats,"
            f" {r['kill_twice_by_live_workers']} twice by live workers,"
            f" all in {r['kill_all_delivered_after_s']} s after the kill"
        )
    out = Path(__file__).parent / "results" / "webhooks-pg.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
