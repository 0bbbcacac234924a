"""The shared store behind rate limits and idempotency locks.

One small interface, two implementations: `MemoryStore` (one process, the embedded default)
and `RedisStore` (every instance shares it). A Redis outage surfaces as StoreUnavailable so
callers decide between failing closed and degrading to the local store.

The store also keeps each tenant's key epoch token (hadar.platform.keycache): a random string
replaced whenever the tenant's keys, limits or allow-lists change. `hit_current` checks it in
the same round trip as the rate-limit decision and, when it is not the token a cached key was
verified under, consumes nothing and answers the current token instead. A missing token
(Redis restarted or flushed) is created afresh, so it never matches what a cache holds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("hadar.store")
WINDOW = 60.0  # seconds: limits are "requests a minute"
# Tolerance, as a fraction of one emission interval, for float rounding: at today's epoch a
# double has ~0.24 us resolution and a burst of `limit` additions drifts by up to limit ulps,
# which a fixed 1e-9 s epsilon does not absorb (a growth key got 299 of its 300).
SLACK = 0.01


EPOCH_TTL = 86_400.0  # seconds an unchanged epoch token lives (a lapse only costs a re-verify)
HELD_PREFIX = "~"  # a token while a change is in flight: nothing is cached under it


MAX_CONNECTIONS = 16  # Redis connections a process keeps (a command takes ~0.1 ms of one)
POOL_WAIT = 1.0  # seconds a call may wait for a free connection before the store is "down"
COMMAND_TIMEOUT = 0.5  # seconds a command (or a connect) may take before the store is "down"


class StoreUnavailable(Exception):
    """The shared store did not answer."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # Unix seconds when the budget is whole again
    retry_after: int  # whole seconds >= 1 when refused, else 0

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers (and Retry-After when refused) this verdict answers with."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


@dataclass(frozen=True)
class Checked:
    """What the rate-limit script answered while checking a tenant's key epoch token."""

    verdict: Verdict | None  # None: the token was not the expected one; nothing was consumed
    epoch: str  # the token as the script saw it (created when it was missing)

    @property
    def held(self) -> bool:
        """A change is committing: nothing may be remembered under this token."""
        return self.epoch.startswith(HELD_PREFIX)


def new_epoch() -> str:
    return secrets.token_hex(12)


def _gcra(tat: float, now: float, limit: int, cost: int = 1) -> tuple[bool, float, Verdict]:
    """Generic cell rate algorithm: a smooth limit of `limit` per WINDOW with a full burst.
    A request costing `cost` units is admitted whole or refused whole."""
    interval = WINDOW / limit
    tat = max(tat, now)
    new_tat = tat + interval * cost
    if new_tat - now > WINDOW + interval * SLACK:
        retry = max(1, math.ceil(new_tat - WINDOW - now))
        remaining = max(0, math.floor((WINDOW - (tat - now)) / interval + SLACK))
        return False, tat, Verdict(False, limit, remaining, math.ceil(tat), retry)
    remaining = max(0, math.floor((WINDOW - (new_tat - now)) / interval + SLACK))
    return True, new_tat, Verdict(True, limit, remaining, math.ceil(new_tat), 0)


class Store(Protocol):
    async def hit(self, key: str, limit: int, cost: int = 1) -> Verdict: ...
    async def hit_current(
        self, key: str, limit: int, cost: int, *, tenant_id: str, expected: str
    ) -> Checked: ...
    async def hold_epoch(self, tenant_id: str, ttl: float) -> None: ...
    async def replace_epoch(self, tenant_id: str) -> None: ...
    async def acquire(self, key: str, ttl: float) -> str | None: ...
    async def release(self, key: str, token: str) -> None: ...
    async def ping(self) -> None: ...
    async def aclose(self) -> None: ...


class MemoryStore:
    """In-process store: exact for one process, which is what the embedded default runs."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now  # injectable (tests drive the GCRA math without sleeping)
        self._tats: dict[str, float] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._epochs: dict[str, str] = {}

    async def hit(self, key: str, limit: int, cost: int = 1) -> Verdict:
        now = self._now()
        _allowed, tat, verdict = _gcra(self._tats.get(key, 0.0), now, limit, cost)
        self._tats[key] = tat
        if len(self._tats) > 100_000:
            self._tats = {k: v for k, v in self._tats.items() if v > now}
        return verdict

    async def hit_current(
        self, key: str, limit: int, cost: int, *, tenant_id: str, expected: str
    ) -> Checked:
        epoch = self._epochs.setdefault(tenant_id, new_epoch())
        if expected and epoch != expected:
            return Checked(None, epoch)
        return Checked(await self.hit(key, limit, cost), epoch)

    async def hold_epoch(self, tenant_id: str, ttl: float) -> None:
        self._epochs[tenant_id] = HELD_PREFIX + new_epoch()  # one process: no expiry needed

    async def replace_epoch(self, tenant_id: str) -> None:
        self._epochs[tenant_id] = new_epoch()

    async def acquire(self, key: str, ttl: float) -> str | None:
        now = self._now()
        held = self._locks.get(key)
        if held is not None and held[1] > now:
            return None
        token = secrets.token_hex(8)
        self._locks[key] = (token, now + ttl)
        return token

    async def release(self, key: str, token: str) -> None:
        held = self._locks.get(key)
        if held is not None and held[0] == token:
            del self._locks[key]

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


# KEYS[2], when given, is the tenant's epoch token (created from ARGV[6] when missing, e.g.
# after a flush): unless ARGV[5] is empty or equal to it, nothing is consumed and {2, token} is
# the answer; otherwise the verdict carries the token as its fourth element.
_GCRA_LUA = """
local epoch = false
if KEYS[2] then
  epoch = redis.call('GET', KEYS[2])
  if not epoch then
    epoch = ARGV[6]
    redis.call('SET', KEYS[2], epoch, 'PX', ARGV[7])
  end
  if ARGV[5] ~= '' and epoch ~= ARGV[5] then return {2, epoch} end
