"""Matches benchmark (issue 15). Not run by `make test`.

GET /api/v1/leads/{id}/matches for one lead over an inventory of 10,000 properties, served
by a real `hadar serve` (uvicorn, one worker, loopback) and driven by wrk with one connection,
so the figures are request latency, not queueing. Targets: p50 <= 20 ms, p99 <= 50 ms.

Leads measured (the ranking runs in SQL either way; only what it must score differs):
  - typical: budget AED 2M, 2 bedrooms, Dubai Marina, off-plan by 2027 (narrowed by price);
  - broad: an area and nothing else (every available listing is a candidate);
  - blank: no wish at all (every available listing, ranked by id);
  - typical, limit=100: the largest answer.
Plus, for scale, a GraphQL page of 25 leads each with matches(limit: 5) (one ranking query).

    .venv/bin/python -m bench.matches_bench [--properties 10000] [--seconds 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from ulid import ULID

from bench.common import BIN, ROOT, free_port, mint_bench_key, server, wrk
from hadar.migrate import migrate
from tests.dbutil import create_database, drop_database

SECRET = "bench-secret"
AREAS = [
    "Dubai Marina", "Palm Jumeirah", "Downtown Dubai", "Business Bay", "JVC", "JLT",
    "Dubai Hills Estate", "Arabian Ranches", "DIFC", "JBR", "Bluewaters", "Al Barsha",
    "Dubai Creek Harbour", "Meydan", "Damac Hills", "Town Square", "Motor City",
    "Sports City", "International City", "Al Furjan", "Mirdif", "Emirates Hills",
    "The Springs", "The Meadows", "Jumeirah Bay", "City Walk", "Sobha Hartland",
    "Dubai South", "Al Quoz", "Deira", "dubai marina", "DUBAI MARINA",
]  # fmt: skip
TYPES = ["apartment"] * 6 + ["villa", "townhouse", "penthouse", "office", "land"]
STATUSES = ["available"] * 7 + ["reserved", "sold", "rented", "off_market"]
WISHES = {
    "typical": {
        "budget_aed": 2_000_000,
        "bedrooms": 2,
        "area": "Dubai Marina",
        "handover_horizon": "off_plan_2027",
    },
    "broad": {"area": "Dubai Marina"},
    "blank": {},
}
COLUMNS = (
    "id, tenant_id, environment, title, reference, area, building, type, bedrooms, bathrooms, "
    "size_sqft, price_aed, purpose, status, handover, permit_number, description, amenities, "
    "created_at, updated_at"
)


def _property(i: int, tenant_id: str, at: datetime, rng: random.Random, pg: bool) -> tuple:
    kind = rng.choice(TYPES)
    bedrooms = None if kind in ("office", "land") else rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4, 5])
    price = int(10 ** rng.uniform(5.6, 7.4))  # AED 400k .. 25M, log-uniform
    handover = "ready" if rng.random() < 0.6 else f"off_plan_{rng.randint(2026, 2030)}"
    stamp: object = at if pg else at.isoformat(sep=" ")
    return (
        f"prop_{ULID.from_datetime(at)}",
        tenant_id,
        "test",
        f"Listing {i}",
        f"REF-{i:06d}",
        rng.choice(AREAS),
        None,
        kind,
        bedrooms,
        bedrooms,
        rng.randint(400, 6000),
        price,
        "sale",
        rng.choice(STATUSES),
        handover,
        f"P-{i}",
        None,
        orjson.dumps(["pool", "gym"]).decode(),
        stamp,
        stamp,
    )


async def prepare(url: str, count: int) -> tuple[str, dict[str, str]]:
    """Migrate, mint a key, create the leads, seed `count` properties: (token, name -> lead)."""
    from hadar.db import close_db, open_db
    from hadar.domain.scope import Scope
    from hadar.services import leads

    await create_database(url)
    await migrate(url)
    await open_db(url)
    try:
        minted = await mint_bench_key(SECRET)
        tenant_id = minted.key.tenant_id
        scope = Scope(tenant_id=tenant_id, environment="test", role="admin")
        lead_ids = {}
        for n, (name, wish) in enumerate([*WISHES.items()] * 9):  # 27 leads, for the page
            body = {"name": f"Bench {name}", "phone": f"+97150{n:07d}", **wish}
            lead, _ = await leads.create_lead(scope=scope, data=body)
            lead_ids.setdefault(name, lead.id)
    finally:
        await close_db()
    rng = random.Random(15)  # the same inventory on every run
    start = datetime.now(UTC) - timedelta(days=30)
    pg = url.startswith("postgres")
    rows = [_property(i, tenant_id, start + timedelta(seconds=i), rng, pg) for i in range(count)]
    if pg:
        import asyncpg

        conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
        try:
            await conn.copy_records_to_table(
                "properties", records=rows, columns=[c.strip() for c in COLUMNS.split(",")]
            )
            # What autovacuum does within a minute of a bulk load this size: statistics, and
            # the visibility map that lets the covering index answer without the heap.
            await conn.execute("VACUUM ANALYZE properties")
        finally:
            await conn.close()
    else:
        import aiosqlite

        # No ANALYZE here: SQLite picks the covering index without statistics.
        async with aiosqlite.connect(url.removeprefix("sqlite://")) as db:
            marks = ",".join("?" * len(rows[0]))
            await db.executemany(f"INSERT INTO properties ({COLUMNS}) VALUES ({marks})", rows)
            await db.commit()
    return minted.token, lead_ids


def _graphql_script(tmp: Path) -> str:
    query = (
        "{ leads(first: 25) { edges { node { id matches(limit: 5) "
        "{ property { id title priceAed } score reasons { factor points } } } } } }"
    )
    body = json.dumps({"query": query})
    script = tmp / "matches_page.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    return str(script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--properties", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hadar-bench-"))
    if args.database_url:
        url = f"{args.database_url.rpartition('/')[0]}/hadar_bench_{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite://{tmp / 'bench.db'}"
    print(f"preparing {args.properties:,} properties on {url.split('://')[0]} ...", flush=True)
    token, lead_ids = asyncio.run(prepare(url, args.properties))
    env = {"HADAR_DATABASE_URL": url, "HADAR_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    port = free_port()
    auth = {"Authorization": f"Bearer {token}"}
    hadar = [str(BIN / "hadar"), "serve", "--port", str(port), "--no-worker"]
    results: dict[str, dict[str, float]] = {}
    with server(hadar, env, f"http://127.0.0.1:{port}/healthz"):
        base = f"http://127.0.0.1:{port}/api/v1/leads"
        for name, lead_id in lead_ids.items():
            results[name] = wrk(
                f"{base}/{lead_id}/matches", seconds=args.seconds, connections=1, headers=auth
            )
        results["typical_limit_100"] = wrk(
            f"{base}/{lead_ids['typical']}/matches?limit=100",
            seconds=args.seconds,
            connections=1,
            headers=auth,
        )
        results["graphql_25_leads"] = wrk(
            f"http://127.0.0.1:{port}/graphql",
            seconds=args.seconds,
            connections=1,
            headers=auth,
            script=_graphql_script(tmp),
        )
    asyncio.run(drop_database(url))
    print(f"\n{'run':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for name, r in results.items():
        print(
            f"{name:<22}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['non_2xx']:>9.0f}"
        )
    print("\ntarget for one lead's matches: p50 <= 20 ms, p99 <= 50 ms")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    kind = url.split("://")[0]
    summary: dict[str, Any] = {"properties": args.properties, "results": results}
    (out / f"matches-{kind}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
