"""The lead hot paths as hand-written SQL: one duplicate lookup for phone OR e-mail, one
conflict-tolerant INSERT, and the keyset page of the list, presented straight from its rows.

Each statement is what the ORM would have sent, minus its per-call query building (pypika,
~0.3 ms a statement) and the savepoint around a conflict-prone insert (three round trips).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson

from hadar import clock
from hadar.domain.leads import Lead
from hadar.domain.scope import Scope
from hadar.platform import fastsql

_DUPLICATE = (
    "SELECT * FROM leads WHERE tenant_id = {0} AND environment = {1}"
    " AND (phone = {2} OR email = {3})"
    # The phone match wins over an e-mail match (two different leads can match).
    " ORDER BY CASE WHEN phone = {2} THEN 0 ELSE 1 END LIMIT 1"
)


@cache
def _numbered(sql: str, postgres: bool, count: int) -> str:
    # `$n` (PostgreSQL) and `?n` (SQLite) both let one parameter appear twice.
    return sql.format(*[f"${i}" if postgres else f"?{i}" for i in range(1, count + 1)])


async def find_duplicate(*, scope: Scope, phone: str | None, email: str | None) -> Lead | None:
    """The lead sharing `phone` (first) or `email`, locked on PostgreSQL; one round trip."""
    if phone is None and email is None:
        return None
    conn = fastsql.connection()
    postgres = fastsql.is_postgres(conn)
    # Locked (PostgreSQL), so a merge racing a PATCH of the same lead never loses either.
    sql = _numbered(_DUPLICATE, postgres, 4) + (" FOR UPDATE" if postgres else "")
    rows = await conn.execute_query_dict(sql, [scope.tenant_id, scope.environment, phone, email])
    return Lead._init_from_db(**rows[0]) if rows else None


async def insert(*, values: dict[str, Any]) -> Lead | None:
    """Insert a new lead; None when a concurrent request took its phone or e-mail first."""
    if not await fastsql.insert_unless_conflict(Lead, values):
        return None
    return Lead._init_from_db(**values)


_LIST_FILTERS = {
    "source": "source = {}",
    "score_min": "score >= {}",
    "created_after": "created_at > {}",
    "assigned_to": "assigned_to = {}",
    "status": "status = {}",
    "before": "id < {}",
}


async def page_rows(
    *, scope: Scope, filters: dict[str, Any], limit: int
) -> Sequence[Mapping[str, Any]]:
    """Up to `limit` rows of the caller's leads matching `filters` (None: not filtered),
    newest first; `before` is the id the page resumes after."""
    conn = fastsql.connection()
    postgres = fastsql.is_postgres(conn)
    given = [(name, value) for name, value in filters.items() if value is not None]
    where = ["tenant_id = {}", "environment = {}"] + [_LIST_FILTERS[n] for n, _ in given]
    params: list[Any] = [scope.tenant_id, scope.environment] + [v for _, v in given]
    params.append(limit)
    sql = _listing_sql(" AND ".join(where), postgres, len(params))
    if postgres:  # asyncpg's records read like dicts (by name, .get); no copy into one
        return (await conn.execute_query(sql, params))[1]
    return await conn.execute_query_dict(sql, params)


# PostgreSQL writes the two timestamps of a listed row in their public form itself (C, on the
# database's side, ~1 us a row): formatting 50 datetimes a page in Python was half of
# presenting it. Both truncate to milliseconds, as clock.isoformat does. The whole lead is not
# built there (json_build_object): measured, it cost the database ~190 us a page to save the
# application ~50 us, and the database is what every instance shares.
_PG_STAMPS = "".join(
    f", to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS {c}_text"
    for c in ("created_at", "updated_at")
)


@cache
def _listing_sql(where: str, postgres: bool, count: int) -> str:
    marks = fastsql.marks(count, postgres=postgres)
    stamps = _PG_STAMPS if postgres else ""
    # `where` is built only from the fixed fragments of _LIST_FILTERS.
    sql = f"SELECT *{stamps} FROM leads WHERE {where} ORDER BY id DESC LIMIT {{}}"  # noqa: S608
    return sql.format(*marks)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _stored_json(value: Any) -> Any:
    """A JSON column as it goes out: its stored text, written into the answer as it is
    (valid JSON we wrote, and the public value unchanged), not decoded to be encoded again.
    This trusts the column: Hadar is its only writer (Tortoise's JSONField encodes every value;
    PostgreSQL's jsonb checks it too). Text put into a SQLite file by hand is not checked here
    and goes out as it is."""
    return orjson.Fragment(value) if isinstance(value, (str, bytes)) else value


def _stamp(value: Any) -> str:
    """ISO 8601 UTC with milliseconds and Z, from a driver value (SQLite text or datetime)."""
    if isinstance(value, str):
        if len(value) == 32 and value.endswith("+00:00") and value[10] in " T":
            # SQLite's stored form of a UTC millisecond instant: 2026-05-15 08:42:11.103000+00:00
            return f"{value[:10]}T{value[11:23]}Z"
        value = datetime.fromisoformat(value)
    return clock.isoformat(value if value.tzinfo else value.replace(tzinfo=UTC))


_NO_DNC = {"whatsapp": False, "voice": False, "email": False}


def present_row(row: Mapping[str, Any], *, decoded: bool = False) -> dict[str, Any]:
    """The public shape of a lead (as present_lead gives it) straight from a database row.
    For orjson to write, `sources`, `utm` and `score_factors` stay their stored JSON text;
    `decoded` gives them as Python values (GraphQL selects inside them)."""
    json_of = _json if decoded else _stored_json
    return {
        "id": row["id"],
        "object": "lead",
        "name": row["name"],
        "phone": row["phone"],
        "email": row["email"],
        "source": row["source"],
        "source_raw": row["source_raw"],
        "sources": json_of(row["sources"]),
        "utm": json_of(row["utm"]),
        "budget_aed": row["budget_aed"],
        "bedrooms": row["bedrooms"],
        "area": row["area"],
        "handover_horizon": row["handover_horizon"],
        "status": row["status"],
        "assigned_to": row["assigned_to"],
        "do_not_contact": {**_NO_DNC, **(_json(row["do_not_contact"]) or {})},
        "score": row["score"],
        "score_factors": json_of(row["score_factors"]),
        "created_at": row.get("created_at_text") or _stamp(row["created_at"]),
        "updated_at": row.get("updated_at_text") or _stamp(row["updated_at"]),
    }
