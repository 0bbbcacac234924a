"""Idempotency keys, modelled on Stripe's: the first response is stored in the same database
transaction as its effect and replayed byte for byte; a different request under the same key,
or one that arrives while the first still runs, is a 409 conflict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.records import IdempotencyRecord
from hadar.domain.rows import as_datetime, fetch_sql
from hadar.domain.scope import Scope
from hadar.errors import Conflict, HadarError, ValidationError
from hadar.platform import fastsql
from hadar.platform.guard import Guard

TTL = timedelta(hours=24)
LOCK_TTL = 120.0
# Errors raised after execution began are remembered (a retry must not try again and succeed
# differently); rejections before execution (400, 401, 403, 429) and outages (5xx) are not.
STORED_CODES = frozenset({"not_found", "conflict", "outside_24h_window", "do_not_contact"})


@dataclass
class Outcome:
    status: int
    body: bytes
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # What a replay returns when it must differ from `body`: secrets shown once (a new API
    # key's token) are never written to the database, so their replay carries null instead.
    stored_body: bytes | None = None


def check_key(value: str | None) -> str | None:
    """The key when present and 1-255 printable ASCII characters; ValidationError otherwise."""
    if value is None:
        return None
    if not 1 <= len(value) <= 255 or not all(" " <= c <= "~" for c in value):
        raise ValidationError(
            "Idempotency-Key must be 1-255 printable characters", field="Idempotency-Key"
        )
    return value


def fingerprint(method: str, path: str, canonical_body: bytes) -> str:
    return hashlib.sha256(
        method.encode() + b"\n" + path.encode() + b"\n" + canonical_body
    ).hexdigest()


_LOOKUP = (
    "SELECT id, method, path, request_hash, status, body, expires_at FROM idempotency_records"
    " WHERE tenant_id = {} AND environment = {} AND key = {}"
)
_FORGET = "DELETE FROM idempotency_records WHERE id = {}"


async def _lookup(scope: Scope, key: str) -> dict[str, Any] | None:
    rows = await fetch_sql(_LOOKUP, [scope.tenant_id, scope.environment, key])
    record = rows[0] if rows else None
    if record is not None and as_datetime(record["expires_at"]) <= clock.now():
        await fetch_sql(_FORGET, [record["id"]])
        return None
    return record


def _replay(record: dict[str, Any], method: str, path: str, digest: str) -> Outcome:
    if (record["method"], record["path"], record["request_hash"]) != (method, path, digest):
        raise Conflict(
            "Idempotency-Key was already used with a different method, path or body",
            field="Idempotency-Key",
        )
    return Outcome(record["status"], bytes(record["body"]), replayed=True)


async def _save(scope: Scope, key: str, method: str, path: str, digest: str, out: Outcome) -> bool:
    """Store the answer under the key in one statement; False when the key is taken."""
    at = clock.now()
    return await fastsql.insert_unless_conflict(
        IdempotencyRecord,
        {
            "tenant_id": scope.tenant_id,
            "environment": scope.environment,
            "key": key,
            "method": method,
            "path": path,
            "request_hash": digest,
            "status": out.status,
            "body": out.body if out.stored_body is None else out.stored_body,
            "created_at": at,
            "expires_at": at + TTL,
        },
    )


async def perform(
    *,
    guard: Guard,
    scope: Scope,
    key: str | None,
    method: str,
    path: str,
    canonical_body: bytes,
    run: Callable[[], Awaitable[Outcome]],
    render_error: Callable[[HadarError], Outcome],
    fail_closed: bool = False,
) -> Outcome:
    """Run a mutation once per key: in one transaction with its stored response."""
    if key is None:
        async with in_transaction():
            return await _run_keeping(run, render_error)
    digest = fingerprint(method, path, canonical_body)
    lock = f"idem:{scope.tenant_id}:{scope.environment}:{key}"
    busy = Conflict(
        "a request with this Idempotency-Key is still being processed; retry shortly",
        field="Idempotency-Key",
        headers={"Retry-After": "1"},
    )
    token = await guard.acquire(lock, LOCK_TTL, fail_closed=fail_closed)
    if token is None:
        record = await _lookup(scope, key)
        if record is not None:
            return _replay(record, method, path, digest)
        raise busy
    try:
        record = await _lookup(scope, key)
        if record is not None:
            return _replay(record, method, path, digest)
        try:
            async with in_transaction():
                outcome = await _run_keeping(run, render_error)
                await _save_or_busy(scope, key, method, path, digest, outcome, busy)
            return outcome
        except HadarError as err:
            if err.code not in STORED_CODES or err is busy:
                raise
            outcome = render_error(err)
            await _save_or_busy(scope, key, method, path, digest, outcome, busy)
            return outcome
    finally:
        await guard.release(lock, token)


async def _run_keeping(
    run: Callable[[], Awaitable[Outcome]], render_error: Callable[[HadarError], Outcome]
) -> Outcome:
    """`run()`; an error that keeps its effects (a provider was called) is answered and
    committed with them instead of rolling back."""
    try:
        return await run()
    except HadarError as err:
        if not err.keep_effects:
            raise
        return render_error(err)


async def _save_or_busy(
    scope: Scope, key: str, method: str, path: str, digest: str, out: Outcome, busy: Conflict
) -> None:
    # The key's uniqueness is the only conflict the insert tolerates (its id is generated):
    # another request stored this key first, its lock not visible to us. ON CONFLICT DO
    # NOTHING leaves the operation's transaction usable, so no savepoint is needed.
    if not await _save(scope, key, method, path, digest, out):
        raise busy


async def purge_expired() -> int:
    """Delete records past their 24 hours; returns how many."""
    return await IdempotencyRecord.filter(expires_at__lte=clock.now()).delete()
