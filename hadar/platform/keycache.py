"""Verified API keys remembered by one process, valid only while their tenant's key epoch
is unchanged.

With Redis (`SharedKeyCache`, any database) the epoch is a random token per tenant in Redis,
held while a change commits and replaced after it (hadar.platform.epochs). A verification is
remembered under a token read *before* the key was read from the database, and every request
answered from memory is confirmed by the rate-limit script itself: it meters only while the
token is still that one, else consumes nothing and answers the current token, and the key is
read afresh and metered with what the database says now. So a revocation, a new limit or
allow-list holds on the very next request on every instance, for one Redis round trip and no
SQL. The race:

    request reads token E ... change commits, token becomes F ... request reads the key

whatever the request read is remembered under E, which F has already retired: its next use is
refused by the script and read afresh. A missing token (Redis restarted or flushed) is created
afresh, so it matches nothing remembered; while Redis does not answer nothing remembered is
trusted and every key is read from the database. A key's first request reads it, learns the
token from the script and reads it once more to remember; later ones cost no SQL.

Without Redis (`KeyCache`), every change to a tenant's keys or limits bumps `tenants.key_epoch`
in the transaction of the change (hadar.services.keys). A cached verification is used only
after reading the current epoch and finding it equal to the one read with the key, so a
revocation committed anywhere (another worker, another instance on the same file, the CLI) is
refused on the very next request. On SQLite the epoch is read through the engine's read-only
connection (WAL: a few µs, no thread hop, never blocked by a writer);
where no such cheap read exists (PostgreSQL, `:memory:`) nothing is cached and every request
reads the key afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tortoise.exceptions import OperationalError

from hadar import clock
from hadar.domain.rows import fetch_sql
from hadar.domain.scope import Scope
from hadar.errors import InvalidApiKey
from hadar.platform.guard import Guard
from hadar.platform.store import Checked, StoreUnavailable, Verdict

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
    epoch: int | str  # the database's counter (KeyCache) or the shared store's token
    stored_at: float


class SqliteEpochs:
    """Reads a tenant's current key epoch from the SQLite file, through the engine's read-only
    connection (hadar.platform.sqlite): no thread hop, never blocked by a writer."""

    _SQL = "SELECT COALESCE(key_epoch, 0) AS epoch FROM tenants WHERE id = {}"

    async def current(self, tenant_id: str) -> int | None:
        """The epoch, or None when it cannot be read (the caller then reads the key)."""
        try:
            rows = await fetch_sql(self._SQL, [tenant_id])
        except OperationalError as exc:
            log.warning("key epoch unreadable (%s); reading keys afresh", type(exc).__name__)
            return None
        return int(rows[0]["epoch"]) if rows else None


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
        if entry is not None and await self._fresh(entry):
            return entry.scope
        self._entries.pop(slot, None)
        verified = await self._verify(token)  # raises for unknown, revoked or expired keys
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[slot] = _Entry(
            verified.scope, verified.expires_at, verified.epoch, time.monotonic()
        )
        return verified.scope

    async def _fresh(self, entry: _Entry) -> bool:
        if time.monotonic() - entry.stored_at > TTL or entry.expires_at <= clock.now():
            return False
        assert self._epochs is not None
        return await self._epochs.current(entry.scope.tenant_id) == entry.epoch


def rate_key(scope: Scope) -> str:
    """The rate-limit bucket of a key."""
    return f"key:{scope.key_id}"


@dataclass(frozen=True)
class Admission:
    """A key's scope as admission found it, confirmed when the request is metered."""

    scope: Scope
    expires_at: datetime
    slot: bytes
    epoch: str | None  # from memory: the token it is remembered under; None: read just now


class SharedKeyCache:
    """Verified keys confirmed by the rate-limit round trip against their tenant's epoch token
    in the shared store (see the module docstring)."""

    def __init__(self, verify: Verifier, guard: Guard) -> None:
        self._verify = verify
        self._guard = guard
        self._entries: dict[bytes, _Entry] = {}  # _Entry.epoch: the token, here a str

    async def authenticate(self, token: str) -> Scope:
        """The scope of `token`, read from the database (for a caller that does not meter)."""
        return (await self._verify(token)).scope

    async def admit(self, token: str, *, afresh: bool = False) -> Admission:
        """The scope of `token`: from memory (meter() confirms it) or read now."""
        slot = hashlib.sha256(token.encode()).digest()
        entry = self._entries.get(slot)
        if entry is not None and not afresh and _usable(entry):
            return Admission(entry.scope, entry.expires_at, slot, epoch=str(entry.epoch))
        self._entries.pop(slot, None)
        verified = await self._verify(token)  # raises for unknown, revoked or expired keys
        return Admission(verified.scope, verified.expires_at, slot, epoch=None)

    async def meter(
        self,
        admission: Admission,
        token: str,
        *,
        cost: int,
        fail_closed: bool,
        check: Callable[[Scope], None],
    ) -> tuple[Scope, Verdict]:
        """Meter the request as `admission`'s scope, confirmed in the same round trip when it
        came from memory; read afresh (and passed through `check`) when it had changed. The
        scope the request was metered as, and the verdict."""
        scope = admission.scope
        checked = await self._check(scope, cost, admission.epoch or "")
        if isinstance(checked, Checked) and checked.verdict is None:
            # Changed since it was remembered: read afresh (after the token that says so).
            self._entries.pop(admission.slot, None)
            verified = await self._verify(token)
            scope = verified.scope
            check(scope)
            checked = await self._check(scope, cost, checked.epoch)
            if isinstance(checked, Checked) and checked.verdict is not None:
                self._remember(admission.slot, verified, checked)
            elif isinstance(checked, Checked):  # changed again: good for this request only
                checked = await self._check(scope, cost, "")
        elif isinstance(checked, Checked) and admission.epoch is None and not checked.held:
            # Read before the token: remember what a read after it says (the next request's).
            with contextlib.suppress(InvalidApiKey):
                self._remember(admission.slot, await self._verify(token), checked)
        if isinstance(checked, StoreUnavailable):  # trust nothing remembered
            self._entries.pop(admission.slot, None)
            if admission.epoch is not None and scope is admission.scope:
                scope = (await self._verify(token)).scope
                check(scope)
            verdict = await self._guard.meter(
                rate_key(scope),
                scope.rate_limit,
                cost=cost,
                fail_closed=fail_closed,
                unreachable=checked,
            )
            return scope, verdict
        assert checked.verdict is not None
        return scope, checked.verdict

    async def _check(self, scope: Scope, cost: int, expected: str) -> Checked | StoreUnavailable:
        return await self._guard.meter_current(
            rate_key(scope),
            scope.rate_limit,
            cost=cost,
            tenant_id=scope.tenant_id,
            expected=expected,
        )

    def _remember(self, slot: bytes, verified: Verified, checked: Checked) -> None:
        """Keep `verified` (read after `checked` saw the token) under that token."""
        if checked.held:  # a change is committing: keep nothing until it is announced
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[slot] = _Entry(
            verified.scope, verified.expires_at, checked.epoch, time.monotonic()
        )


def _usable(entry: _Entry) -> bool:
    return time.monotonic() - entry.stored_at <= TTL and entry.expires_at > clock.now()