end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local slack = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = window / limit
local tat = tonumber(redis.call('GET', key) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
if new_tat - now > window + interval * slack then
  return {0, string.format('%.17g', tat), string.format('%.17g', now), epoch}
end
-- %.17g, not tostring(): tostring keeps 14 significant digits (0.1 ms at today's epoch)
local ttl = math.ceil((new_tat - now) * 1000) + 1000
redis.call('SET', key, string.format('%.17g', new_tat), 'PX', ttl)
return {1, string.format('%.17g', new_tat), string.format('%.17g', now), epoch}
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisStore:
    """Redis-backed store: one Lua round trip per rate-limit decision, atomic across instances."""

    def __init__(self, url: str) -> None:
        # A bounded pool: a burst of requests waits briefly for one of its connections instead
        # of opening one each. A hundred connects at once, each allowed 0.5 s on a busy loop,
        # timed out in part and sent those requests to the local fallback budget. The bound
        # is our semaphore, not redis-py's BlockingConnectionPool: that one takes a condition
        # and two timers per command, about a third of a rate-limit round trip's CPU.
        pool = aioredis.ConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            socket_timeout=None,  # each command is bounded as a whole in _call
            socket_connect_timeout=COMMAND_TIMEOUT,
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._redis = aioredis.Redis.from_pool(pool)
        self._gcra = self._redis.register_script(_GCRA_LUA)
        self._release = self._redis.register_script(_RELEASE_LUA)

    async def _call(self, coro_factory):  # type: ignore[no-untyped-def]
        slots = self._slots
        try:
            if slots.locked():  # all connections busy: wait a little for one
                async with asyncio.timeout(POOL_WAIT):
                    await slots.acquire()
            else:
                await slots.acquire()  # free: taken without suspending
            try:
                # A command cut off here is dropped with its connection (redis-py disconnects
                # on cancellation), so no later command reads its late answer.
                async with asyncio.timeout(COMMAND_TIMEOUT):
                    return await coro_factory()
            finally:
                slots.release()
        except (TimeoutError, RedisError, OSError) as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from exc

    async def hit(self, key: str, limit: int, cost: int = 1) -> Verdict:
        answer = await self._call(
            lambda: self._gcra(keys=[f"hadar:rl:{key}"], args=[limit, WINDOW, SLACK, cost])
        )
        return self._verdict(answer[:3], limit, cost)

    async def hit_current(
        self, key: str, limit: int, cost: int, *, tenant_id: str, expected: str
    ) -> Checked:
        keys = [f"hadar:rl:{key}", _epoch_key(tenant_id)]
        args: list[str | int | float] = [limit, WINDOW, SLACK, cost, expected]
        args += [new_epoch(), int(EPOCH_TTL * 1000)]
        answer = await self._call(lambda: self._gcra(keys=keys, args=args))
        if int(answer[0]) == 2:
            return Checked(None, answer[1].decode())
        return Checked(self._verdict(answer[:3], limit, cost), answer[3].decode())

    async def hold_epoch(self, tenant_id: str, ttl: float) -> None:
        held = HELD_PREFIX + new_epoch()
        await self._call(lambda: self._redis.set(_epoch_key(tenant_id), held, px=int(ttl * 1000)))

    async def replace_epoch(self, tenant_id: str) -> None:
        fresh, ttl = new_epoch(), int(EPOCH_TTL * 1000)
        await self._call(lambda: self._redis.set(_epoch_key(tenant_id), fresh, px=ttl))

    @staticmethod
    def _verdict(answer: list, limit: int, cost: int) -> Verdict:  # type: ignore[type-arg]
        allowed, tat_s, now_s = answer
        tat, now = float(tat_s), float(now_s)
        if int(allowed) == 1:
            interval = WINDOW / limit
            remaining = max(0, math.floor((WINDOW - (tat - now)) / interval + SLACK))
            return Verdict(True, limit, remaining, math.ceil(tat), 0)
        interval = WINDOW / limit
        retry = max(1, math.ceil(tat + interval * cost - WINDOW - now))
        remaining = max(0, math.floor((WINDOW - (tat - now)) / interval + SLACK))
        return Verdict(False, limit, remaining, math.ceil(tat), retry)

    async def acquire(self, key: str, ttl: float) -> str | None:
        token = secrets.token_hex(8)
        ok = await self._call(
            lambda: self._redis.set(f"hadar:lock:{key}", token, nx=True, px=int(ttl * 1000))
        )
        return token if ok else None

    async def release(self, key: str, token: str) -> None:
        await self._call(lambda: self._release(keys=[f"hadar:lock:{key}"], args=[token]))

    async def ping(self) -> None:
        await self._call(self._redis.ping)

    async def aclose(self) -> None:
        await self._redis.aclose()


def _epoch_key(tenant_id: str) -> str:
    return f"hadar:epoch:{tenant_id}"
