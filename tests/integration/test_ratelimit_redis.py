"""Rate limits against a real redis-server (and the same HTTP checks on the in-process store),
and a Redis outage in the middle of a test: fail-closed routes 503, leads keep working, limits
apply again once Redis is back, and Hadar is never restarted."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from hadar.platform.store import RedisStore
from tests.conftest import lead_body
from tests.integration.conftest import AppClient, PrivateRedis, bearer, mint, shared_redis_url

LEADS = "/api/v1/leads"


@pytest.fixture
async def redis_store() -> Any:
    store = RedisStore(shared_redis_url())
    yield store
    await store.aclose()


def stores() -> list[Any]:
    return [pytest.param("memory", id="memory"), pytest.param("redis", id="redis")]


def url_for(kind: str) -> str | None:
    return shared_redis_url() if kind == "redis" else None


async def test_redis_burst_of_100_gives_exactly_60(redis_store: RedisStore) -> None:
    key = f"test:{uuid.uuid4().hex}"
    before = time.time()
    verdicts = await asyncio.gather(*(redis_store.hit(key, 60) for _ in range(100)))
    assert sum(v.allowed for v in verdicts) == 60
    allowed = [v for v in verdicts if v.allowed]
    refused = [v for v in verdicts if not v.allowed]
    assert sorted(v.remaining for v in allowed) == list(range(60))
    assert all(v.limit == 60 for v in verdicts)
    assert all(v.remaining == 0 and v.retry_after >= 1 for v in refused)
    assert all(before + 55 <= v.reset_at <= before + 62 for v in refused)


@pytest.mark.parametrize("limit", [300, 1000])
async def test_redis_burst_of_bigger_plans(redis_store: RedisStore, limit: int) -> None:
    key = f"test:{uuid.uuid4().hex}"
    started = time.monotonic()
    verdicts = [await redis_store.hit(key, limit) for _ in range(limit + 50)]
    elapsed = time.monotonic() - started
    allowed = sum(v.allowed for v in verdicts)
    # Exactly the limit, plus the cells that drained while the burst was being sent.
    assert limit <= allowed <= limit + math.ceil(elapsed * limit / 60) + 1
    assert verdicts[0].remaining == limit - 1


async def test_redis_values_keep_full_precision(redis_store: RedisStore) -> None:
    key = f"test:{uuid.uuid4().hex}"
    await redis_store.hit(key, 600)
    client = aioredis.from_url(shared_redis_url())
    try:
        stored = (await client.get(f"hadar:rl:{key}")).decode()
        ttl = await client.pttl(f"hadar:rl:{key}")
    finally:
        await client.aclose()
    assert len(stored.split(".")[1]) >= 5  # not Lua's 14-significant-digit tostring()
    assert 0 < ttl <= 1100  # expires once the budget is whole again


async def test_http_burst_starter_redis(app_client: AppClient) -> None:
    _app, client = await app_client(redis_url=shared_redis_url())
    minted = await mint(plan="starter")
    now = time.time()
    responses = await asyncio.gather(
        *(client.get(LEADS, headers=bearer(minted.token)) for _ in range(100))
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 60 and codes.count(429) == 40, codes
    for r in responses:
        assert r.headers["x-ratelimit-limit"] == "60"
        if r.status_code == 429:
            assert r.json()["error"]["code"] == "rate_limited"
            assert r.headers["x-ratelimit-remaining"] == "0"
            assert int(r.headers["retry-after"]) >= 1
            assert now + 55 <= int(r.headers["x-ratelimit-reset"]) <= now + 62
        else:
            assert "retry-after" not in r.headers
    remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in responses if r.is_success)
    assert remaining == list(range(60))


async def test_steady_rate_is_never_limited_redis(
    app_client: AppClient, redis_store: RedisStore
) -> None:
    _app, client = await app_client(redis_url=shared_redis_url())
    minted = await mint(rate_limit=600)
    # Drain the budget first, so a steady 10 req/s is exactly the refill rate.
    bucket = f"key:{minted.key.id}"
    while (await redis_store.hit(bucket, 600)).allowed:
        pass
    loop = asyncio.get_running_loop()
    start = loop.time()
    statuses = []
    for n in range(1, 31):  # ~3 s at 10 req/s, each sent no earlier than its slot
        await asyncio.sleep(max(0.0, start + n * 0.1 - loop.time()))
        r = await client.get(LEADS, headers=bearer(minted.token))
        statuses.append(r.status_code)
        assert r.headers["x-ratelimit-limit"] == "600"
        assert int(r.headers["x-ratelimit-remaining"]) <= 2  # the budget really is drained
    assert statuses == [200] * 30
    # ... and the budget is still tight: one more right away is refused.
    extra = [await client.get(LEADS, headers=bearer(minted.token)) for _ in range(3)]
    assert 429 in [r.status_code for r in extra]


@pytest.mark.parametrize("kind", stores())
async def test_headers_on_2xx_4xx_and_429(app_client: AppClient, kind: str) -> None:
    _app, client = await app_client(redis_url=url_for(kind), address=f"10.1.{kind == 'redis'}.9")
    minted = await mint(rate_limit=8)
    h = bearer(minted.token)
    now = time.time()

    def check(r: httpx.Response, status: int, limit: int, remaining: int) -> None:
        assert r.status_code == status, r.text
        assert r.headers["x-ratelimit-limit"] == str(limit)
        assert r.headers["x-ratelimit-remaining"] == str(remaining)
        reset = int(r.headers["x-ratelimit-reset"])
        assert now <= reset <= now + 62

    check(await client.get(LEADS, headers=h), 200, 8, 7)
    check(await client.post(LEADS, json=lead_body(), headers=h), 201, 8, 6)
    check(await client.get(f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ", headers=h), 404, 8, 5)
    check(await client.post(LEADS, json={"name": ""}, headers=h), 400, 8, 4)
    check(await client.get(f"{LEADS}?limit=0", headers=h), 400, 8, 3)
    viewer = await mint(role="viewer", rate_limit=8)
    check(await client.post(LEADS, json=lead_body(), headers=bearer(viewer.token)), 403, 8, 7)
    for remaining in (2, 1, 0):
        check(await client.get(LEADS, headers=h), 200, 8, remaining)
    limited = await client.get(LEADS, headers=h)
    check(limited, 429, 8, 0)
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert int(limited.headers["x-ratelimit-reset"]) >= now + 50  # whole again in ~a minute
    # Unauthenticated answers are metered by address (limit 1000), and carry the headers too.
    for r in (
        await client.get(LEADS),
        await client.get(LEADS, headers=bearer("hdr_test_" + "A" * 32)),
        await client.get("/api/v1/no-such-route"),
    ):
        assert r.status_code in (401, 404)
        assert r.headers["x-ratelimit-limit"] == "1000"
        assert int(r.headers["x-ratelimit-remaining"]) < 1000


@pytest.mark.parametrize("kind", stores())
async def test_unauthenticated_limited_per_address(app_client: AppClient, kind: str) -> None:
    tag = uuid.uuid4().int % 250
    app, client = await app_client(redis_url=url_for(kind), address=f"10.2.{tag}.1")
    app.state.runtime.anon_limit = 5
    codes = [(await client.get(LEADS)).status_code for _ in range(7)]
    assert codes == [401] * 5 + [429] * 2
    # Guessing keys does not get around it either.
    r = await client.get(LEADS, headers=bearer("hdr_test_" + "B" * 32))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    _other_app, other = await app_client(redis_url=url_for(kind), address=f"10.2.{tag}.2")
    _other_app.state.runtime.anon_limit = 5
    assert (await other.get(LEADS)).status_code == 401


@pytest.mark.parametrize("kind", stores())
async def test_per_tenant_override(app_client: AppClient, kind: str) -> None:
    _app, client = await app_client(redis_url=url_for(kind))
    minted = await mint(plan="growth", rate_limit=5)
    codes = [(await client.get(LEADS, headers=bearer(minted.token))).status_code for _ in range(8)]
    assert codes == [200] * 5 + [429] * 3
    growth = await mint(plan="growth")
    r = await client.get(LEADS, headers=bearer(growth.token))
    assert r.headers["x-ratelimit-limit"] == "300"


async def test_redis_outage_mid_test(
    app_client: AppClient, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = await app_client(redis_url=private_redis.url, address="10.3.0.1")
    admin = await mint()
    h = bearer(admin.token)

    assert (await client.post("/api/v1/api_keys", json={}, headers=h)).status_code == 201
    assert (await client.get("/readyz")).status_code == 200

    private_redis.stop()
    caplog.set_level(logging.ERROR, logger="hadar.guard")
    # Fail-closed routes refuse rather than run unmetered.
    for method, path in (("POST", "/api/v1/api_keys"), ("GET", "/api/v1/api_keys")):
        r = await client.request(method, path, json={} if method == "POST" else None, headers=h)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "service_unavailable"
    assert (await client.get("/readyz")).status_code == 503
    # Leads keep working, idempotency included (lock in the local store, record in the DB).
    key = str(uuid.uuid4())
    body = lead_body()
    created = await client.post(
        LEADS, json=body, headers=bearer(admin.token, **{"Idempotency-Key": key})
    )
    assert created.status_code == 201, created.text
    replay = await client.post(
        LEADS, json=body, headers=bearer(admin.token, **{"Idempotency-Key": key})
    )
    assert replay.content == created.content and replay.headers["idempotent-replayed"] == "true"
    listed = await client.get(LEADS, headers=h)
    assert listed.status_code == 200 and listed.headers["x-ratelimit-limit"] == "1000"
    # ... and are still limited, by this process alone while Redis is away.
    starter = await mint(plan="starter")
    codes = [
        (await client.get(LEADS, headers=bearer(starter.token))).status_code for _ in range(70)
    ]
    assert codes.count(200) == 60 and codes.count(429) == 10
    outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_logs) == 1  # once per interval, not once per request

    private_redis.start()  # same port; Hadar is not restarted
    deadline = time.monotonic() + 5
    while (await client.post("/api/v1/api_keys", json={}, headers=h)).status_code != 201:
        assert time.monotonic() < deadline, "fail-closed route did not recover"
        await asyncio.sleep(0.1)
    assert (await client.get("/readyz")).status_code == 200
    # Limits apply again, and through Redis (its counter exists there).
    fresh = await mint(plan="starter")
    responses = await asyncio.gather(
        *(client.get(LEADS, headers=bearer(fresh.token)) for _ in range(100))
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 60 and codes.count(429) == 40
    direct = aioredis.from_url(private_redis.url)
    try:
        assert await direct.exists(f"hadar:rl:key:{fresh.key.id}") == 1
    finally:
        await direct.aclose()
    assert app.state.runtime.guard.shared


class _SlowProxy:
    """A TCP proxy to the test Redis that holds back the answers to the next `hold` commands
    by `delay` seconds each (a Redis stalled by a slow disk or a long script)."""

    def __init__(self, target: str) -> None:
        parsed = httpx.URL(target.replace("redis://", "http://"))
        self.host, self.port = parsed.host, parsed.port or 6379
        self.db = parsed.path or "/0"
        self.hold, self.delay = 0, 0.0
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}{self.db}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, slow: bool) -> None:
            try:
                while data := await src.read(65536):
                    if slow and self.hold > 0:
                        self.hold -= 1
                        await asyncio.sleep(self.delay)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))


async def test_a_stalled_redis_is_down_within_the_command_timeout_and_no_answer_is_misread() -> (
    None
):
    from hadar.platform.store import COMMAND_TIMEOUT, StoreUnavailable

    proxy = _SlowProxy(shared_redis_url())
    async with proxy as url:
        store = RedisStore(url)
        try:
            key = f"stall:{uuid.uuid4().hex}"
            assert (await store.hit(key, 60)).remaining == 59  # connected, answering
            proxy.hold, proxy.delay = 1, COMMAND_TIMEOUT + 0.5
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.hit(key, 60)
            assert time.monotonic() - started < COMMAND_TIMEOUT + 0.4
            # The stalled answer arrives later on a connection that was dropped: the next
            # command gets its own answer (a late reply read as this one would say 58 or 57).
            lock = await store.acquire(f"stall-lock:{uuid.uuid4().hex}", 5.0)
            assert isinstance(lock, str)
            await asyncio.sleep(0.6)
            verdict = await store.hit(key, 60)
            assert verdict.allowed and verdict.remaining in (57, 58)
        finally:
            await store.aclose()


async def test_a_burst_shares_a_bounded_set_of_connections() -> None:
    from hadar.platform.store import MAX_CONNECTIONS

    proxy = _SlowProxy(shared_redis_url())
    async with proxy as url:
        store = RedisStore(url)
        try:
            key = f"burst:{uuid.uuid4().hex}"
            verdicts = await asyncio.gather(*(store.hit(key, 1000) for _ in range(200)))
            assert all(v.allowed for v in verdicts)
            assert sorted(v.remaining for v in verdicts) == list(range(800, 1000))
            assert 1 <= proxy.connections <= MAX_CONNECTIONS
        finally:
            await store.aclose()
