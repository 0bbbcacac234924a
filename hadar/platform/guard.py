"""Rate limits and locks over the shared store, with the fail-closed / degrade policy.

With Redis configured but unreachable, a fail-closed caller gets ServiceUnavailable; every
other caller is metered by this process's own MemoryStore (so it is still limited) and the
outage is logged once per interval, not per request. Recovery needs nothing: the next call
that reaches Redis uses it again.
"""

from __future__ import annotations

import logging
import time

from hadar.errors import ServiceUnavailable
from hadar.platform.store import Checked, MemoryStore, Store, StoreUnavailable, Verdict

log = logging.getLogger("hadar.guard")
OUTAGE_LOG_INTERVAL = 30.0
_LOCAL = "local:"


class Guard:
    def __init__(self, store: Store, *, shared: bool) -> None:
        self.store = store
        self.shared = shared
        self._local = store if isinstance(store, MemoryStore) else MemoryStore()
        self._last_outage_log = 0.0

    def _outage(self, exc: Exception, *, fail_closed: bool) -> None:
        now = time.monotonic()
        if now - self._last_outage_log >= OUTAGE_LOG_INTERVAL:
            self._last_outage_log = now
            log.error("shared store unreachable (%s); fail-closed routes answer 503", exc)
        if fail_closed:
            raise ServiceUnavailable("rate limiting is unavailable; this route fails closed")

    async def meter(
        self,
        key: str,
        limit: int,
        *,
        cost: int = 1,
        fail_closed: bool = False,
        unreachable: StoreUnavailable | None = None,
    ) -> Verdict:
        """Count `cost` units (one request, or one GraphQL root field each) against `key`'s
        per-minute `limit`; admitted whole or refused whole. `unreachable`: the shared store
        has just failed this request, so meter locally without asking it again."""
        try:
            if unreachable is not None:
                raise unreachable
            return await self.store.hit(key, limit, cost)
        except StoreUnavailable as exc:
            return await self._degraded(exc, key, limit, cost, fail_closed)

    async def _degraded(
        self, exc: StoreUnavailable, key: str, limit: int, cost: int, fail_closed: bool
    ) -> Verdict:
        verdict = await self._local.hit(key, limit, cost)
        try:
            self._outage(exc, fail_closed=fail_closed)
        except ServiceUnavailable as err:
            err.headers.update(verdict.headers())  # still metered, still told
            raise
        return verdict

    async def meter_current(
        self, key: str, limit: int, *, cost: int, tenant_id: str, expected: str
    ) -> Checked | StoreUnavailable:
        """meter(), only while `tenant_id`'s key epoch token is still `expected` ("": any),
        checked in the same round trip, and the token seen. The StoreUnavailable (nothing
        consumed, nothing logged yet) when the shared store did not answer: the caller then
        reads the key afresh and meters with `unreachable=` that error."""
        try:
            return await self.store.hit_current(
                key, limit, cost, tenant_id=tenant_id, expected=expected
            )
        except StoreUnavailable as exc:
            return exc

    async def hold_epoch(self, tenant_id: str, ttl: float) -> None:
        """Before a change to the tenant's keys commits: no instance caches a verification
        until replace_epoch (or `ttl` seconds). ServiceUnavailable while the shared store is
        down: a change every instance could not learn of is refused, not committed."""
        try:
            await self.store.hold_epoch(tenant_id, ttl)
        except StoreUnavailable as exc:
            self._outage(exc, fail_closed=False)
            raise ServiceUnavailable(
                "Redis is unreachable, so other instances could not learn of this key change;"
                " nothing was changed"
            ) from None

    async def replace_epoch(self, tenant_id: str) -> None:
        """After the change committed: every cached verification of the tenant is stale."""
        try:
            await self.store.replace_epoch(tenant_id)
        except StoreUnavailable as exc:  # the hold still stands: nothing cached until it lapses
            self._outage(exc, fail_closed=False)

    async def acquire(self, key: str, ttl: float, *, fail_closed: bool = False) -> str | None:
        """A lock token for `key`, or None while someone else holds it."""
        try:
            return await self.store.acquire(key, ttl)
        except StoreUnavailable as exc:
            self._outage(exc, fail_closed=fail_closed)
            token = await self._local.acquire(key, ttl)
            return _LOCAL + token if token else None

    async def release(self, key: str, token: str) -> None:
        if token.startswith(_LOCAL):
            await self._local.release(key, token.removeprefix(_LOCAL))
            return
        try:
            await self.store.release(key, token)
        except StoreUnavailable as exc:
            self._outage(exc, fail_closed=False)

    async def require_reachable(self) -> None:
        """For a fail-closed read that admission could not foresee (GraphQL `node(id: "key_…")`):
        ServiceUnavailable while the shared store is configured but down."""
        if not self.shared:
            return
        try:
            await self.store.ping()
        except StoreUnavailable as exc:
            self._outage(exc, fail_closed=True)

    async def ready(self) -> bool:
        try:
            await self.store.ping()
        except StoreUnavailable:
            return False
        return True
