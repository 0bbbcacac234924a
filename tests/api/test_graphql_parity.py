"""The same scenario through REST and GraphQL gives the same objects, ids, pages, cursors and
errors. Each scenario runs once per surface (parametrised) and the two runs are compared."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Workspace, lead_body

LEAD_FIELDS = """id name phone email source sourceRaw sources utm budgetAed bedrooms area
handoverHorizon status assignedTo doNotContact { whatsapp voice email }
score scoreFactors { factor points reason } createdAt updatedAt"""
KEY_FIELDS = "id environment role name last4 createdAt expiresAt revokedAt"
MISSING = "lead_01HMNZ0000000000000000000Z"


def snake(obj: dict[str, Any]) -> dict[str, Any]:
    """GraphQL's camelCase top-level keys as REST's snake_case (values untouched)."""
    return {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in obj.items()}


def rest_object(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "object"}


@dataclass(frozen=True)
class Result:
    """One call's outcome, surface-neutral: the object, or (code, field)."""

    data: Any = None
    error: tuple[str, str | None] | None = None


class Rest:
    name = "rest"

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def call(self, method: str, path: str, role: str = "admin", **kw: Any) -> Result:
        r = await self.ws.request(method, "/api/v1" + path, role=role, **kw)
        body = r.json()
        if body["error"]:
            return Result(error=(body["error"]["code"], body["error"].get("field")))
        data = body["data"]
        return Result(data=rest_object(data) if "id" in data else data)

    async def create_lead(self, body: dict[str, Any], role: str = "admin") -> Result:
        return await self.call("POST", "/leads", role=role, json=body)

    async def update_lead(self, lead_id: str, body: dict[str, Any]) -> Result:
        return await self.call("PATCH", f"/leads/{lead_id}", json=body)

    async def delete_lead(self, lead_id: str) -> Result:
        return await self.call("DELETE", f"/leads/{lead_id}")

    async def get_lead(self, lead_id: str) -> Result:
        return await self.call("GET", f"/leads/{lead_id}")

    async def list_leads(self, **params: Any) -> Result:
        result = await self.call("GET", "/leads", params=params)
        if result.error:
            return result
        items = [rest_object(i) for i in result.data["items"]]
        p = result.data["pagination"]
        return Result(data=(items, p["next_cursor"], p["has_more"]))

    async def create_key(self, body: dict[str, Any], role: str = "admin") -> Result:
        result = await self.call("POST", "/api_keys", role=role, json=body)
        if result.data:
            result.data.pop("token"), result.data.pop("tenant")
        return result

    async def revoke_key(self, key_id: str) -> Result:
        return await self.call("POST", f"/api_keys/{key_id}/revoke")


