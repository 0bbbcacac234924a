"""SQL per GraphQL request stays flat as pages grow: lists load in one query and every
reference goes through a per-request DataLoader (a failure here is an N+1)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.services import leads
from tests.api.test_graphql_parity import LEAD_FIELDS
from tests.conftest import Workspace, lead_body

DB_LOGGER = "tortoise.db_client"


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().lstrip().upper()
        if text.startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            self.statements.append(text)


@contextmanager
def counting_sql() -> Iterator[list[str]]:
    logger = logging.getLogger(DB_LOGGER)
    handler, level = _Counter(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _seed(ws: Workspace, n: int) -> list[str]:
    key = await ApiKey.get(id=ws.key_ids[("test", "admin")])
    scope = Scope(tenant_id=key.tenant_id, environment="test", role="admin", key_id=key.id)
    ids = []
    for i in range(n):
        lead, _ = await leads.create_lead(scope=scope, data=lead_body(name=f"Lead {i}"))
        ids.append(lead.id)
    return ids


async def _post(ws: Workspace, query: str, variables: dict | None = None) -> dict:
    r = await ws.request("POST", "/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


async def test_a_page_of_100_leads_costs_a_fixed_number_of_queries(ws: Workspace) -> None:
    await _seed(ws, 100)
    edges = f"edges {{ node {{ {LEAD_FIELDS} }} }}"
    query = f"{{ leads(first: 100) {{ {edges} pageInfo {{ hasNextPage }} }} }}"
    with counting_sql() as cold:  # the key verified from the database: admission + the page
        data = await _post(ws, query.replace("first: 100", "first: 1"))
    assert len(data["leads"]["edges"]) == 1
    assert len(cold) <= 4, cold
    with counting_sql() as small:
        data = await _post(ws, query.replace("first: 100", "first: 25"))
    assert len(data["leads"]["edges"]) == 25
    with counting_sql() as big:
        data = await _post(ws, query)
    assert len(data["leads"]["edges"]) == 100
    assert 1 <= len(big) == len(small) <= len(cold), big


async def test_lookups_by_id_are_batched(ws: Workspace) -> None:
    ids = await _seed(ws, 100)
    await _post(ws, "{ __typename }")  # the key verified once: later requests reuse it
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Lead { name score } } }"
    with counting_sql() as one:
        await _post(ws, query, {"ids": ids[:1]})
    with counting_sql() as hundred:
        data = await _post(ws, query, {"ids": ids})
    assert [n["id"] for n in data["nodes"]] == ids
    assert 1 <= len(hundred) == len(one) <= 4, hundred
    # A list primes the loader: lookups of rows it already fetched cost nothing more.
    fields = "id name score sources doNotContact { voice } scoreFactors { factor } createdAt"
    both = f"""query($id: ID!) {{ leads(first: 100) {{ edges {{ node {{ {fields} }} }} }}
      lead(id: $id) {{ {fields} }} }}"""
    with counting_sql() as primed:
        data = await _post(ws, both, {"id": ids[0]})
    assert len(primed) <= len(one) + 1, primed
    # The primed row is made into the lead it names, the same as the list shows.
    [listed] = [e["node"] for e in data["leads"]["edges"] if e["node"]["id"] == ids[0]]
    assert data["lead"] == listed
