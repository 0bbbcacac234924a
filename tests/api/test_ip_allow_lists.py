"""IP allow-lists per key (SPEC 4): checked before anything else runs, on every surface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace

LEADS = "/api/v1/leads"
QUERY = {"query": "{ leads(first: 1) { edges { node { id } } } }"}


@pytest.fixture
async def from_address(app: Any) -> AsyncIterator[Any]:
    """from_address("203.0.113.9") -> a client whose requests come from that peer address."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://hadar.test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def mint(ws: Workspace, allowed: list[str]) -> tuple[str, str]:
    r = await ws.request("POST", "/api/v1/api_keys", json={"role": "agent", "allowed_ips": allowed})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    return data["token"], data["id"]


@pytest.mark.parametrize(
    "allowed,inside,outside",
    [
        (["203.0.113.9"], "203.0.113.9", "203.0.113.10"),
        (["203.0.113.0/24"], "203.0.113.200", "198.51.100.1"),
        (["2001:db8::/32"], "2001:db8::5", "2001:db9::1"),
        (["2001:db8::7"], "2001:db8::7", "2001:db8::8"),
        (["10.0.0.0/8", "2001:db8::/32"], "10.200.0.1", "11.0.0.1"),
        (["203.0.113.0/24"], "::ffff:203.0.113.4", "::ffff:198.51.100.4"),
    ],
)
async def test_requests_from_outside_the_list_are_forbidden_on_both_surfaces(
    ws: Workspace, from_address: Any, allowed: list[str], inside: str, outside: str
) -> None:
    token, _ = await mint(ws, allowed)
    auth = {"Authorization": f"Bearer {token}"}
    ok = from_address(inside)
    assert (await ok.get(LEADS, headers=auth)).status_code == 200
    assert (await ok.post("/graphql", json=QUERY, headers=auth)).status_code == 200
    no = from_address(outside)
    r = await no.get(LEADS, headers=auth)
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "forbidden" and outside in error["message"]
    assert "x-ratelimit-limit" in r.headers
    r = await no.post("/graphql", json=QUERY, headers=auth)
    assert r.status_code == 403
    assert r.json()["errors"][0]["extensions"]["code"] == "forbidden"
    # Refused before it runs: a mutation from outside writes nothing.
    body = {"name": "Blocked", "phone": "+971501110001"}
    assert (await no.post(LEADS, json=body, headers=auth)).status_code == 403
    listed = await ok.get(LEADS, headers=auth, params={"limit": 100})
    assert all(i["name"] != "Blocked" for i in listed.json()["data"]["items"])


async def test_patch_replaces_the_list_and_is_effective_on_the_next_request(
    ws: Workspace, from_address: Any
) -> None:
    token, key_id = await mint(ws, ["203.0.113.0/24"])
    auth = {"Authorization": f"Bearer {token}"}
    outside = from_address("198.51.100.7")
    assert (await outside.get(LEADS, headers=auth)).status_code == 403
    r = await ws.request("PATCH", f"/api/v1/api_keys/{key_id}", json={"allowed_ips": []})
    assert r.status_code == 200 and r.json()["data"]["allowed_ips"] == []
    assert (await outside.get(LEADS, headers=auth)).status_code == 200
    r = await ws.request(
        "PATCH", f"/api/v1/api_keys/{key_id}", json={"allowed_ips": ["198.51.100.0/28"]}
    )
    assert r.json()["data"]["allowed_ips"] == ["198.51.100.0/28"]
    assert (await outside.get(LEADS, headers=auth)).status_code == 200
    assert (await from_address("198.51.100.99").get(LEADS, headers=auth)).status_code == 403
    listed = await ws.request("GET", "/api/v1/api_keys", params={"limit": 100})
    mine = next(k for k in listed.json()["data"]["items"] if k["id"] == key_id)
    assert mine["allowed_ips"] == ["198.51.100.0/28"]


@pytest.mark.parametrize(
    "value", [["not-an-ip"], ["10.0.0.0/33"], ["2001:db8::/129"], [""], ["10.0.0.1"] * 0 + [5]]
)
async def test_bad_entries_are_refused_naming_the_field(ws: Workspace, value: list[Any]) -> None:
    r = await ws.request("POST", "/api/v1/api_keys", json={"allowed_ips": value})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["field"].startswith("api_key.allowed_ips")


async def test_entries_are_kept_as_canonical_networks(ws: Workspace) -> None:
    r = await ws.request(
        "POST", "/api/v1/api_keys", json={"allowed_ips": ["10.1.2.3", "10.1.2.3/8", "2001:DB8::1"]}
    )
    assert r.json()["data"]["allowed_ips"] == ["10.1.2.3/32", "10.0.0.0/8", "2001:db8::1/128"]