class GraphQL:
    name = "graphql"
    ARGS = {"limit": "first", "cursor": "after", "score_min": "scoreMin", "status": "status"}

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def call(
        self, query: str, variables: dict[str, Any], field: str, role: str = "admin"
    ) -> Result:
        headers = await self.ws.headers("test", role)
        r = await self.ws.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body = r.json()
        if body.get("errors"):
            ext = body["errors"][0]["extensions"]
            return Result(error=(ext["code"], ext.get("field")))
        return Result(data=body["data"][field])

    async def create_lead(self, body: dict[str, Any], role: str = "admin") -> Result:
        q = f"""mutation($i: LeadCreateInput!) {{
          createLead(input: $i) {{ created lead {{ {LEAD_FIELDS} }} }} }}"""
        gql_body = snake_to_camel(body)
        result = await self.call(q, {"i": gql_body}, "createLead", role)
        return Result(data=snake(result.data["lead"])) if result.data else result

    async def update_lead(self, lead_id: str, body: dict[str, Any]) -> Result:
        q = f"""mutation($id: ID!, $i: LeadUpdateInput!) {{
          updateLead(id: $id, input: $i) {{ {LEAD_FIELDS} }} }}"""
        result = await self.call(q, {"id": lead_id, "i": snake_to_camel(body)}, "updateLead")
        return Result(data=snake(result.data)) if result.data else result

    async def delete_lead(self, lead_id: str) -> Result:
        q = "mutation($id: ID!) { deleteLead(id: $id) { id deleted } }"
        return await self.call(q, {"id": lead_id}, "deleteLead")

    async def get_lead(self, lead_id: str) -> Result:
        q = f"query($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"
        result = await self.call(q, {"id": lead_id}, "lead")
        return Result(data=snake(result.data)) if result.data else result

    async def list_leads(self, **params: Any) -> Result:
        args = ", ".join(f"{self.ARGS[k]}: ${self.ARGS[k]}" for k in params)
        types = {"limit": "Int", "cursor": "String", "score_min": "Int", "status": "String"}
        decl = ", ".join(f"${self.ARGS[k]}: {types[k]}" for k in params)
        q = f"""query{f"({decl})" if decl else ""} {{ leads{f"({args})" if args else ""} {{
          edges {{ node {{ {LEAD_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        variables = {self.ARGS[k]: v for k, v in params.items()}
        result = await self.call(q, variables, "leads")
        if result.error:
            return result
        items = [snake(e["node"]) for e in result.data["edges"]]
        info = result.data["pageInfo"]
        return Result(data=(items, info["endCursor"], info["hasNextPage"]))

    async def create_key(self, body: dict[str, Any], role: str = "admin") -> Result:
        q = f"""mutation($i: ApiKeyCreateInput) {{
          createApiKey(input: $i) {{ apiKey {{ {KEY_FIELDS} }} token }} }}"""
        result = await self.call(q, {"i": snake_to_camel(body)}, "createApiKey", role)
        return Result(data=snake(result.data["apiKey"])) if result.data else result

    async def revoke_key(self, key_id: str) -> Result:
        q = f"mutation($id: ID!) {{ revokeApiKey(id: $id) {{ {KEY_FIELDS} }} }}"
        result = await self.call(q, {"id": key_id}, "revokeApiKey")
        return Result(data=snake(result.data)) if result.data else result


def snake_to_camel(body: dict[str, Any]) -> dict[str, Any]:
    def camel(key: str) -> str:
        head, *rest = key.split("_")
        return head + "".join(p.title() for p in rest)

    return {camel(k): v for k, v in body.items()}


SURFACES = [Rest, GraphQL]


async def error_scenario(surface: Rest | GraphQL, other: Rest | GraphQL) -> list[Any]:
    """Every documented failure a lead or key mutation can meet, in order."""
    a = (await surface.create_lead(lead_body(phone="+971501112233"))).data
    b = (await surface.create_lead(lead_body(phone="+971501112244"))).data
    foreign = (await other.create_lead(lead_body())).data
    return [
        (await surface.create_lead({"name": "X", "email": "not-an-email"})).error,
        (await surface.create_lead({"name": "X"})).error,
        (await surface.create_lead({"name": "X", "phone": "12"})).error,
        (await surface.create_lead({"name": "X", "phone": "+971501112299", "bedrooms": 99})).error,
        (
            await surface.create_lead({"name": "X", "email": "a@b.ae", "handover_horizon": "x"})
        ).error,
        (await surface.create_lead(lead_body(), role="viewer")).error,
        (await surface.update_lead(b["id"], {"phone": a["phone"]})).error,
        (await surface.update_lead(b["id"], {"name": None})).error,
        (await surface.update_lead(MISSING, {"name": "Y"})).error,
        (await surface.update_lead(foreign["id"], {"name": "Y"})).error,
        (await surface.delete_lead(MISSING)).error,
        (await surface.get_lead(foreign["id"])).error,
        (await surface.list_leads(limit=0)).error,
        (await surface.list_leads(limit=101)).error,
        (await surface.list_leads(score_min=101)).error,
        (await surface.list_leads(status="nope")).error,
        (await surface.list_leads(cursor="tampered.cursor")).error,
        (await surface.create_key({"role": "god"})).error,
        (await surface.create_key({}, role="agent")).error,
        (await surface.create_key({"environment": "live"})).error,
        (await surface.revoke_key("key_01HMNZ0000000000000000000Z")).error,
    ]


@pytest.fixture
async def pair(client: Any) -> tuple[Workspace, Workspace]:
    """Two fresh tenants: the scenario's and a stranger."""
    made = []
    for _ in range(2):
        w = Workspace(client, f"p-{uuid.uuid4().hex[:12]}")
        await w.key("test", "admin", plan="enterprise")
        made.append(w)
    return made[0], made[1]


