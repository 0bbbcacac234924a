"""Serialising check-then-write transactions on SQLite, which has no row locks to take.

Tortoise begins SQLite transactions with a plain (deferred) BEGIN: a transaction only takes
the database write lock at its first write. Two processes could then both read "the slot is
free" (or "the next number is 7") before either writes. Calling `take_write_lock` first makes
the transaction behave like BEGIN IMMEDIATE. PostgreSQL needs none of this: its constraints
and row locks decide, so the call does nothing there.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient


async def take_write_lock(conn: BaseDBAsyncClient) -> None:
    """On SQLite, take the database write lock now, inside `conn`'s transaction; else nothing."""
    if conn.capabilities.dialect == "sqlite":
        # A write matching no row still takes SQLite's RESERVED lock until the transaction ends.
        await conn.execute_query("UPDATE tenants SET id = id WHERE 0")
