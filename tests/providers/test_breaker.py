"""The circuit breaker in front of a real adapter and fake: opens after 5 outages, refuses with
no network call (the fake's request count does not move), probes once after 30 s of injected
clock, and closes again on success."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hadar.providers import breaker
from hadar.providers.meta import MetaWhatsApp
from hadar.providers.ports import ProviderError, Sent
from tests.fakes import FakeMeta, Fault
from tests.fakes.meta import PHONE_NUMBER_ID, TOKEN
from tests.providers.conftest import READ_TIMEOUT, Frozen

TO = "+971501234567"


def send(client: httpx.AsyncClient, fake: FakeMeta, tenant: str = "t-acme") -> asyncio.Task[Sent]:
    port = MetaWhatsApp(
        client, base_url=fake.url, phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN
    )
    operation = breaker.registry.call(
        tenant=tenant, provider="meta", operation=lambda: port.send_text(to=TO, text="hi")
    )
    return asyncio.ensure_future(operation)


async def outcome(task: asyncio.Task[Sent]) -> str:
    try:
        await task
    except ProviderError as error:
        return str(error.code)
    return "sent"


async def open_it(client: httpx.AsyncClient, fake: FakeMeta, tenant: str = "t-acme") -> None:
    fake.fail_next(Fault(status=503), times=5)
    results = [await outcome(send(client, fake, tenant)) for _ in range(5)]
    assert results == ["http_503"] * 5


async def test_five_outages_open_it_and_then_nothing_reaches_the_provider(
    http_client: httpx.AsyncClient, meta: FakeMeta, frozen: Frozen
) -> None:
    fake_calls_before = len(meta.requests)
    await open_it(http_client, meta)
    assert breaker.states() == {("t-acme", "meta"): "open"}
    for _ in range(3):
        with pytest.raises(ProviderError) as caught:
            await send(http_client, meta)
        assert (caught.value.kind, caught.value.code) == ("unavailable", "circuit_open")
    assert len(meta.requests) == fake_calls_before + 5


async def test_four_outages_do_not_open_it_and_an_answer_resets_the_count(
    http_client: httpx.AsyncClient, meta: FakeMeta, frozen: Frozen
) -> None:
    meta.fail_next(Fault(status=500), times=4)
    meta.fail_with(132001)  # the provider answered: it is up
    meta.fail_next(Fault(status=500), times=4)
    results = [await outcome(send(http_client, meta)) for _ in range(9)]
    assert results == ["http_500"] * 4 + ["132001"] + ["http_500"] * 4
    assert breaker.states()[("t-acme", "meta")] == "closed"
    assert await outcome(send(http_client, meta)) == "sent"


async def test_a_rate_limit_or_an_expired_token_never_opens_it(
    http_client: httpx.AsyncClient, meta: FakeMeta, frozen: Frozen
) -> None:
    meta.fail_with(130429, times=3)
    meta.fail_with(190, times=3)
    results = [await outcome(send(http_client, meta)) for _ in range(6)]
    assert results == ["130429"] * 3 + ["190"] * 3
    assert breaker.states()[("t-acme", "meta")] == "closed"


async def test_one_probe_after_30_seconds_and_success_closes_it(
    http_client: httpx.AsyncClient, meta: FakeMeta, frozen: Frozen
) -> None:
    await open_it(http_client, meta)
    frozen.advance(29.9)
    assert await outcome(send(http_client, meta)) == "circuit_open"
    frozen.advance(0.1)
    assert breaker.states()[("t-acme", "meta")] == "half_open"
    before = len(meta.requests)
    meta.fail_next(Fault(status=None, delay=READ_TIMEOUT / 3))  # a slow but healthy probe
    probe = send(http_client, meta)
    await asyncio.sleep(0.02)  # the probe is in flight
    others = [send(http_client, meta) for _ in range(3)]
    assert [await outcome(t) for t in others] == ["circuit_open"] * 3
    assert await outcome(probe) == "sent"
    assert len(meta.requests) == before + 1
    assert breaker.states()[("t-acme", "meta")] == "closed"
    assert [await outcome(send(http_client, meta)) for _ in range(2)] == ["sent", "sent"]


async def test_a_failed_probe_reopens_for_another_30_seconds(
    http_client: httpx.AsyncClient, meta: FakeMeta, frozen: Frozen
) -> None:
    await open_it(http_client, meta)
    frozen.advance(30)
    meta.fail_next(Fault(status=None, delay=READ_TIMEOUT * 3))  # the probe times out
    assert await outcome(send(http_client, meta)) == "timeout"
    assert breaker.states()[("t-acme", "meta")] == "open"
    frozen.advance(29)
    before = len(meta.requests)
    assert await outcome(send(http_client, meta)) == "circuit_open"
    assert len(meta.requests) == before
    frozen.advance(1)
    assert await outcome(send(http_client, meta)) == "sent"


async def test_refused_connections_count_and_tenants_are_separate(
    http_client: httpx.AsyncClient, meta: FakeMeta, frozen: Frozen
) -> None:
    await open_it(http_client, meta, tenant="t-down")
    assert await outcome(send(http_client, meta, tenant="t-up")) == "sent"
    await meta.stop()
    results = [await outcome(send(http_client, meta, tenant="t-up")) for _ in range(6)]
    assert results == ["connect_error"] * 5 + ["circuit_open"]
    assert breaker.states() == {("t-down", "meta"): "open", ("t-up", "meta"): "open"}


async def test_a_cancelled_probe_frees_the_slot(frozen: Frozen) -> None:
    gate = asyncio.Event()

    async def outage() -> None:
        raise ProviderError(kind="unavailable", provider="meta", code="timeout", outage=True)

    async def hang() -> None:
        await gate.wait()

    async def ok() -> str:
        return "ok"

    one = breaker.registry.get(tenant="t", provider="meta")
    for _ in range(5):
        with pytest.raises(ProviderError):
            await one.call(outage)
    frozen.advance(30)
    probe = asyncio.ensure_future(one.call(hang))
    await asyncio.sleep(0)
    with pytest.raises(ProviderError):
        await one.call(ok)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert await one.call(ok) == "ok"
    assert one.state == "closed"
