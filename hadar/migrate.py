"""Applying the migrations in `migrations/` (Tortoise's native migrations), once at a time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from hadar import secretbox
from hadar.db import POSTGRES_SCHEMES, connect_options, ensure_reachable, tortoise_config
from hadar.domain.webhooks import SEALED_COLUMNS, secret_context

_LOCK_ID = 0x4861646172  # "Hadar": serialises migrations of concurrent `hadar serve` starts


@contextlib.asynccontextmanager
async def _exclusive(database_url: str) -> AsyncIterator[None]:
    if not database_url.startswith(POSTGRES_SCHEMES):
        yield
        return
    import asyncpg

    conn = await asyncpg.connect(**connect_options(database_url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        yield
    finally:
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()


async def seal_plaintext_secrets() -> int:
    """Seal every webhook secret still stored in plain text (rows from before 0003, or written
    by an older release during a rolling deploy); returns how many values changed. Idempotent."""
    # Raw SQL, like a data migration: the models are not usable in the migration context.
    conn = Tortoise.get_connection("default")
    postgres = conn.capabilities.dialect == "postgres"
    new, key, old = ("$1", "$2", "$3") if postgres else ("?", "?", "?")
    # Only constant identifiers are formatted into the SQL below; every value is a parameter.
    rows = await conn.execute_query_dict(
        f"SELECT id, {', '.join(SEALED_COLUMNS)} FROM webhook_endpoints"  # noqa: S608
    )
    sealed = 0
    for row in rows:
        for column in SEALED_COLUMNS:
            value = row[column]
            if value is None or secretbox.is_sealed(value):
                continue
            # Compare-and-set: a value rotated meanwhile (so already sealed) is left alone.
            changed, _ = await conn.execute_query(
                f"UPDATE webhook_endpoints SET {column} = {new}"  # noqa: S608
                f" WHERE id = {key} AND {column} = {old}",
                [
                    secretbox.seal(value, context=secret_context(row["id"], column)),
                    row["id"],
                    value,
                ],
            )
            sealed += changed
    return sealed


async def migrate(database_url: str) -> list[str]:
    """Apply pending migrations, then seal plaintext secrets; returns the migrations applied
    (empty when up to date)."""
    await ensure_reachable(database_url)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    async with _exclusive(database_url):
        try:
            await tortoise_migrate(config=tortoise_config(database_url), progress=progress)
            await seal_plaintext_secrets()
        finally:
            await Tortoise.close_connections()
    return applied
