"""GCRA math and locks of the in-process store (driven by an injected clock, never sleeping),
and the guard's fail-closed / degrade-to-local policy over a store that goes away."""

from __future__ import annotations

import logging
import math

import pytest

from hadar.errors import ServiceUnavailable
from hadar.platform.guard import Guard
from hadar.platform.store import MemoryStore, StoreUnavailable, Verdict, _gcra

T0 = 1_779_000_000.25  # an arbitrary wall-clock instant (not on a whole second)


class Clock:
    def __init__(self, at: float = T0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryStore:
    return MemoryStore(now=clock)


async def burst(store: MemoryStore, key: str, limit: int, n: int) -> list[Verdict]:
    return [await store.hit(key, limit) for _ in range(n)]


@pytest.mark.parametrize("limit", [60, 300, 1000, 7, 600, 1])
async def test_burst_allows_exactly_the_limit(store: MemoryStore, limit: int) -> None:
    verdicts = await burst(store, "k", limit, limit + 40)
    assert sum(v.allowed for v in verdicts) == limit
    assert all(v.allowed for v in verdicts[:limit])  # the first `limit`, then none
    assert [v.remaining for v in verdicts[:limit]] == list(range(limit - 1, -1, -1))


async def test_starter_burst_of_100_gives_60_and_headers(store: MemoryStore) -> None:
    verdicts = await burst(store, "k", 60, 100)
    assert sum(v.allowed for v in verdicts) == 60
    first, last_ok, refused = verdicts[0], verdicts[59], verdicts[60]
    assert (first.limit, first.remaining, first.retry_after) == (60, 59, 0)
    assert first.reset_at == math.ceil(T0 + 1)  # whole again once the one cell drains
    assert (last_ok.remaining, last_ok.reset_at) == (0, math.ceil(T0 + 60))
    assert not refused.allowed
    assert (refused.remaining, refused.retry_after) == (0, 1)
    assert refused.reset_at == math.ceil(T0 + 60)


async def test_steady_one_per_second_is_never_limited(store: MemoryStore, clock: Clock) -> None:
    # Ten minutes at exactly the plan's rate, from a full budget and from an empty one.
    for _ in range(600):
        assert (await store.hit("fresh", 60)).allowed
        clock.advance(1.0)
    await burst(store, "drained", 60, 60)
    assert not (await store.hit("drained", 60)).allowed
    for _ in range(600):
        clock.advance(1.0)
        verdict = await store.hit("drained", 60)
        assert verdict.allowed
        assert verdict.remaining == 0


async def test_smooth_not_a_fixed_window(store: MemoryStore, clock: Clock) -> None:
    await burst(store, "k", 60, 60)
    clock.advance(1.0)  # one cell has drained: exactly one more request
    assert [v.allowed for v in await burst(store, "k", 60, 2)] == [True, False]
    clock.advance(30.0)  # half a window: half the budget
    assert sum(v.allowed for v in await burst(store, "k", 60, 60)) == 30
    # A fixed window would hand out a fresh 60 at the next minute boundary; GCRA does not.
    clock.at = math.floor(clock.at / 60) * 60 + 60.001
    assert sum(v.allowed for v in await burst(store, "k", 60, 100)) < 60


async def test_retry_after_and_reset_are_honest(store: MemoryStore, clock: Clock) -> None:
    await burst(store, "k", 60, 60)
    refused = await store.hit("k", 60)
    assert not refused.allowed and refused.retry_after >= 1
    clock.advance(refused.retry_after)
    assert (await store.hit("k", 60)).allowed
    # At the reset instant the whole budget is back.
    exhausted = [v for v in await burst(store, "k", 60, 100) if v.allowed]
    assert exhausted == []
    clock.at = refused.reset_at + 1.0
    assert sum(v.allowed for v in await burst(store, "k", 60, 100)) == 60


async def test_growing_retry_after_for_a_slow_plan(store: MemoryStore) -> None:
    # limit 6/min: one cell per 10 s, so a refused request must wait up to 10 s.
    verdicts = await burst(store, "k", 6, 7)
    assert verdicts[-1].retry_after == 10


async def test_keys_are_independent(store: MemoryStore) -> None:
    await burst(store, "a", 60, 60)
    assert not (await store.hit("a", 60)).allowed
    assert (await store.hit("b", 60)).allowed


def test_gcra_is_pure() -> None:
    allowed, tat, verdict = _gcra(0.0, 100.0, 60)
    assert allowed and tat == 101.0 and verdict.remaining == 59
    allowed, tat, verdict = _gcra(160.0, 100.0, 60)
    assert not allowed and tat == 160.0 and verdict.retry_after == 1


async def test_locks(store: MemoryStore, clock: Clock) -> None:
    token = await store.acquire("l", 120)
    assert token
    assert await store.acquire("l", 120) is None
    await store.release("l", "not-the-token")
    assert await store.acquire("l", 120) is None
    await store.release("l", token)
    second = await store.acquire("l", 120)
    assert second and second != token
    clock.advance(121)  # an abandoned lock expires
    assert await store.acquire("l", 120)


class FlakyStore:
    """A shared store that can be switched off, as Redis going away."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.down = False
        self.calls = 0

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")

    async def hit(self, key: str, limit: int, cost: int = 1) -> Verdict:
        self.calls += 1
        self._check()
        return await self.inner.hit(key, limit)

    async def acquire(self, key: str, ttl: float) -> str | None:
        self._check()
        return await self.inner.acquire(key, ttl)

    async def release(self, key: str, token: str) -> None:
        self._check()
        await self.inner.release(key, token)

    async def ping(self) -> None:
        self._check()

    async def aclose(self) -> None:
        return None


async def test_guard_fail_closed_degrade_and_recover(caplog: pytest.LogCaptureFixture) -> None:
    shared = FlakyStore()
    guard = Guard(shared, shared=True)
    assert guard._local is not shared  # degrading needs a store of its own
    assert (await guard.meter("k", 60, fail_closed=True)).allowed
    assert await guard.ready()

    shared.down = True
    caplog.set_level(logging.ERROR, logger="hadar.guard")
    with pytest.raises(ServiceUnavailable):
        await guard.meter("k", 60, fail_closed=True)
    with pytest.raises(ServiceUnavailable):
        await guard.acquire("lock", 10, fail_closed=True)
    # Fail-open callers are still limited, by this process's own store.
    verdicts = [await guard.meter("solo", 60) for _ in range(100)]
    assert sum(v.allowed for v in verdicts) == 60
    token = await guard.acquire("lock", 10)
    assert token and await guard.acquire("lock", 10) is None
    await guard.release("lock", token)
    assert await guard.acquire("lock", 10)
    assert not await guard.ready()
    outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_logs) == 1  # once per interval, not once per request

    guard._last_outage_log -= 31  # the interval has passed: logged again
    await guard.meter("solo", 60)
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 2

    shared.down = False  # recovery needs nothing: the next call uses the shared store
    before = shared.calls
    assert (await guard.meter("k", 60, fail_closed=True)).allowed
    assert shared.calls == before + 1
    assert await guard.ready()


async def test_guard_release_survives_an_outage() -> None:
    shared = FlakyStore()
    guard = Guard(shared, shared=True)
    token = await guard.acquire("lock", 10)
    assert token
    shared.down = True
    await guard.release("lock", token)  # logged, not raised


def test_memory_guard_is_its_own_local_store() -> None:
    store = MemoryStore()
    assert Guard(store, shared=False)._local is store