async def test_the_same_errors_on_both_surfaces(client: Any) -> None:
    outcomes = {}
    for surface_cls in SURFACES:
        ws, stranger = Workspace(client, f"e-{uuid.uuid4().hex[:10]}"), None
        await ws.key("test", "admin", plan="enterprise")
        stranger = Workspace(client, f"s-{uuid.uuid4().hex[:10]}")
        await stranger.key("test", "admin", plan="enterprise")
        outcomes[surface_cls.name] = await error_scenario(surface_cls(ws), surface_cls(stranger))
    assert outcomes["rest"] == outcomes["graphql"]
    assert all(outcome is not None for outcome in outcomes["rest"]), outcomes["rest"]
    assert ("validation_error", "lead.email") in outcomes["rest"]
    assert ("conflict", "lead.phone") in outcomes["rest"]
    assert ("not_found", None) in outcomes["rest"]
    assert ("forbidden", None) in outcomes["rest"]
    assert ("validation_error", "cursor") in outcomes["rest"]


@pytest.mark.parametrize("writer", SURFACES, ids=lambda s: s.name)
async def test_objects_written_on_one_surface_read_the_same_on_both(
    pair: tuple[Workspace, Workspace], writer: type[Rest | GraphQL]
) -> None:
    ws, _ = pair
    rest, graphql = Rest(ws), GraphQL(ws)
    write = writer(ws)
    created = await write.create_lead(
        lead_body(
            email="Aisha@Example.COM",
            source="Property Finder",
            budget_aed=3_500_000_000,
            bedrooms=0,
            utm={"utm_campaign": "spring"},
            handover_horizon="off_plan_2027",
            do_not_contact={"voice": True},
        )
    )
    assert created.error is None, created
    lead_id = created.data["id"]
    assert (
        created.data
        == (await rest.get_lead(lead_id)).data
        == (await graphql.get_lead(lead_id)).data
    )
    merged = await write.create_lead(
        {"name": "Dup", "email": "Aisha@example.com", "source": "bayut"}
    )
    assert merged.data["id"] == lead_id and merged.data["sources"] == ["property_finder", "bayut"]
    updated = await write.update_lead(lead_id, {"status": "qualified", "area": None})
    assert (
        updated.data
        == (await rest.get_lead(lead_id)).data
        == (await graphql.get_lead(lead_id)).data
    )
    key = await write.create_key({"role": "viewer", "name": "ci"})
    assert key.data["id"].startswith("key_")
    revoked = await write.revoke_key(key.data["id"])
    assert revoked.data["revoked_at"]
    assert revoked.data == {**key.data, "revoked_at": revoked.data["revoked_at"]}
    deleted = await write.delete_lead(lead_id)
    assert deleted.data["id"] == lead_id and deleted.data["deleted"] is True
    assert (await rest.get_lead(lead_id)).error == ("not_found", None)
    assert (await graphql.get_lead(lead_id)).error == ("not_found", None)


async def test_pages_and_cursors_are_the_same_on_both_surfaces(
    pair: tuple[Workspace, Workspace],
) -> None:
    ws, _ = pair
    rest, graphql = Rest(ws), GraphQL(ws)
    for i in range(7):
        status = "qualified" if i % 2 else "new"
        await rest.create_lead(lead_body(name=f"Lead {i}", status=status))
    for params in ({}, {"status": "qualified"}, {"score_min": 10}):
        walks: dict[str, list[Any]] = {"rest": [], "graphql": []}
        for surface in (rest, graphql):
            cursor = None
            while True:
                extra = {"cursor": cursor} if cursor else {}
                result = await surface.list_leads(limit=3, **params, **extra)
                items, cursor, has_more = result.data
                walks[surface.name].append((items, cursor, has_more))
                if not has_more:
                    break
        assert walks["rest"] == walks["graphql"], params
        total = sum(len(page[0]) for page in walks["rest"])
        assert total == {"status": 3, "score_min": 7}.get(next(iter(params), ""), 7), params
    # A cursor from one surface continues the walk on the other.
    first = (await graphql.list_leads(limit=2)).data
    second_rest = (await rest.list_leads(limit=2, cursor=first[1])).data
    second_gql = (await graphql.list_leads(limit=2, cursor=first[1])).data
    assert second_rest == second_gql
    assert (await rest.list_leads(limit=2, cursor=first[1], status="new")).error == (
        "validation_error",
        "cursor",
    )
