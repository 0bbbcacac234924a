"""Waking workers the moment a delivery becomes due: PostgreSQL LISTEN on a connection of its own.

Migration 0008's trigger NOTIFYs channel `hadar_webhooks` whenever a delivery becomes claimable
now (inserted by the outbox, released, retried by hand); PostgreSQL delivers it at commit, so a
worker claims it within a round trip instead of at its next poll. The listener only makes
workers faster, never correct: while it is not connected (SQLite, PostgreSQL restarting, the
connection cut) `listening` is False and the worker polls at its normal interval; while it is,
the worker still looks now and then (a lapsed lease of a dead worker notifies nobody).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tortoise import Tortoise

from hadar.db import lone_connection

log = logging.getLogger("hadar.webhooks")

CHANNEL = "hadar_webhooks"  # the trigger of migrations/0008_webhook_notify.py
RECONNECT_CAP = 30.0  # seconds between reconnection attempts, at most
CONNECT_TIMEOUT = 10.0


def connect_options() -> dict[str, Any] | None:
    """How to open a connection like the default Tortoise one; None when it is not PostgreSQL."""
    client: Any = Tortoise.get_connection("default")
    if client.capabilities.dialect != "postgres":
        return None
    return lone_connection(
        {
            **(getattr(client, "extra", {}) or {}),
            "host": client.host,
            "port": client.port,
            "user": client.user,
            "password": client.password,
            "database": client.database,
            "server_settings": getattr(client, "server_settings", None),
            "schema": getattr(client, "schema", None),
        }
    )


class Listener:
    """Calls `wake` on every notification of CHANNEL, reconnecting (capped backoff) when the
    connection drops, until `close()`."""

    def __init__(self, wake: Callable[[], None], options: dict[str, Any]) -> None:
        self._wake = wake
        self._options = options
        self._lost = asyncio.Event()
        self._closing = False
        self._connection: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        """True while notifications can arrive (so a long idle wait is safe)."""
        conn = self._connection
        return conn is not None and not conn.is_closed() and not self._lost.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hadar-webhook-listener")

    async def _run(self) -> None:
        import asyncpg

        retry = 0
        while not self._closing:
            failed: Exception | None = None
            try:
                self._lost.clear()
                conn = await asyncio.wait_for(
                    asyncpg.connect(**self._options), timeout=CONNECT_TIMEOUT
                )
                self._connection = conn
                conn.add_termination_listener(lambda _conn: self._dropped())
                await conn.add_listener(CHANNEL, self._notified)
                retry = 0
                # Anything that became due while we were not listening: look once now.
                self._wake()
                await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failed = exc
            finally:
                await self._discard()
            if failed is not None and not self._closing:
                retry += 1
                delay = min(RECONNECT_CAP, 2.0 ** (retry - 1))
                log.warning(
                    "webhook wake-ups: cannot listen (%s); polling, retry %d in %.0f s",
                    *(type(failed).__name__, retry, delay),
                )
                await asyncio.sleep(delay)

    def _notified(self, *_args: object) -> None:
        self._wake()

    def _dropped(self) -> None:
        if not self._closing:
            log.warning("webhook wake-ups: the listening connection closed; polling meanwhile")
        self._lost.set()
        self._wake()  # the worker picks its polling interval again

    async def _discard(self) -> None:
        conn, self._connection = self._connection, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2.0)

    async def close(self) -> None:
        """Stop listening and close the connection."""
        self._closing = True
        self._lost.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._discard()
