"""Baselines served exactly like Hadar (uvicorn, one worker): a bare JSON endpoint, a raw-SQL
single INSERT and a raw-SQL keyset SELECT of 25 rows on the same database as Hadar's leads."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DB = os.environ["BENCH_DATABASE_URL"]
TENANT = os.environ["BENCH_TENANT_ID"]
IS_PG = DB.startswith("postgres")
_state: dict[str, Any] = {}


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps({"data": data, "error": None}), status, media_type="application/json"
    )


async def ping(request: Request) -> Response:
    return _json({"pong": True})


async def raw_insert(request: Request) -> Response:
    body = orjson.loads(await request.body())
    row_id = f"raw_{time.time_ns()}_{random.getrandbits(32)}"
    if IS_PG:
        async with _state["pool"].acquire() as conn:
            await conn.execute(
                "INSERT INTO bench_raw (id, tenant_id, name, phone, created_at) "
                "VALUES ($1,$2,$3,$4,now())",
                row_id,
                TENANT,
                body["name"],
                body.get("phone"),
            )
    else:
        db = _state["sqlite"]
        await db.execute(
            "INSERT INTO bench_raw (id, tenant_id, name, phone, created_at) "
            "VALUES (?,?,?,?,datetime('now'))",
            (row_id, TENANT, body["name"], body.get("phone")),
        )
        await db.commit()
    return _json({"id": row_id}, 201)


async def raw_select(request: Request) -> Response:
    after = request.query_params.get("after", "lead_~")
    sql_pg = (
        "SELECT * FROM leads WHERE tenant_id=$1 AND environment='test' AND id < $2 "
        "ORDER BY id DESC LIMIT 25"
    )
    if IS_PG:
        async with _state["pool"].acquire() as conn:
            rows = [dict(r) for r in await conn.fetch(sql_pg, TENANT, after)]
    else:
        db = _state["sqlite"]
        cursor = await db.execute(sql_pg.replace("$1", "?").replace("$2", "?"), (TENANT, after))
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in await cursor.fetchall()]
    for row in rows:
        for k, v in row.items():
            if not isinstance(v, (str, int, float, type(None))):
                row[k] = str(v)
    return _json({"items": rows})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if IS_PG:
        import asyncpg

        _state["pool"] = await asyncpg.create_pool("postgresql://" + DB.split("://", 1)[1])
    else:
        import aiosqlite

        path = DB.removeprefix("sqlite://").split("?")[0]
        _state["sqlite"] = db = await aiosqlite.connect(path)
        await db.execute("PRAGMA journal_mode=WAL")
    yield
    if IS_PG:
        await _state["pool"].close()
    else:
        await _state["sqlite"].close()


app = Starlette(
    routes=[
        Route("/ping", ping),
        Route("/raw/insert", raw_insert, methods=["POST"]),
        Route("/raw/select", raw_select),
    ],
    lifespan=lifespan,
)
