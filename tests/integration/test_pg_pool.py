"""The PostgreSQL pool: up to POOL_SIZE connections a process unless the URL says `maxsize`,
and a URL that says it (any Tortoise URL is a valid HADAR_DATABASE_URL) still migrates."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hadar.db import POOL_SIZE, connect_options
from tests.conftest import SECRET
from tests.dbutil import create_database, drop_database

HADAR = str(Path(sys.executable).with_name("hadar"))


def test_a_lone_connection_is_opened_like_the_pool_without_the_pool_parameters() -> None:
    url = "asyncpg://u:p%40x@db:5433/hadar?maxsize=40&minsize=2&schema=crm&ssl=true&timeout=5"
    assert connect_options(url) == {
        "host": "db",
        "port": 5433,
        "user": "u",
        "password": "p@x",
        "database": "hadar",
        "server_settings": {"search_path": "crm"},
        "ssl": True,
        "timeout": 5,
    }
    assert connect_options("postgres://u@/hadar?host=/run/pg")["host"] == "/run/pg"


@pytest.fixture
def pg_url() -> Iterator[str]:
    server = os.environ.get("HADAR_TEST_DATABASE_URL")
    if not server:
        pytest.skip("PostgreSQL's pool: PostgreSQL pass only")
    url = f"{server.rpartition('/')[0]}/hadar_pool_{uuid.uuid4().hex[:10]}"
    asyncio.run(create_database(url))
    yield url
    asyncio.run(drop_database(url))


_COUNT_BACKENDS = """
import asyncio, sys
from tortoise import Tortoise
from hadar.db import close_db, open_db

async def main(url, queries):
    await open_db(url)
    try:
        conn = Tortoise.get_connection("default")
        sql = "SELECT pg_backend_pid() AS pid, pg_sleep(0.3)"
        rows = await asyncio.gather(*(conn.execute_query_dict(sql) for _ in range(queries)))
        print(len({r[0]["pid"] for r in rows}))
    finally:
        await close_db()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def _backends_at_once(url: str, queries: int) -> int:
    """Distinct server processes answering `queries` concurrent slow statements of one process
    (its own: the suite's process holds the ORM's one global connection set)."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_BACKENDS, url, str(queries)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_a_process_serves_up_to_pool_size_statements_at_once(pg_url: str) -> None:
    assert _backends_at_once(pg_url, POOL_SIZE + 5) == POOL_SIZE


def test_a_url_naming_the_pool_size_migrates_and_is_held_to_it(pg_url: str, tmp_path: Path) -> None:
    sized = f"{pg_url}?minsize=1&maxsize=3&schema=public&application_name=hadar-pool-test"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env |= {"HADAR_DATABASE_URL": sized, "HADAR_SECRET_KEY": SECRET}
    done = subprocess.run(
        [HADAR, "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "migrations applied" in done.stdout
    assert _backends_at_once(sized, 8) == 3
