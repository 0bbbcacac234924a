"""PostgreSQL pooled connections go back to the pool without asyncpg's reset query
(hadar.db._keep_session), which is only safe while no request leaves session state on the
connection it used: no SET, no LISTEN, no advisory lock, no open transaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise import Tortoise

from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"


@pytest.fixture
def pool(settings: Any) -> Any:
    if not settings.database_url.startswith("postgres"):
        pytest.skip("PostgreSQL only: SQLite has no connection pool")
    return Tortoise.get_connection("default")._pool


async def test_requests_leave_no_session_state_on_pooled_connections(
    ws: Workspace, pool: Any
) -> None:
    await ws.subscribe("test")
    created = await ws.request("POST", LEADS, json=lead_body())
    assert created.status_code == 201, created.text
    lead_id = created.json()["data"]["id"]
    for method, path, body in (
        ("GET", f"{LEADS}?limit=5", None),
        ("PATCH", f"{LEADS}/{lead_id}", {"status": "contacted"}),
        ("POST", "/api/v1/api_keys", {"role": "viewer"}),
        ("POST", "/graphql", {"query": "{ leads(first: 3) { edges { node { id } } } }"}),
    ):
        r = await ws.request(method, path, json=body)
        assert r.status_code < 300, r.text
    key_id = (await ws.request("POST", "/api/v1/api_keys", json={})).json()["data"]["id"]
    assert (await ws.request("POST", f"/api/v1/api_keys/{key_id}/revoke")).status_code == 200

    # Every connection the pool holds, at once (so each one is looked at).
    connections = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        states = await asyncio.gather(*(_session_state(c) for c in connections))
    finally:
        for connection in connections:
            await pool.release(connection)
    assert all(state == ([], [], 0, "I") for state in states), states


async def _session_state(connection: Any) -> tuple[list[str], list[str], int, str]:
    # A setting changed for the session and not put back. asyncpg's type introspection turns
    # `jit` off and back to its own value with set_config(): source 'session', value unchanged.
    changed = await connection.fetch(
        "SELECT name FROM pg_settings WHERE source = 'session' AND setting <> reset_val"
    )
    channels = await connection.fetch("SELECT pg_listening_channels() AS channel")
    locks = await connection.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    status = "T" if connection.is_in_transaction() else "I"
    return [r["name"] for r in changed], [r["channel"] for r in channels], locks, status
