"""The delivery queue in the database: claim due deliveries, record attempts, release claims.

A claim sets `lease_until` and a per-claim token in `claimed_by`. On PostgreSQL candidates are
picked with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on or take each
other's rows. On SQLite (no row locks) the same conditional UPDATE — only rows still due and
unleased — is the guard: whatever a racing worker got first simply does not match. Only rows
carrying our token afterwards are ours. Finishing is conditional on the token too, so a worker
whose lease lapsed (and whose delivery another worker took over) cannot overwrite its state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise import Tortoise
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.webhooks import Delivery, DeliveryAttempt, DeliveryStatus

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
        async with in_transaction():
            ids = (
                await Delivery.filter(_due(now))
                .order_by("next_attempt_at")
                .limit(limit)
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
            )
            if not ids:
                return []
            await Delivery.filter(_due(now), id__in=ids).update(lease_until=until, claimed_by=token)
    else:
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


def next_wait(failures: int, scale: float) -> float | None:
    """Seconds to wait after the `failures`-th failure; None once the schedule is spent."""
    if failures > len(SCHEDULE):
        return None
    return SCHEDULE[failures - 1] * scale


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
    now = clock.now()
    changes: dict[str, Any] = {
        "attempt_count": F("attempt_count") + 1,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "lease_until": None,
        "claimed_by": None,
        "updated_at": now,
    }
    if result.ok:
        changes.update(status=DeliveryStatus.SUCCEEDED.value, delivered_at=now, last_error=None)
    else:
        failures = delivery.failures + 1
        wait = None if terminal else next_wait(failures, backoff_scale)
        changes["failures"] = failures
        if wait is None:
            changes["status"] = DeliveryStatus.FAILED.value
        else:
            changes["next_attempt_at"] = now + timedelta(seconds=wait)
    async with in_transaction():
        await DeliveryAttempt.create(
            delivery_id=delivery.id,
            attempted_at=now - timedelta(milliseconds=result.duration_ms),
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
            response_excerpt=result.response_excerpt,
            worker=worker,
        )
        updated = await Delivery.filter(id=delivery.id, claimed_by=token).update(**changes)
    return bool(updated)


async def release(tokens: list[str]) -> int:
    """Give claims back at once (graceful shutdown) so another worker can take them now."""
    if not tokens:
        return 0
    return await Delivery.filter(claimed_by__in=tokens, status=DeliveryStatus.PENDING.value).update(
        lease_until=None, claimed_by=None
    )
