"""With Redis, every instance remembers verified keys (hadar.platform.keycache.SharedKeyCache),
confirmed by the rate-limit script against the tenant's epoch token: two app instances over one
database and one Redis, a change made through one (or the CLI) holds on the very next request
of the other, through a Redis flush and while Redis is down."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from hadar.errors import InvalidApiKey
from hadar.platform.guard import Guard
from hadar.platform.keycache import SharedKeyCache
from hadar.platform.store import RedisStore
from hadar.services import keys
from hadar.settings import Settings
from tests.api.test_graphql_queries import counting_sql
from tests.conftest import SECRET
from tests.integration.conftest import (
    HADAR,
    AppClient,
    PrivateRedis,
    bearer,
    mint,
    shared_redis_url,
)

LEADS = "/api/v1/leads"
KEYS = "/api/v1/api_keys"


def _key_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM API_KEYS" in s]


async def _get(client: httpx.AsyncClient, token: str) -> tuple[httpx.Response, list[str]]:
    with counting_sql() as statements:
        r = await client.get(LEADS, headers=bearer(token))
    return r, _key_reads(statements)


async def _warm(client: httpx.AsyncClient, token: str) -> None:
    """A key's first request reads it (and remembers it); the next costs no SQL for the key."""
    r, _ = await _get(client, token)
    assert r.status_code == 200, r.text
    r, reads = await _get(client, token)
    assert r.status_code == 200, r.text
    assert reads == [], reads


