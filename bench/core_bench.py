"""Core benchmark (issue: Hadar core). Not run by `make test`.

Measures, in one run and served the same way (uvicorn, one worker, loopback, wrk):
  - POST /api/v1/leads            vs a raw-SQL single INSERT          (target >= 35 %)
  - GET  /api/v1/leads?limit=25   vs a raw-SQL keyset SELECT of 25    (target >= 50 %)
  - GET page 40,000 of a 1,000,000-lead table vs page 1               (target <= 1.2x latency)
  - a bare Starlette JSON endpoint, for scale.

    .venv/bin/python -m bench.core_bench [--rows 1000000] [--seconds 8] [--database-url URL]
        [--workers N] [--redis-url redis://127.0.0.1:6379/0]

With --database-url postgres://user@host:port/db a fresh database is created beside `db`.
--workers N serves both Hadar and the baseline with N uvicorn workers (the scale-out figure;
on this 2-core machine wrk and the database share the same cores). --redis-url gives Hadar
the shared store it runs with in production (rate limits, the cross-instance key cache).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from ulid import ULID

from bench.common import BIN, ROOT, free_port, mint_bench_key, server, wrk
from hadar.domain.scoring import LeadFacts, score
from hadar.migrate import migrate
from hadar.pagination import CursorSigner
from tests.dbutil import create_database, drop_database

SECRET = "bench-secret-0123456789-abcdefghijkl"


async def prepare(url: str, rows: int) -> tuple[str, str, str]:
    """Migrate, mint a key, seed `rows` leads; returns (token, tenant_id, page-40,000 cursor)."""
    from hadar.db import close_db, open_db

    await create_database(url)
    await migrate(url)
    await open_db(url)
    try:
        minted = await mint_bench_key(SECRET)
        tenant_id = minted.key.tenant_id
    finally:
        await close_db()
    is_pg = url.startswith("postgres")
    ddl = (
        "CREATE TABLE bench_raw (id VARCHAR(64) PRIMARY KEY, tenant_id VARCHAR(40), "
        "name VARCHAR(200), phone VARCHAR(20), created_at {ts})"
    )
    facts = LeadFacts(
        phone="x",
        email=None,
        source="bayut",
        budget_aed=1_800_000,
        bedrooms=2,
        area="Dubai Marina",
        handover_horizon=None,
        status="new",
    )
    points, factors = score(facts)
    start = datetime.now(UTC) - timedelta(days=30)
    # The last row of page 39,999, so the cursor opens page 40,000 (or the deepest full page).
    offset = min(25 * 39_999, rows - 25) - 1

    def row(i: int) -> tuple[object, ...]:
        at = start + timedelta(milliseconds=i * 2)
        at_value: object = at if is_pg else at.isoformat(sep=" ")
        return (
            f"lead_{ULID.from_datetime(at)}",
            tenant_id,
            "test",
            f"Seed Lead {i}",
            f"+97152{i:07d}",
            "bayut",
            '["bayut"]',
            1_800_000,
            2,
            "Dubai Marina",
            "new",
            '{"whatsapp":false,"voice":false,"email":false}',
            points,
            orjson.dumps(factors).decode(),
            at_value,
            at_value,
        )

    cols = (
        "id, tenant_id, environment, name, phone, source, sources, budget_aed, bedrooms, "
        "area, status, do_not_contact, score, score_factors, created_at, updated_at"
    )
    if is_pg:
        import asyncpg

        conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
        try:
            await conn.execute(ddl.format(ts="TIMESTAMPTZ"))
            batch = 20_000
            for lo in range(0, rows, batch):
                await conn.copy_records_to_table(
                    "leads",
                    records=[row(i) for i in range(lo, min(rows, lo + batch))],
                    columns=[c.strip() for c in cols.split(",")],
                )
            await conn.execute("ANALYZE leads")
            after = await conn.fetchval(
                "SELECT id FROM leads WHERE tenant_id=$1 ORDER BY id DESC OFFSET $2 LIMIT 1",
                tenant_id,
                offset,
            )
        finally:
            await conn.close()
    else:
        import aiosqlite

        async with aiosqlite.connect(url.removeprefix("sqlite://")) as db:
            await db.execute(ddl.format(ts="TIMESTAMP"))
            marks = ",".join("?" * 16)
            batch = 50_000
            for lo in range(0, rows, batch):
                await db.executemany(
                    f"INSERT INTO leads ({cols}) VALUES ({marks})",
                    [row(i) for i in range(lo, min(rows, lo + batch))],
                )
                await db.commit()
            await db.execute("ANALYZE")
            cur = await db.execute(
                "SELECT id FROM leads WHERE tenant_id=? ORDER BY id DESC LIMIT 1 OFFSET ?",
                (tenant_id, offset),
            )
            after = (await cur.fetchone())[0]  # type: ignore[index]
            await db.commit()
    binding = {
        "list": "leads",
        "t": tenant_id,
        "e": "test",
        "source": None,
        "score_min": None,
        "assigned_to": None,
        "status": None,
        "created_after": None,
    }
    cursor = CursorSigner(SECRET).issue(after, binding)
    return minted.token, tenant_id, cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-url", help="HADAR_REDIS_URL for Hadar (the baseline has none)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hadar-bench-"))
    if args.database_url:
        base = args.database_url.rpartition("/")[0]
        url = f"{base}/hadar_bench_{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite://{tmp / 'bench.db'}"
    print(f"preparing {args.rows:,} leads on {url.split('://')[0]} ...", flush=True)
    token, tenant_id, cursor = asyncio.run(prepare(url, args.rows))
    env = {
        "HADAR_DATABASE_URL": url,
        "HADAR_SECRET_KEY": SECRET,
        "BENCH_DATABASE_URL": url,
        "BENCH_TENANT_ID": tenant_id,
        "PYTHONPATH": str(ROOT),
    }
    if args.redis_url:
        env["HADAR_REDIS_URL"] = args.redis_url
    hp, bp = free_port(), free_port()
    auth = {"Authorization": f"Bearer {token}"}
    lua = str(ROOT / "bench" / "post_lead.lua")
    s = args.seconds
    results: dict[str, dict[str, float]] = {}
    workers = ["--workers", str(args.workers)]
    hadar = [str(BIN / "hadar"), "serve", "--port", str(hp), "--no-worker", *workers]
    base = [
        str(BIN / "uvicorn"),
        "bench.baseline_app:app",
        "--port",
        str(bp),
        "--log-level",
        "warning",
        *workers,
    ]
    with (
        server(hadar, env, f"http://127.0.0.1:{hp}/healthz"),
        server(base, env, f"http://127.0.0.1:{bp}/ping"),
    ):
        h, b = f"http://127.0.0.1:{hp}", f"http://127.0.0.1:{bp}"
        results["bare_ping"] = wrk(f"{b}/ping", seconds=s)
        results["raw_select_25"] = wrk(f"{b}/raw/select", seconds=s)
        results["get_leads_25"] = wrk(f"{h}/api/v1/leads?limit=25", seconds=s, headers=auth)
        results["page_1_latency"] = wrk(
            f"{h}/api/v1/leads?limit=25", seconds=s, connections=1, headers=auth
        )
        results["page_40000_latency"] = wrk(
            f"{h}/api/v1/leads?limit=25&cursor={cursor}", seconds=s, connections=1, headers=auth
        )
        results["raw_insert"] = wrk(f"{b}/raw/insert", seconds=s, script=lua)
        results["post_lead"] = wrk(f"{h}/api/v1/leads", seconds=s, script=lua, headers=auth)
    asyncio.run(drop_database(url))
    ratios = {
        "post_vs_raw_insert": results["post_lead"]["rps"] / results["raw_insert"]["rps"],
        "get_vs_raw_select": results["get_leads_25"]["rps"] / results["raw_select_25"]["rps"],
        "page_40000_vs_page_1_p50": results["page_40000_latency"]["p50_ms"]
        / results["page_1_latency"]["p50_ms"],
    }
    print(f"\n{'run':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for name, r in results.items():
        print(
            f"{name:<22}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['non_2xx']:>9.0f}"
        )
    print()
    targets = {
        "post_vs_raw_insert": ">= 0.35",
        "get_vs_raw_select": ">= 0.50",
        "page_40000_vs_page_1_p50": "<= 1.20",
    }
    for name, value in ratios.items():
        print(f"{name:<28}{value:>6.2f}   target {targets[name]}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    kind = url.split("://")[0]
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; workers {args.workers}")
    (out / f"core-{kind}-w{args.workers}.json").write_text(
        json.dumps({"results": results, "ratios": ratios, "load": load}, indent=2)
    )


if __name__ == "__main__":
    main()
