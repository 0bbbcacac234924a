"""Applying the migrations in `migrations/` (Tortoise's native migrations), once at a time."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from tortoise import Tortoise
from tortoise.migrations.api.migrate import migrate as tortoise_migrate

from hadar.db import POSTGRES_SCHEMES, ensure_reachable, postgres_dsn, tortoise_config

_LOCK_ID = 0x4861646172  # "Hadar": serialises migrations of concurrent `hadar serve` starts


@contextlib.asynccontextmanager
async def _exclusive(database_url: str) -> AsyncIterator[None]:
    if not database_url.startswith(POSTGRES_SCHEMES):
        yield
        return
    import asyncpg

    conn = await asyncpg.connect(postgres_dsn(database_url))
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        yield
    finally:
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()


async def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    await ensure_reachable(database_url)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    async with _exclusive(database_url):
        try:
            await tortoise_migrate(config=tortoise_config(database_url), progress=progress)
        finally:
            await Tortoise.close_connections()
    return applied
