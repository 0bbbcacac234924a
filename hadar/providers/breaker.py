"""A circuit breaker per (tenant, provider), so one agency's dead provider costs its callers
nothing and never slows anyone else.

    closed     --5 consecutive outages-->  open (30 s: every call refused, no network call)
    open       --30 s later, next call-->  half_open (that call is the one probe;
                                           concurrent callers are still refused)
    half_open  --probe answers-->          closed
               --probe is an outage-->     open again for 30 s

Only outages count (`ProviderError.outage`: timeouts, refused connections, 5xx, unreadable
answers). A clean refusal (a Meta 132001, a Stripe decline, a rate limit) proves the provider
is up, so it resets the count like a success.

State is in process, per worker: with N workers a dead provider costs at most 5 calls per
worker before each opens, which is the point (no network call while open) without a shared
store on the hot path. Time comes from `hadar.clock.now()`, so tests move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from hadar import clock
from hadar.providers.ports import ProviderError

T = TypeVar("T")
State = Literal["closed", "open", "half_open"]

THRESHOLD = 5
COOL_OFF = timedelta(seconds=30)


@dataclass
class CircuitBreaker:
    """One provider account's breaker. `call` runs an operation through it."""

    provider: str
    threshold: int = THRESHOLD
    cool_off: timedelta = COOL_OFF
    failures: int = 0
    opened_at: datetime | None = None
    probing: bool = False

    @property
    def state(self) -> State:
        """closed, open (refusing), or half_open (cool-off over: a probe may go or is going)."""
        if self.opened_at is None:
            return "closed"
        return "open" if clock.now() - self.opened_at < self.cool_off else "half_open"

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` unless the breaker refuses; record how it went."""
        state = self.state
        if state == "open" or (state == "half_open" and self.probing):
            raise self._refusal()
        probe = state == "half_open"
        if probe:
            self.probing = True
        try:
            result = await operation()
        except ProviderError as error:
            self._record(outage=error.outage)
            raise
        except BaseException:
            # Cancelled or a bug of ours: says nothing about the provider. Free the probe slot.
            if probe:
                self.probing = False
            raise
        self._record(outage=False)
        return result

    def _record(self, *, outage: bool) -> None:
        self.probing = False
        if not outage:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = clock.now()  # a failed probe re-opens for a full cool-off

    def _refusal(self) -> ProviderError:
        return ProviderError(
            kind="unavailable",
            provider=self.provider,
            code="circuit_open",
            title=f"{self.provider} is failing; calls are paused for a few seconds.",
        )


class BreakerRegistry:
    """The breakers of one worker process, created on first use."""

    def __init__(self, *, threshold: int = THRESHOLD, cool_off: timedelta = COOL_OFF) -> None:
        self._threshold = threshold
        self._cool_off = cool_off
        self._breakers: dict[tuple[str, str], CircuitBreaker] = {}

    def get(self, *, tenant: str, provider: str) -> CircuitBreaker:
        """The breaker for this tenant's account at this provider."""
        key = (tenant, provider)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(provider, self._threshold, self._cool_off)
            self._breakers[key] = breaker
        return breaker

    async def call(self, *, tenant: str, provider: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` through the (tenant, provider) breaker."""
        return await self.get(tenant=tenant, provider=provider).call(operation)

    def states(self) -> dict[tuple[str, str], State]:
        """{(tenant, provider): state} for metrics."""
        return {key: breaker.state for key, breaker in self._breakers.items()}

    def reset(self) -> None:
        """Forget every breaker (tests; a tenant's credentials replaced)."""
        self._breakers.clear()


registry = BreakerRegistry()


def states() -> dict[tuple[str, str], State]:
    """The process registry's {(tenant, provider): state}, for `/metrics`."""
    return registry.states()
