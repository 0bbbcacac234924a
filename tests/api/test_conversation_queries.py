"""A page of leads with their conversations and messages costs the same SQL whatever its size
(a lead's conversations and a conversation's messages resolve through batched loaders)."""

from __future__ import annotations

from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.services import inbound, leads
from tests.api.test_graphql_queries import counting_sql
from tests.conftest import Workspace, lead_body

QUERY = """query($n: Int!) { leads(first: $n) { edges { node { id
  conversations { id windowOpen messages { id text direction } } } } } }"""


async def test_leads_with_threads_cost_a_fixed_number_of_queries(ws: Workspace) -> None:
    key = await ApiKey.get(id=ws.key_ids[("test", "admin")])
    scope = Scope(tenant_id=key.tenant_id, environment="test", role="admin", key_id=key.id)
    for i in range(20):
        lead, _ = await leads.create_lead(scope=scope, data=lead_body(name=f"Lead {i}"))
        for text in ("hello", "is it available?"):
            await inbound.simulate(scope=scope, data={"lead_id": lead.id, "text": text})

    async def run(n: int) -> tuple[list[str], dict]:
        with counting_sql() as statements:
            r = await ws.request("POST", "/graphql", json={"query": QUERY, "variables": {"n": n}})
        body = r.json()
        assert "errors" not in body, body
        return statements, body["data"]

    await ws.request("POST", "/graphql", json={"query": "{ __typename }"})  # the key, verified once
    one, _ = await run(1)
    twenty, data = await run(20)
    edges = data["leads"]["edges"]
    assert len(edges) == 20
    for edge in edges:
        (conv,) = edge["node"]["conversations"]
        assert conv["windowOpen"] is True
        assert [m["text"] for m in conv["messages"]] == ["hello", "is it available?"]
    assert len(twenty) == len(one) <= 6, twenty
