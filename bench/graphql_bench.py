"""GraphQL benchmark (issue: GraphQL). Not run by `make test`.

In one run, against one `hadar serve` (one uvicorn worker, loopback, wrk, bounded duration):
  - GET  /api/v1/leads?limit=25                       (REST, every field)
  - POST /graphql { leads(first: 25) { ...every field } }   target >= 60 % of REST requests/s
  - POST /graphql { leads(first: 25) { id name … 8 fields } }  (what a list view asks for)
and, in-process over the same database, SQL statements per request (target <= 4).

The machine is shared and its load moves during a run, so the three are measured in
interleaved rounds (REST, all fields, list fields; again) and each figure is the median of its
rounds, the ratio taken between medians; every round's figures and the load average are kept.

With `--baseline DIR` (a checkout of an older commit, e.g. `git archive OLD | tar -x -C DIR`)
a second server runs that code over the same database, and its REST list and all-fields query
join the same interleaved rounds: before and after, measured side by side in one run.

With --database-url postgres://user@host:port/db a fresh database is made beside `db` (and
dropped at the end); SQLite in a temp directory otherwise.

    .venv/bin/python -m bench.graphql_bench [--rows 2000] [--seconds 8] [--rounds 3]
        [--baseline DIR] [--database-url URL] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import BIN, free_port, mint_bench_key, server, wrk
from tests.dbutil import create_database, drop_database

SECRET = "bench-secret-graphql-0123456789-abcdef"
ALL_FIELDS = """id name phone email source sourceRaw sources utm budgetAed bedrooms area
handoverHorizon status assignedTo doNotContact { whatsapp voice email } score
scoreFactors { factor points reason } createdAt updatedAt"""
LIST_FIELDS = "id name phone source status score assignedTo createdAt"


def leads_query(fields: str) -> str:
    page_info = "pageInfo { hasNextPage endCursor }"
    query = f"{{ leads(first: 25) {{ edges {{ node {{ {fields} }} }} {page_info} }} }}"
    return " ".join(query.split())


def lua_post(path: Path, body: bytes) -> str:
    """A wrk script that POSTs `body` as JSON."""
    literal = body.decode().replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = "{literal}"\n'
    )
    return str(path)


async def prepare(url: str, rows: int) -> str:
    """Migrate, mint an unthrottled admin key, seed `rows` leads; returns the token."""
    from hadar import pagination
    from hadar.db import close_db, open_db
    from hadar.migrate import migrate
    from hadar.services import keys, leads

    await migrate(url)
    pagination.configure(SECRET)
    await open_db(url)
    try:
        minted = await mint_bench_key(SECRET)
        scope = await keys.authenticate(token=minted.token, secret=SECRET)
        for i in range(rows):
            await leads.create_lead(
                scope=scope,
                data={
                    "name": f"Bench Lead {i}",
                    "phone": f"+97150{i:07d}",
                    "source": "bayut",
                    "budget_aed": 1_800_000 + i,
                    "bedrooms": i % 5,
                    "area": "Dubai Marina",
                },
            )
    finally:
        await close_db()
    return minted.token


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if (
            record.getMessage()
            .lstrip()
            .upper()
            .startswith(("SELECT", "INSERT", "UPDATE", "DELETE"))
        ):
            self.count += 1


async def sql_per_request(url: str, token: str, gql_bodies: dict[str, bytes]) -> dict[str, float]:
    """SQL statements per request, counted in-process (ASGI) over the same database."""
    from hadar.app import create_app
    from hadar.db import close_db, open_db
    from hadar.settings import Settings

    app = create_app(Settings(database_url=url, secret_key=SECRET))
    await open_db(url)
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out: dict[str, float] = {}
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            calls: dict[str, Any] = {
                "rest_list_25": lambda: client.get("/api/v1/leads?limit=25", headers=auth),
                **{
                    name: (lambda b=body: client.post("/graphql", content=b, headers=auth))
                    for name, body in gql_bodies.items()
                },
            }
            for name, call in calls.items():
                counter.count = 0
                for _ in range(10):
                    r = await call()
                    assert r.status_code == 200 and b'"errors"' not in r.content, r.text
                out[name] = counter.count / 10
    finally:
        logger.removeHandler(counter)
        await close_db()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="an older checkout to compare")
    parser.add_argument("--database-url")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hadar-gql-bench-"))
    url = f"sqlite://{tmp / 'bench.db'}"
    if args.database_url:
        url = f"{args.database_url.rpartition('/')[0]}/hadar_gqlbench_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(url))
    try:
        _run(args, tmp, url)
    finally:
        asyncio.run(drop_database(url))


def _run(args: argparse.Namespace, tmp: Path, url: str) -> None:
    token = asyncio.run(prepare(url, args.rows))
    bodies = {
        "graphql_leads_25_all_fields": orjson.dumps({"query": leads_query(ALL_FIELDS)}),
        "graphql_leads_25_list_fields": orjson.dumps({"query": leads_query(LIST_FIELDS)}),
    }
    sql = asyncio.run(sql_per_request(url, token, bodies))

    env = {"HADAR_DATABASE_URL": url, "HADAR_SECRET_KEY": SECRET}
    auth = {"Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {
        "database": url.split("://")[0],
        "rows": args.rows,
        "seconds": args.seconds,
        "rounds": args.rounds,
    }
    scripts = {name: lua_post(tmp / f"{name}.lua", body) for name, body in bodies.items()}
    targets: dict[str, tuple[str, str | None]] = {}
    with contextlib.ExitStack() as stack:
        for label, extra in (("", {}), ("baseline_", {"PYTHONPATH": str(args.baseline)})):
            if label and args.baseline is None:
                continue
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            hadar = [str(BIN / "hadar"), "serve", "--port", str(port), "--no-worker"]
            stack.enter_context(server(hadar, {**env, **extra}, f"{base}/healthz"))
            wrk(f"{base}/api/v1/leads?limit=25", seconds=2, headers=auth)  # warm up
            for script in scripts.values():
                wrk(f"{base}/graphql", seconds=2, script=script, headers=auth)
            targets[f"{label}rest_list_25"] = (f"{base}/api/v1/leads?limit=25", None)
            for name, script in scripts.items():
                if not label or "all_fields" in name:
                    targets[f"{label}{name}"] = (f"{base}/graphql", script)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        results["load_before"] = os.getloadavg()
        for _ in range(args.rounds):
            for name, (target, script) in targets.items():
                rounds[name].append(
                    wrk(
                        target,
                        seconds=args.seconds,
                        connections=args.connections,
                        script=script,
                        headers=auth,
                    )
                )
        results["load_after"] = os.getloadavg()
    for name, runs in rounds.items():
        results[name] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        results[name]["rounds_rps"] = [run["rps"] for run in runs]
    for name in targets:
        if "graphql" not in name:
            continue
        rest = ("baseline_" if name.startswith("baseline_") else "") + "rest_list_25"
        results[name]["ratio_to_rest"] = round(results[name]["rps"] / results[rest]["rps"], 3)
        results[name]["round_ratios"] = [
            round(g["rps"] / r["rps"], 3) for g, r in zip(rounds[name], rounds[rest], strict=True)
        ]
    results["sql_per_request"] = sql
    results["targets"] = {"ratio_to_rest": ">= 0.60", "sql_per_request": "<= 4"}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
