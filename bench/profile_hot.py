"""In-process, low-noise cost of the hot paths: CPU ms per request (time.process_time) of
POST /api/v1/leads, GET /api/v1/leads?limit=25 and GraphQL leads(first: 25), driven straight
through the ASGI app (no sockets, no uvicorn), with an optional cProfile breakdown.

    .venv/bin/python -m bench.profile_hot [--n 400] [--seed 2000] [--profile post|get|gql]
        [--database-url URL]

Not a test and not run by `make test`: a measuring tool for the hot-path work (issue 12).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
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
GQL = b'{"query":"{ leads(first: 25) { edges { node { id name phone email source score createdAt } } pageInfo { hasNextPage endCursor } } }"}'


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
        runs = {
            "post": lambda i: call(app, "POST", "/api/v1/leads", auth, lead_bytes(base + i)),
            "get": lambda i: call(app, "GET", "/api/v1/leads?limit=25", auth),
            "gql": lambda i: call(app, "POST", "/graphql", auth, GQL),
        }
        for name, run in runs.items():
            assert await run(-1) in (200, 201), name
            profiler = cProfile.Profile() if args.profile == name else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for i in range(args.n):
                await run(i + (10_000 if name == "post" else 0))
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"{name:<5} cpu {cpu / args.n * 1000:6.2f} ms/req   wall {wall / args.n * 1000:6.2f} ms/req")
            if profiler:
                stats = pstats.Stats(profiler).sort_stats(args.sort)
                stats.print_stats(args.lines)
    finally:
        await close_db()
        await drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=200)
    parser.add_argument("--profile", choices=["post", "get", "gql"])
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--lines", type=int, default=60)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
