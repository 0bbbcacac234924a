"""The delivery queue in the database: claim due deliveries, record attempts, release claims.

A claim sets `lease_until` and a per-claim token in `claimed_by`. On PostgreSQL candidates are
picked with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on or take each
other's rows. On SQLite (no row locks) the same conditional UPDATE — only rows still due and
unleased — is the guard: whatever a racing worker got first simply does not match. Only rows
carrying our token afterwards are ours. Finishing is conditional on the token too, so a worker
whose lease lapsed (and whose delivery another worker took over) cannot overwrite its state.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise import Tortoise
from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.webhooks import Delivery, DeliveryAttempt, DeliveryStatus, Event, WebhookEndpoint

# Waits before retry n (after the n-th failure), as the API reference documents.
SCHEDULE = (1.0, 5.0, 30.0, 300.0, 1800.0, 7200.0, 43200.0)


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    duration_ms: int
    error: str | None = None
    response_excerpt: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def _due(now: Any) -> Q:
    return Q(status=DeliveryStatus.PENDING.value, next_attempt_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def _is_postgres() -> bool:
    return Tortoise.get_connection("default").capabilities.dialect == "postgres"


async def claim(*, token: str, limit: int, lease: float) -> list[Delivery]:
    """Claim up to `limit` due deliveries under `token` for `lease` seconds, with their event
    and endpoint loaded."""
    if limit <= 0:
        return []
    now = clock.now()
    until = now + timedelta(seconds=lease)
    if _is_postgres():
        return await _claim_postgres(token=token, limit=limit, now=now, until=until)
    ids = (
        await Delivery.filter(_due(now))
        .order_by("next_attempt_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return []
    await Delivery.filter(_due(now), id__in=ids).update(lease_until=until, claimed_by=token)
    return list(
        await Delivery.filter(id__in=ids, claimed_by=token).select_related("event", "endpoint")
    )


def _columns(model: type[Model], alias: str, prefix: str) -> str:
    return ", ".join(f'{alias}.{c} AS "{prefix}{c}"' for c in model._meta.db_fields)


def _split(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)}


@functools.cache
def _claim_sql() -> str:
    # One statement, one round trip: pick (skipping rows another worker holds), lease, and read
    # each claimed delivery with its event and endpoint. Locked rows are re-checked against the
    # WHERE clause once the lock is ours, so a row finished meanwhile is not taken again.
    # Only the models' own column names are formatted in; every value is a parameter.
    return (
        "WITH picked AS (SELECT id FROM webhook_deliveries"  # noqa: S608
        " WHERE status = 'pending' AND next_attempt_at <= $1"
        " AND (lease_until IS NULL OR lease_until < $1)"
        " ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
        " claimed AS (UPDATE webhook_deliveries d SET lease_until = $3, claimed_by = $4"
        " FROM picked WHERE d.id = picked.id RETURNING d.*)"
        f" SELECT {_columns(Delivery, 'c', 'd__')}, {_columns(Event, 'e', 'e__')},"
        f" {_columns(WebhookEndpoint, 'w', 'w__')} FROM claimed c"
        " JOIN webhook_events e ON e.id = c.event_id"
        " JOIN webhook_endpoints w ON w.id = c.endpoint_id"
        " ORDER BY c.next_attempt_at"
    )


async def _claim_postgres(*, token: str, limit: int, now: Any, until: Any) -> list[Delivery]:
    rows = await Tortoise.get_connection("default").execute_query_dict(
        _claim_sql(), [now, limit, until, token]
    )
    claimed = []
    for row in rows:
        delivery = Delivery._init_from_db(**_split(row, "d__"))
        delivery.event = Event._init_from_db(**_split(row, "e__"))
        delivery.endpoint = WebhookEndpoint._init_from_db(**_split(row, "w__"))
        claimed.append(delivery)
    return claimed


def next_wait(failures: int, scale: float) -> float | None:
    """Seconds to wait after the `failures`-th failure; None once the schedule is spent."""
    if failures > len(SCHEDULE):
        return None
    return SCHEDULE[failures - 1] * scale


@dataclass(frozen=True)
class Finished:
    """One attempt to record: what `finish` takes, several at once for `finish_many`."""

    delivery: Delivery
    token: str
    result: AttemptResult
    terminal: bool = False


async def finish(
    *,
    delivery: Delivery,
    token: str,
    result: AttemptResult,
    backoff_scale: float,
    worker: str,
    terminal: bool = False,
) -> bool:
    """Record the attempt and move the delivery on (succeeded, retry later, or failed).
    False when the claim was lost meanwhile (the attempt is still recorded)."""
    done = Finished(delivery, token, result, terminal)
    (moved,) = await finish_many(done=[done], backoff_scale=backoff_scale, worker=worker)
    return moved


def _changes(done: Finished, now: Any, backoff_scale: float) -> dict[str, Any]:
    result = done.result
    changes: dict[str, Any] = {
        "last_status_code": result.status_code,
        "last_error": result.error,
        "updated_at": now,
    }
    if result.ok:
        changes.update(status=DeliveryStatus.SUCCEEDED.value, delivered_at=now, last_error=None)
    else:
        failures = done.delivery.failures + 1
        wait = None if done.terminal else next_wait(failures, backoff_scale)
        changes["failures"] = failures
        if wait is None:
            changes["status"] = DeliveryStatus.FAILED.value
        else:
            changes["next_attempt_at"] = now + timedelta(seconds=wait)
    return changes


async def finish_many(*, done: list[Finished], backoff_scale: float, worker: str) -> list[bool]:
    """`finish` for several attempts in one round trip on PostgreSQL (a worker records what
    completed while its previous write was in flight); one flag per attempt, in order."""
    now = clock.now()
    changes = [_changes(d, now, backoff_scale) for d in done]
    if _is_postgres():
        return await _finish_postgres(done, changes, worker)
    moved = []
    for d, change in zip(done, changes, strict=True):
        async with in_transaction():
            await DeliveryAttempt.create(
                delivery_id=d.delivery.id,
                attempted_at=now - timedelta(milliseconds=d.result.duration_ms),
                status_code=d.result.status_code,
                duration_ms=d.result.duration_ms,
                error=d.result.error,
                response_excerpt=d.result.response_excerpt,
                worker=worker,
            )
            updated = await Delivery.filter(id=d.delivery.id, claimed_by=d.token).update(
                attempt_count=F("attempt_count") + 1, lease_until=None, claimed_by=None, **change
            )
        moved.append(bool(updated))
    return moved


# One statement (one round trip, its own transaction) for the whole batch: every attempt is
# recorded whether or not its claim is still ours; a delivery moves on only if it is.
_FINISH_SQL = (
    "WITH r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[],"
    " $5::timestamptz[], $6::text[], $7::timestamptz[], $8::int[], $9::timestamptz[],"
    " $10::timestamptz[], $11::int[], $12::text[])"
    " AS r(id, token, status_code, error, updated_at, status, delivered_at, failures,"
    " next_attempt_at, attempted_at, duration_ms, excerpt)),"
    " moved AS (UPDATE webhook_deliveries d SET attempt_count = d.attempt_count + 1,"
    " last_status_code = r.status_code, last_error = r.error, lease_until = NULL,"
    " claimed_by = NULL, updated_at = r.updated_at, status = COALESCE(r.status, d.status),"
    " delivered_at = COALESCE(r.delivered_at, d.delivered_at),"
    " failures = COALESCE(r.failures, d.failures),"
    " next_attempt_at = COALESCE(r.next_attempt_at, d.next_attempt_at)"
    " FROM r WHERE d.id = r.id AND d.claimed_by = r.token RETURNING d.id),"
    " recorded AS (INSERT INTO webhook_delivery_attempts"
    " (delivery_id, attempted_at, status_code, duration_ms, error, response_excerpt, worker)"
    " SELECT id, attempted_at, status_code, duration_ms, error, excerpt, $13 FROM r)"
    " SELECT id FROM moved"
)


async def _finish_postgres(
    done: list[Finished], changes: list[dict[str, Any]], worker: str
) -> list[bool]:
    def column(name: str) -> list[Any]:
        return [c.get(name) for c in changes]

    rows = await Tortoise.get_connection("default").execute_query_dict(
        _FINISH_SQL,
        [
            [d.delivery.id for d in done],
            [d.token for d in done],
            column("last_status_code"),
            column("last_error"),
            column("updated_at"),
            column("status"),
            column("delivered_at"),
            column("failures"),
            column("next_attempt_at"),
            [
                c["updated_at"] - timedelta(milliseconds=d.result.duration_ms)
                for d, c in zip(done, changes, strict=True)
            ],
            [d.result.duration_ms for d in done],
            [d.result.response_excerpt for d in done],
            worker,
        ],
    )
    moved = {row["id"] for row in rows}
    return [d.delivery.id in moved for d in done]


async def release(tokens: list[str]) -> int:
    """Give claims back at once (graceful shutdown) so another worker can take them now."""
    if not tokens:
        return 0
    return await Delivery.filter(claimed_by__in=tokens, status=DeliveryStatus.PENDING.value).update(
        lease_until=None, claimed_by=None
    )
