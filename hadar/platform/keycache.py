"""Verified API keys remembered by one process, valid only while their tenant's key epoch
is unchanged.

Every change to a tenant's keys or limits bumps `tenants.key_epoch` in the transaction of the
change (hadar.services.keys). A cached verification is used only after reading the current
epoch and finding it equal to the one read with the key, so a revocation committed anywhere
(another worker, another instance on the same file, the CLI) is refused on the very next
request. On SQLite the epoch is read through a private connection (SELECT only) in autocommit
mode (WAL: a few µs, no thread hop, never blocked by a writer); where no such cheap read
exists (PostgreSQL, `:memory:`) nothing is cached and every request reads the key afresh.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hadar import clock
from hadar.domain.scope import Scope

log = logging.getLogger("hadar.keycache")
MAX_ENTRIES = 10_000
TTL = 300.0  # seconds: a bound on memory churn, not on correctness (the epoch is)


class Verified(Protocol):
    """What a verification returns (hadar.services.keys.VerifiedKey)."""

    @property
    def scope(self) -> Scope: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def epoch(self) -> int: ...


Verifier = Callable[[str], Awaitable[Verified]]  # raises for an unknown, revoked, expired key


@dataclass(frozen=True)
class _Entry:
    scope: Scope
    expires_at: datetime
    epoch: int
    stored_at: float


class SqliteEpochs:
    """Reads a tenant's current key epoch straight from the SQLite file."""

    _SQL = "SELECT COALESCE(key_epoch, 0) FROM tenants WHERE id = ?"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def current(self, tenant_id: str) -> int | None:
        """The epoch, or None when it cannot be read (the caller then reads the key)."""
        try:
            if self._conn is None:
                uri = self._path.resolve().as_uri() + "?mode=rw"  # never creates a file
                self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0.05)
            row = self._conn.execute(self._SQL, (tenant_id,)).fetchone()
        except sqlite3.Error as exc:
            log.warning("key epoch unreadable (%s); reading keys afresh", type(exc).__name__)
            self.close()
            return None
        return int(row[0]) if row else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class KeyCache:
    """authenticate(token) answered from memory while the tenant's key epoch holds."""

    def __init__(self, verify: Verifier, epochs: SqliteEpochs | None) -> None:
        self._verify = verify
        self._epochs = epochs
        self._entries: dict[bytes, _Entry] = {}

    async def authenticate(self, token: str) -> Scope:
        """The scope of `token`: from memory when still valid, else verified afresh."""
        if self._epochs is None:
            return (await self._verify(token)).scope
        # A plain digest as the key (no token kept in memory); HMAC is the verifier's job.
        slot = hashlib.sha256(token.encode()).digest()
        entry = self._entries.get(slot)
        if entry is not None and self._fresh(entry):
            return entry.scope
        self._entries.pop(slot, None)
        verified = await self._verify(token)  # raises for unknown, revoked or expired keys
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[slot] = _Entry(
            verified.scope, verified.expires_at, verified.epoch, time.monotonic()
        )
        return verified.scope

    def _fresh(self, entry: _Entry) -> bool:
        if time.monotonic() - entry.stored_at > TTL or entry.expires_at <= clock.now():
            return False
        assert self._epochs is not None
        return self._epochs.current(entry.scope.tenant_id) == entry.epoch

    def close(self) -> None:
        if self._epochs is not None:
            self._epochs.close()
