"""Hand-written statements for the hot paths, built once per model and dialect.

Tortoise builds every INSERT and SELECT afresh through pypika (about 0.3 ms a statement) and
wraps a conflict-prone insert in a savepoint (three more round trips). These helpers keep the
ORM's own column conversions (`to_db_value`), so what they write is exactly what `save()` would.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tortoise import Tortoise
from tortoise.models import Model


def connection() -> Any:
    """The connection of the current context: the request's transaction when one is open."""
    return Tortoise.get_connection("default")


def is_postgres(conn: Any) -> bool:
    """Whether `conn` speaks PostgreSQL (else SQLite)."""
    return bool(conn.capabilities.dialect == "postgres")


def marks(count: int, *, postgres: bool, start: int = 1) -> list[str]:
    """`count` parameter placeholders in the dialect's spelling."""
    if postgres:
        return [f"${i}" for i in range(start, start + count)]
    return ["?"] * count


@cache
def _insert_sql(model: type[Model], postgres: bool, skip_conflicts: bool) -> tuple[str, tuple]:
    meta = model._meta
    columns = tuple(
        name for name in meta.fields_db_projection if name in meta.fields_map
    )  # field name == column name for every plain field we insert
    quoted = ", ".join(f'"{meta.fields_db_projection[c]}"' for c in columns)
    values = ", ".join(marks(len(columns), postgres=postgres))
    # Names come from the model definitions, never from a request.
    sql = f'INSERT INTO "{meta.db_table}" ({quoted}) VALUES ({values})'  # noqa: S608
    if skip_conflicts:
        sql += f' ON CONFLICT DO NOTHING RETURNING "{meta.db_pk_column}"'
    return sql, columns


def _db_values(model: type[Model], columns: tuple, values: dict[str, Any]) -> list[Any]:
    fields_map = model._meta.fields_map
    return [fields_map[c].to_db_value(values.get(c), model) for c in columns]


async def insert(model: type[Model], values: dict[str, Any]) -> None:
    """INSERT one row of `model` (every column; missing ones are NULL) in one round trip."""
    conn = connection()
    sql, columns = _insert_sql(model, is_postgres(conn), False)
    await conn.execute_query(sql, _db_values(model, columns, values))


async def insert_unless_conflict(model: type[Model], values: dict[str, Any]) -> bool:
    """INSERT one row unless it would break a unique constraint: True when it was inserted.
    No savepoint is needed: ON CONFLICT DO NOTHING never aborts the transaction."""
    conn = connection()
    sql, columns = _insert_sql(model, is_postgres(conn), True)
    # Rows through execute_query_dict: Tortoise's asyncpg execute_query returns none for an
    # INSERT and reads its row count from the OID field of "INSERT 0 1".
    rows = await conn.execute_query_dict(sql, _db_values(model, columns, values))
    return bool(rows)
