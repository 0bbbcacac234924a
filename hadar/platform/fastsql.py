"""Hand-written statements for the hot paths, built once per model and dialect.

Tortoise builds every INSERT and SELECT afresh through pypika (about 0.3 ms a statement) and
wraps a conflict-prone insert in a savepoint (three more round trips). These helpers keep the
ORM's own column conversions (`to_db_value`), so what they write is exactly what `save()` would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any

from tortoise import Tortoise
from tortoise.fields.base import Field
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator


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
        name
        for name in meta.fields_db_projection
        if name in meta.fields_map and name not in meta.generated_db_fields
    )  # field name == column name for every plain field we insert; generated ids are left out
    quoted = ", ".join(f'"{meta.fields_db_projection[c]}"' for c in columns)
    values = ", ".join(marks(len(columns), postgres=postgres))
    # Names come from the model definitions, never from a request.
    sql = f'INSERT INTO "{meta.db_table}" ({quoted}) VALUES ({values})'  # noqa: S608
    if skip_conflicts:
        sql += f' ON CONFLICT DO NOTHING RETURNING "{meta.db_pk_column}"'
    return sql, columns


Convert = Callable[[Any], Any]


def _converter(model: type[Model], field: Field) -> Convert:
    """`field.to_db_value` for one column, without its per-value dispatch where that is only
    a type coercion and a length check (most columns): the same value, or the same error."""
    plain = type(field).to_db_value is Field.to_db_value
    checks = field.validators
    if not plain or any(type(v) is not MaxLengthValidator for v in checks):
        return partial(field.to_db_value, instance=model)
    kind = field.field_type
    limit = min((getattr(v, "max_length", 0) for v in checks), default=None)

    def convert(value: Any) -> Any:
        if value is None:
            if checks and not field.null:
                field.validate(value)  # Tortoise's error for a missing value
            return None
        if type(value) is not kind and not isinstance(value, kind):
            value = kind(value)
        if limit is not None and len(value) > limit:
            field.validate(value)  # Tortoise's error, naming the field
        return value

    return convert


@cache
def _converters(model: type[Model], columns: tuple) -> tuple[Convert, ...]:
    fields_map = model._meta.fields_map
    return tuple(_converter(model, fields_map[c]) for c in columns)


def _db_values(model: type[Model], columns: tuple, values: dict[str, Any]) -> list[Any]:
    get = values.get
    return [
        convert(get(c)) for c, convert in zip(columns, _converters(model, columns), strict=True)
    ]


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
