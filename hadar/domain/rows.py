"""Fast reads for hot paths: run the SELECT the ORM builds, map rows without model machinery.

Tortoise converts every field of every row through Python-level field objects (about 2 µs a
field); a 25-row page of leads spent most of its time there. These helpers keep the ORM's query
building (so filters and tenant scoping stay ORM expressions) and convert only what we read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from tortoise import Tortoise
from tortoise.queryset import QuerySet


async def fetch_dicts(queryset: QuerySet[Any]) -> list[dict[str, Any]]:
    """The rows `queryset` selects, as raw dicts straight from the driver."""
    queryset._choose_db_if_not_chosen()
    queryset._make_query()
    sql, params = queryset.query.get_parameterized_sql()
    return list(await queryset._db.execute_query_dict(sql, params))


async def fetch_sql(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows of a hand-written SELECT; `{}` in `sql` marks each parameter in order."""
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        marks = [f"${i}" for i in range(1, len(params) + 1)]
    else:
        marks = ["?"] * len(params)
    return list(await conn.execute_query_dict(sql.format(*marks), params))


def as_datetime(value: Any) -> datetime:
    """A UTC datetime from a driver value (SQLite gives ISO text, PostgreSQL a datetime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_json(value: Any) -> Any:
    """A decoded JSON column value (drivers give text or already-decoded values)."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value
