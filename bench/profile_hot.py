"""In-process, low-noise cost of the hot paths: CPU ms per request (time.process_time) of
POST /api/v1/leads, GET /api/v1/leads?limit=25 and GraphQL leads(first: 25), driven straight
through the ASGI app (no sockets, no uvicorn), with an optional cProfile breakdown.

    .venv/bin/python -m bench.profile_hot [--n 300] [--rounds 3] [--seed 200]
        [--profile post|get|gql_all|gql_list] [--database-url URL]

Not a test and not run by `make test`: a measuring tool for the hot-path work (issue 12).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.common import mint_bench_key
from hadar.app import create_app
from hadar.db import close_db, open_db
from hadar.migrate import migrate
from hadar.settings import Settings
from tests.dbutil import create_database, drop_database

SECRET = "bench-secret-0123456789-abcdefghijkl"
# Every field, as REST answers (the >= 0.6 target), and what a list view asks for.
GQL_ALL = (
    "id name phone email source sourceRaw sources utm budgetAed bedrooms area handoverHorizon"
    " status assignedTo doNotContact { whatsapp voice email } score"
    " scoreFactors { factor points reason } createdAt updatedAt"
)
GQL_LIST = "id name phone source status score assignedTo createdAt"


def gql(fields: str) -> bytes:
    page = "pageInfo { hasNextPage endCursor }"
    return orjson.dumps(
        {"query": f"{{ leads(first: 25) {{ edges {{ node {{ {fields} }} }} {page} }} }}"}
    )


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    """One request through the ASGI app; returns the status."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
        "app": app,
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def lead_bytes(i: int) -> bytes:
    return orjson.dumps(
        {"name": f"Bench {i}", "phone": f"+97155{i:07d}", "source": "bayut", "bedrooms": 2}
    )


async def main_async(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hadar-prof-"))
    if args.database_url:
        url = f"{args.database_url.rpartition('/')[0]}/hadar_prof_{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite://{tmp / 'prof.db'}"
    await create_database(url)
    await migrate(url)
    settings = Settings(database_url=url, secret_key=SECRET, redis_url=args.redis_url)
    app = create_app(settings)
    await open_db(url)
    try:
        token = (await mint_bench_key(SECRET)).token
        auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        base = 1_000_000 + uuid.uuid4().int % 1_000_000
        for i in range(args.seed):  # a table that is not empty, and warm caches
            await call(app, "POST", "/api/v1/leads", auth, lead_bytes(base + i))
        base += args.seed
        if args.freeze:
            gc.freeze()  # startup objects out of the collector's way (an experiment)
        all_fields, list_fields = gql(GQL_ALL), gql(GQL_LIST)
        runs = {
            "post": lambda i: call(app, "POST", "/api/v1/leads", auth, lead_bytes(base + i)),
            "get": lambda i: call(app, "GET", "/api/v1/leads?limit=25", auth),
            "gql_all": lambda i: call(app, "POST", "/graphql", auth, all_fields),
            "gql_list": lambda i: call(app, "POST", "/graphql", auth, list_fields),
        }
        best: dict[str, float] = {}
        wall: dict[str, float] = {}
        for round_ in range(args.rounds):  # interleaved; the minimum is the least disturbed
            for name, run in runs.items():
                assert await run(-1 - round_) in (200, 201), name
                profiler = cProfile.Profile() if args.profile == name and not round_ else None
                cpu, started = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                for i in range(args.n):
                    await run(i + (10_000 * (round_ + 1) if name == "post" else 0))
                if profiler:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
                cost = (time.process_time() - cpu) / args.n * 1000
                took = (time.perf_counter() - started) / args.n * 1000
                best[name] = min(best.get(name, cost), cost)
                wall[name] = min(wall.get(name, took), took)
        for name, cost in best.items():
            print(
                f"{name:<9} cpu {cost:6.3f} ms/request, wall {wall[name]:6.3f} ms (one at a time;"
                f" best of {args.rounds} rounds)"
            )
        print(f"gql_all / get cost {best['gql_all'] / best['get']:.2f}x; load {os.getloadavg()}")
    finally:
        await close_db()
        await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=["post", "get", "gql_all", "gql_list"])
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=60)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() after warm-up")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
