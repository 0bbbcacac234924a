"""Creating and dropping throwaway test databases."""

from __future__ import annotations

import contextlib
import os

import asyncpg


def _split(url: str) -> tuple[str, str]:
    dsn = "postgresql://" + url.split("://", 1)[1]
    base, _, name = dsn.rpartition("/")
    return base, name


async def create_database(url: str) -> None:
    if url.startswith("sqlite://"):
        await drop_database(url)
        return
    base, name = _split(url)
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").split("?")[0]
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path + suffix)
        return
    base, name = _split(url)
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
