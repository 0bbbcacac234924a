"""A key manages only the keys of its own environment (SPEC 4), on both surfaces: it may not
mint one for the other environment (which it could then neither list nor revoke), it does not
see the other environment's keys, and it cannot revoke them. Whatever it mints, it can list
and revoke."""

from __future__ import annotations

from typing import Any

import pytest

from hadar.domain.tenants import ApiKey, Tenant
from tests.api.parity import Twin, created
from tests.conftest import Workspace

KEYS = "/api/v1/api_keys"
OTHER = {"live": "test", "test": "live"}
MINT = "mutation($i: ApiKeyCreateInput) { createApiKey(input: $i) { token apiKey { id } } }"
LIST = "{ apiKeys(first: 100) { edges { node { id environment } } } }"
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"


async def gql(ws: Workspace, env: str, query: str, **variables: Any) -> dict[str, Any]:
    r = await ws.request("POST", "/graphql", env=env, json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def mint(ws: Workspace, surface: str, env: str, body: dict[str, Any]) -> tuple[int, Any]:
    """(status or GraphQL error code, the answer's data or error) of minting through `surface`."""
    if surface == "rest":
        r = await ws.request("POST", KEYS, env=env, json=body)
        payload = r.json()
        return r.status_code, payload["data"] or payload["error"]
    answer = await gql(ws, env, MINT, i=body)
    if answer.get("errors"):
        return answer["errors"][0]["extensions"]["code"], answer["errors"][0]["extensions"]
    return 201, {"id": answer["data"]["createApiKey"]["apiKey"]["id"]}


async def listed(ws: Workspace, surface: str, env: str) -> set[str]:
    if surface == "rest":
        r = await ws.request("GET", KEYS, env=env, params={"limit": 100})
        return {k["id"] for k in r.json()["data"]["items"]}
    answer = await gql(ws, env, LIST)
    return {e["node"]["id"] for e in answer["data"]["apiKeys"]["edges"]}


async def revoke(ws: Workspace, surface: str, env: str, key_id: str) -> str | int:
    if surface == "rest":
        r = await ws.request("POST", f"{KEYS}/{key_id}/revoke", env=env)
        return r.status_code if r.status_code == 200 else r.json()["error"]["code"]
    answer = await gql(ws, env, REVOKE, id=key_id)
    return answer["errors"][0]["extensions"]["code"] if answer.get("errors") else 200


@pytest.mark.parametrize("surface", ["rest", "graphql"])
@pytest.mark.parametrize("env", ["live", "test"])
async def test_a_key_cannot_mint_for_the_other_environment(
    ws: Workspace, surface: str, env: str
) -> None:
    await ws.key(env, "admin")
    tenant = await Tenant.get(slug=ws.slug)
    before = await ApiKey.filter(tenant_id=tenant.id, environment=OTHER[env]).count()
    for role in ("admin", "viewer"):
        status, error = await mint(ws, surface, env, {"role": role, "environment": OTHER[env]})
        assert status in (403, "forbidden"), error
        assert error["code"] == "forbidden"
        assert error["field"] == "api_key.environment"
    assert await ApiKey.filter(tenant_id=tenant.id, environment=OTHER[env]).count() == before


@pytest.mark.parametrize("surface", ["rest", "graphql"])
@pytest.mark.parametrize("env", ["live", "test"])
async def test_what_a_key_mints_it_can_list_and_revoke(
    ws: Workspace, surface: str, env: str
) -> None:
    await ws.key(env, "admin")
    for body in ({"role": "agent"}, {"role": "agent", "environment": env}):
        status, minted = await mint(ws, surface, env, body)
        assert status == 201, minted
        assert (await ApiKey.get(id=minted["id"])).environment == env
        assert minted["id"] in await listed(ws, surface, env)
        assert await revoke(ws, surface, env, minted["id"]) == 200
        assert (await ApiKey.get(id=minted["id"])).revoked_at is not None


@pytest.mark.parametrize("surface", ["rest", "graphql"])
@pytest.mark.parametrize("env", ["live", "test"])
async def test_the_other_environments_keys_are_out_of_reach(
    ws: Workspace, surface: str, env: str
) -> None:
    await ws.key(env, "admin")
    await ws.key(OTHER[env], "agent")
    foreign = ws.key_ids[(OTHER[env], "agent")]
    assert foreign not in await listed(ws, surface, env)
    assert await revoke(ws, surface, env, foreign) == "not_found"
    assert (await ApiKey.get(id=foreign)).revoked_at is None
    r = await ws.request("GET", "/api/v1/leads", env=OTHER[env], role="agent")
    assert r.status_code == 200, r.text


async def _key_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    return {"key": (await created(ws, "/api/v1/api_keys", {"role": "viewer"}))["id"]}


# The twins of the API key mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "api_keys.create": Twin(
        lambda ids: ("POST", "/api/v1/api_keys", {"role": "agent"}),
        lambda ids: (
            'mutation { createApiKey(input: {role: "agent"}) { token apiKey { id } } }',
            {},
        ),
    ),
    "api_keys.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/api_keys/{ids['key']}", {"allowed_ips": ["10.0.0.0/8"]}),
        lambda ids: (
            'mutation($id: ID!) { updateApiKey(id: $id, input: {allowedIps: ["10.0.0.0/8"]})'
            " { id allowedIps } }",
            {"id": ids["key"]},
        ),
        setup=_key_setup,
    ),
    "api_keys.revoke": Twin(
        lambda ids: ("POST", f"/api/v1/api_keys/{ids['key']}/revoke", None),
        lambda ids: ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": ids["key"]}),
        setup=_key_setup,
    ),
}
