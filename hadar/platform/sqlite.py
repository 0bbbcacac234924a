"""The SQLite engine: Tortoise's SQLite client, with statements run on the event loop's thread
and reads outside a transaction on a second, read-only connection.

SQLite runs on one writing connection, and a transaction holds it (Tortoise's lock) from BEGIN
to COMMIT. aiosqlite hands every statement to a thread and back; under load each hand-off
waits for the thread to get the GIL, then for the event loop to reach its callback behind
every other request's work, all while the lock is held. A new lead took six hand-offs (COMMIT
and BEGIN to open, three statements, COMMIT), and those waits, not SQLite, set how many writes
a second one process made (issue 12: the process was half idle at 280 leads a second).

A statement itself costs microseconds, so this client runs statements where they are asked
for, on the event loop's thread, and hands to its thread only what may wait:
- the COMMIT of a transaction that wrote (its fsync, with the GIL released, while the loop
  serves other requests);
- a statement that found another process's write lock: the connection's own busy timeout is
  0, so it is refused at once, having done nothing, and is retried on the thread, which waits
  up to BUSY_TIMEOUT_MS while the loop goes on.
A SELECT outside any transaction runs on the reader (`Client`), so it never waits for a
transaction holding the writing connection, even one waiting for a provider's answer.

A long read (a large export) now holds the loop for its length instead of the thread; every
request needing the database waited for it either way, as there was one connection.

Named as the engine of SQLite URLs in `hadar.db.tortoise_config`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

BUSY_TIMEOUT_MS = 5000  # how long a statement waits for another process's write lock
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES
    )


class _Waiting:
    """The busy timeout, for a statement retried on the connection's own thread."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def __exit__(self, *exc: object) -> None:
        self.db.execute("PRAGMA busy_timeout = 0")


class Connection(aiosqlite.Connection):
    """aiosqlite's connection, running statements on the event loop's thread; its own thread
    takes only the COMMIT of a write and a statement that has to wait for a lock."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.handoffs = 0  # calls sent to the thread, ever (what this engine exists to cut)

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:  # connecting, or closed: aiosqlite's own path
            return await super()._execute(fn, *args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        call, db = partial(fn, *args, **kwargs), self._conn

        def wait_then_run() -> Any:
            with _Waiting(db):
                return call()

        return await self.on_thread(wait_then_run)

    async def on_thread(self, fn: Callable[[], Any]) -> Any:
        """`fn()` on the connection's thread (for what may wait: the event loop runs on)."""
        self.handoffs += 1
        return await super()._execute(fn)


class Transaction(SqliteTransactionWrapper):
    """A Tortoise SQLite transaction whose BEGIN is a plain statement and whose COMMIT of
    a write goes to the connection's thread."""

    _connection: Connection
    _changes_at_begin = 0

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(Transaction(self))

    async def begin(self) -> None:
        db = self._connection._conn
        try:
            if db.in_transaction:  # left open by someone: Tortoise commits it first
                await self._connection.commit()
            await self._connection.execute("BEGIN")
        except sqlite3.OperationalError as exc:  # pragma: no cover
            raise TransactionManagementError(exc) from exc
        self._changes_at_begin = db.total_changes

    async def commit(self) -> None:
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        self._finalized = True
        db = self._connection._conn
        if db.total_changes == self._changes_at_begin:  # nothing written: nothing to fsync
            db.commit()
            return

        def commit() -> None:
            # One call, so the thread waits for the GIL only to start and to answer. In WAL
            # mode a COMMIT never waits for a lock; a rollback-journal file's may.
            try:
                db.commit()
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                with _Waiting(db):
                    db.commit()

        try:
            await self._connection.on_thread(commit)
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.rollback()  # nothing of a transaction that failed to commit is kept
            raise (IntegrityError if isinstance(exc, sqlite3.IntegrityError) else OperationalError)(
                exc
            ) from exc


def _is_read(query: str) -> bool:
    return query.lstrip()[:6].upper() == "SELECT"


class Client(SqliteClient):
    """Tortoise's SQLite client on `Connection`, with `Transaction` for its transactions, and a
    second, read-only connection for the SELECTs run outside any transaction.

    The one writing connection is held by a transaction from BEGIN to COMMIT, and some hold it
    across a provider's call (a WhatsApp send waits for Meta inside its transaction). A read
    outside a transaction sees only committed rows either way, so it need not wait for that:
    it runs at once on the reader (WAL: a reader never waits for the writer and sees every
    transaction committed before it started). A transaction's own reads stay on its connection,
    which sees its uncommitted writes.
    """

    _connection: Connection | None  # type: ignore[assignment]
    _reader: sqlite3.Connection | None = None

    async def create_connection(self, with_db: bool) -> None:
        if not self._connection:
            path = self.filename
            # aiosqlite.connect(path, isolation_level=None), on our Connection; used from the
            # loop's thread and its own, never both at once (Tortoise's lock serialises).
            connection = Connection(
                lambda: sqlite3.connect(
                    path, isolation_level=None, timeout=0, check_same_thread=False
                )
            )
            await connection
            connection._conn.row_factory = sqlite3.Row
            for pragma, val in self.pragmas.items():
                cursor = await connection.execute(f"PRAGMA {pragma}={val}")
                await cursor.close()
            self._connection = connection
            await self._post_connect()

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(Transaction(self), self._lock)

    def _read_connection(self) -> sqlite3.Connection | None:
        if self._reader is None and self._connection is not None and self.filename != ":memory:":
            uri = Path(self.filename).resolve().as_uri() + "?mode=ro"
            reader = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0)
            reader.row_factory = sqlite3.Row
            reader.execute("PRAGMA query_only = 1")
            self._reader = reader
        return self._reader

    def _read(self, query: str, values: list | None) -> list[Any] | None:
        """The rows of a SELECT from the reader; None to take the writing connection instead
        (no reader, not a SELECT, or the reader was refused for a moment)."""
        if not _is_read(query):
            return None
        reader = self._read_connection()
        if reader is None:
            return None
        query = query.replace("\x00", "'||CHAR(0)||'")
        self.log.debug("%s: %s", query, values)
        try:
            return reader.execute(query, values or []).fetchall()
        except sqlite3.OperationalError as exc:
            if _busy(exc):  # e.g. WAL recovery after another process crashed
                return None
            raise OperationalError(exc) from exc

    async def execute_query(self, query: str, values: list | None = None) -> tuple[int, Any]:
        rows = self._read(query, values)
        if rows is not None:
            return len(rows), rows
        return await super().execute_query(query, values)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        rows = self._read(query, values)
        if rows is not None:
            return [dict(row) for row in rows]
        return await super().execute_query_dict(query, values)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await super().close()


client_class = Client