async def _agent(client: httpx.AsyncClient, admin: str) -> dict[str, Any]:
    r = await client.post(KEYS, json={"role": "agent"}, headers=bearer(admin))
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def _cli(settings: Settings, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADAR_")}
    env.update(
        HADAR_DATABASE_URL=settings.database_url,
        HADAR_REDIS_URL=redis_url,
        HADAR_SECRET_KEY=SECRET,
    )
    return subprocess.run(
        [HADAR, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def _two_instances(
    app_client: AppClient, url: str | None = None
) -> tuple[Any, Any, str, dict[str, Any]]:
    """Two instances on one Redis (the shared one unless `url`): A, B (an agent key already
    remembered by B), the admin token and the agent key A minted."""
    url = url or shared_redis_url()
    _a, a = await app_client(redis_url=url)
    _b, b = await app_client(redis_url=url)
    admin = (await mint()).token
    agent = await _agent(a, admin)
    await _warm(b, agent["token"])
    return a, b, admin, agent


async def test_revocation_on_one_instance_holds_on_the_next_request_of_another(
    app_client: AppClient,
) -> None:
    a, b, admin, agent = await _two_instances(app_client)
    r = await a.post(f"{KEYS}/{agent['id']}/revoke", headers=bearer(admin))
    assert r.status_code == 200, r.text
    r, _ = await _get(b, agent["token"])
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_api_key"


async def test_an_allow_list_set_on_one_instance_holds_on_the_next_request_of_another(
    app_client: AppClient,
) -> None:
    a, b, admin, agent = await _two_instances(app_client)
    path = f"{KEYS}/{agent['id']}"
    r = await a.patch(path, json={"allowed_ips": ["203.0.113.7"]}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    r, _ = await _get(b, agent["token"])
    assert r.status_code == 403, r.text
    # Opened again: a refusal is never answered from memory either.
    r = await a.patch(path, json={"allowed_ips": []}, headers=bearer(admin))
    assert r.status_code == 200, r.text
    r, _ = await _get(b, agent["token"])
    assert r.status_code == 200, r.text


async def test_a_limit_set_by_the_cli_holds_on_the_next_request(
    app_client: AppClient, settings: Settings
) -> None:
    url = shared_redis_url()
    _b, b = await app_client(redis_url=url)
    minted = await mint(plan="enterprise")
    await _warm(b, minted.token)
    r, _ = await _get(b, minted.token)
    assert r.headers["x-ratelimit-limit"] == "1000"
    args = ["keys", "create", "--tenant", minted.tenant_slug, "--env", "test", "--role", "agent"]
    done = _cli(settings, url, *args, "--rate-limit", "7")
    assert done.returncode == 0, done.stderr[-2000:]
    r, reads = await _get(b, minted.token)
    assert r.status_code == 200, r.text
    assert r.headers["x-ratelimit-limit"] == "7"
    assert reads, "the changed key was not read afresh"
    codes = [(await b.get(LEADS, headers=bearer(minted.token))).status_code for _ in range(8)]
    assert 429 in codes  # metered with the new limit, not only told it


async def test_revocation_by_the_cli_holds_on_the_next_request(
    app_client: AppClient, settings: Settings
) -> None:
    url = shared_redis_url()
    _b, b = await app_client(redis_url=url)
    minted = await mint()
    await _warm(b, minted.token)
    done = _cli(settings, url, "keys", "revoke", minted.key.id)
    assert done.returncode == 0, done.stderr[-2000:]
    r, _ = await _get(b, minted.token)
    assert r.status_code == 401, r.text


async def test_a_flushed_redis_trusts_nothing_remembered(
    app_client: AppClient, private_redis: PrivateRedis
) -> None:
    a, b, admin, agent = await _two_instances(app_client, private_redis.url)
    direct = aioredis.from_url(private_redis.url)
    try:
        await direct.flushall()
        r, reads = await _get(b, agent["token"])  # the token is gone: read afresh
        assert r.status_code == 200 and reads, (r.text, reads)
        await _warm(b, agent["token"])
        r = await a.post(f"{KEYS}/{agent['id']}/revoke", headers=bearer(admin))
        assert r.status_code == 200, r.text
        await direct.flushall()  # the revocation's token is lost as well
    finally:
        await direct.aclose()
    r, _ = await _get(b, agent["token"])
    assert r.status_code == 401, r.text


async def test_while_redis_is_down_keys_are_read_from_the_database(
    app_client: AppClient, private_redis: PrivateRedis, settings: Settings
) -> None:
    a, b, admin, agent = await _two_instances(app_client, private_redis.url)
    private_redis.stop()
    try:
        r, reads = await _get(b, agent["token"])
        assert r.status_code == 200 and reads, (r.text, reads)  # metered locally, read afresh
        # A key change no instance could learn of is refused, through the API and the CLI ...
        r = await a.post(f"{KEYS}/{agent['id']}/revoke", headers=bearer(admin))
        assert r.status_code == 503, r.text
        done = _cli(settings, private_redis.url, "keys", "revoke", agent["id"])
        assert done.returncode != 0 and "Redis is unreachable" in done.stderr, done.stderr
        r, _ = await _get(b, agent["token"])
        assert r.status_code == 200, r.text
        # ... yet one committed anyway (straight to the database) is seen at once.
        await keys.revoke_key(key_id=agent["id"])
        r, _ = await _get(b, agent["token"])
        assert r.status_code == 401, r.text
    finally:
        private_redis.start()
    r, _ = await _get(b, agent["token"])
    assert r.status_code == 401, r.text
    await _warm(b, admin)


async def test_nothing_is_remembered_while_a_change_is_committing(
    app_client: AppClient,
) -> None:
    url = shared_redis_url()
    app, b = await app_client(redis_url=url)
    minted = await mint()
    guard: Guard = app.state.runtime.guard
    await guard.hold_epoch(minted.key.tenant_id, 60)
    for _ in range(3):
        r, reads = await _get(b, minted.token)
        assert r.status_code == 200 and reads, (r.text, reads)
    await guard.replace_epoch(minted.key.tenant_id)
    await _warm(b, minted.token)


async def test_a_key_read_just_before_its_revocation_is_not_trusted_after_it(
    app_client: AppClient,
) -> None:
    """The race: the script hands out token E, the key is read (still valid), the revocation
    commits and replaces E, and only then is the verification remembered (under E)."""
    url = shared_redis_url()
    _a, a = await app_client(redis_url=url)
    admin = (await mint()).token
    agent = await _agent(a, admin)
    store = RedisStore(url)
    reads = 0

    async def verify_then_revoke(token: str) -> keys.VerifiedKey:
        nonlocal reads
        verified = await keys.verify(token=token, secret=SECRET)
        reads += 1
        if reads == 2:  # the read after the script handed out E: revoked before it is kept
            r = await a.post(f"{KEYS}/{agent['id']}/revoke", headers=bearer(admin))
            assert r.status_code == 200, r.text
        return verified

    try:
        cache = SharedKeyCache(verify_then_revoke, Guard(store, shared=True))

        async def request() -> Any:
            admission = await cache.admit(agent["token"])
            return await cache.meter(
                admission, agent["token"], cost=1, fail_closed=False, check=lambda _s: None
            )

        scope, verdict = await request()  # admitted: it began before the revocation answered
        assert verdict.allowed and scope.key_id == agent["id"] and reads == 2
        with pytest.raises(InvalidApiKey):
            await request()
    finally:
        await store.aclose()
