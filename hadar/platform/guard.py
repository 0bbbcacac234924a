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
from hadar.platform.store import MemoryStore, Store, StoreUnavailable, Verdict

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
        self, key: str, limit: int, *, cost: int = 1, fail_closed: bool = False
    ) -> Verdict:
        """Count `cost` units (one request, or one GraphQL root field each) against `key`'s
        per-minute `limit`; admitted whole or refused whole."""
        try:
            return await self.store.hit(key, limit, cost)
        except StoreUnavailable as exc:
            verdict = await self._local.hit(key, limit, cost)
            try:
                self._outage(exc, fail_closed=fail_closed)
            except ServiceUnavailable as err:
                err.headers.update(verdict.headers())  # still metered, still told
                raise
            return verdict

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
