"""Verified keys are remembered per process (hadar.platform.keycache), yet a revocation or an
allow-list change made through any other instance or process holds on the very next request."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hadar.app import create_app
from hadar.settings import Settings, sqlite_path
from tests.api.test_graphql_queries import counting_sql
from tests.conftest import SECRET, Workspace

LEADS = "/api/v1/leads"
KEYS = "/api/v1/api_keys"


@pytest.fixture
async def other(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second instance of the app over the same database, with its own key cache."""
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as c:
        yield c


async def _agent(ws: Workspace) -> tuple[str, dict[str, str]]:
    r = await ws.request("POST", KEYS, json={"role": "agent"})
    assert r.status_code == 201, r.text
    minted = r.json()["data"]
    return minted["id"], {"Authorization": f"Bearer {minted['token']}"}


async def test_a_verified_key_costs_no_query_on_its_next_request(ws: Workspace, settings) -> None:
    if sqlite_path(settings.database_url) is None:
        pytest.skip("the key cache needs a cheap epoch read: SQLite files only")
    _key_id, auth = await _agent(ws)
    assert (await ws.client.get(LEADS, headers=auth)).status_code == 200
    with counting_sql() as statements:
        assert (await ws.client.get(LEADS, headers=auth)).status_code == 200
    assert not [s for s in statements if "API_KEYS" in s], statements


async def test_revocation_through_another_instance_holds_on_the_next_request(
    ws: Workspace, other: httpx.AsyncClient
) -> None:
    key_id, auth = await _agent(ws)
    for _ in range(2):  # verified, then answered from this instance's cache
        assert (await ws.client.get(LEADS, headers=auth)).status_code == 200
    r = await other.post(f"{KEYS}/{key_id}/revoke", headers=await ws.headers())
    assert r.status_code == 200, r.text
    r = await ws.client.get(LEADS, headers=auth)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_api_key"


async def test_an_allow_list_set_through_another_instance_holds_on_the_next_request(
    ws: Workspace, other: httpx.AsyncClient
) -> None:
    key_id, auth = await _agent(ws)
    for _ in range(2):
        assert (await ws.client.get(LEADS, headers=auth)).status_code == 200
    r = await other.patch(
        f"{KEYS}/{key_id}", headers=await ws.headers(), json={"allowed_ips": ["203.0.113.7"]}
    )
    assert r.status_code == 200, r.text
    r = await ws.client.get(LEADS, headers=auth)
    assert r.status_code == 403, r.text


def _revoke_in_another_process(database_url: str, key_id: str) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio
        from hadar.db import close_db, open_db
        from hadar.services import keys

        async def main() -> None:
            await open_db({database_url!r})
            try:
                await keys.revoke_key(key_id={key_id!r})
            finally:
                await close_db()

        asyncio.run(main())
        """
    )
    env: dict[str, Any] = {**os.environ, "HADAR_SECRET_KEY": SECRET}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]


async def test_revocation_by_another_process_holds_on_the_next_request(
    ws: Workspace, settings: Settings
) -> None:
    key_id, auth = await _agent(ws)
    for _ in range(2):
        assert (await ws.client.get(LEADS, headers=auth)).status_code == 200
    _revoke_in_another_process(settings.database_url, key_id)  # e.g. the CLI, or a worker
    r = await ws.client.get(LEADS, headers=auth)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_api_key"
