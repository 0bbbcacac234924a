"""Fixtures for the provider tests: each fake provider on its own loopback port, a client with
a short read timeout (so a scripted delay is a timeout without a 10 s wait), and a movable
clock for the circuit breaker and Stripe's signature tolerance."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hadar import clock
from hadar.providers import breaker
from hadar.providers.http import new_client
from tests.fakes import FakeMeta, FakeStripe, FakeUltraMsg, FakeVapi

FIXTURES = Path(__file__).parent / "fixtures"
READ_TIMEOUT = 0.3


def fixture(name: str) -> Any:
    """A sample payload from PROVIDERS.md, decoded."""
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


def fixture_bytes(name: str) -> bytes:
    """A sample payload from PROVIDERS.md, as the exact bytes on disk."""
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(connect=1.0, read=READ_TIMEOUT) as client:
        yield client


@pytest.fixture
async def meta() -> AsyncIterator[FakeMeta]:
    async with FakeMeta() as fake:
        yield fake


@pytest.fixture
async def ultramsg() -> AsyncIterator[FakeUltraMsg]:
    async with FakeUltraMsg() as fake:
        yield fake


@pytest.fixture
async def vapi() -> AsyncIterator[FakeVapi]:
    async with FakeVapi() as fake:
        yield fake


@pytest.fixture
async def stripe_fake() -> AsyncIterator[FakeStripe]:
    async with FakeStripe() as fake:
        yield fake


class Frozen:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.at = datetime(2026, 10, 14, 13, 0, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def frozen() -> Iterator[Frozen]:
    f = Frozen()
    clock.set_clock(lambda: f.at)
    yield f
    clock.set_clock(None)


@pytest.fixture(autouse=True)
def fresh_breakers() -> Iterator[None]:
    breaker.registry.reset()
    yield
    breaker.registry.reset()
