"""Kept documents (hadar.graphql.documents): a text parsed and validated once answers exactly
what Strawberry's own path answers, for every variable, alias, fragment, error and
introspection; an invalid text is never kept as valid; a document past the cost budget is
refused on every sending; the cache stays bounded; and an execution leaves no garbage."""

from __future__ import annotations

import gc
from typing import Any

import orjson
import pytest
import strawberry
from graphql import specified_rules

from hadar.domain.scope import Scope
from hadar.domain.tenants import ApiKey
from hadar.graphql import errors
from hadar.graphql.context import Context
from hadar.graphql.documents import MAX_TEXT, Documents
from hadar.graphql.execution import FastPathExecutionContext
from hadar.graphql.loaders import Loaders
from hadar.graphql.schema import schema
from hadar.services import leads
from tests.api.test_graphql_parity import LEAD_FIELDS, MISSING
from tests.conftest import Workspace, lead_body

PAGE = f"""query Page($n: Int, $source: String) {{
  leads(first: $n, source: $source) {{
    edges {{ node {{ ...Lead alias: name }} }}
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
  }}
}}
fragment Lead on Lead {{ {LEAD_FIELDS} }}"""
DOCUMENTS: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (PAGE, {"n": 2}, None),
    (PAGE, {"n": 3, "source": "bayut"}, "Page"),
    (PAGE, {"n": "two"}, None),  # variables that do not coerce
    (PAGE, None, "Other"),  # an operation the document does not have
    ("{ a: leads(first: 1) { edges { cursor node { id } } } b: __typename }", None, None),
    (
        f'{{ lead(id: "{MISSING}") {{ id }} leads(first: 1) {{ edges {{ node {{ id }} }} }} }}',
        None,
        None,
    ),
    ("query One { __typename } query Two { leads { pageInfo { endCursor } } }", None, "Two"),
    ("query One { __typename } query Two { __typename }", None, None),  # which one?
    ("{ __schema { queryType { name } mutationType { name } } }", None, None),
    ('{ __type(name: "Lead") { fields { name } } }', None, None),
    (
        "query($on: Boolean!) { leads { edges { node { id name @include(if: $on) } } } }",
        {"on": True},
        None,
    ),
    (
        "query($on: Boolean!) { leads { edges { node { id name @include(if: $on) } } } }",
        {"on": False},
        None,
    ),
    (f'mutation {{ updateLead(id: "{MISSING}", input: {{name: "X"}}) {{ id }} }}', None, None),
    ("{ leads { edges { node { nope } } } }", None, None),  # invalid: never kept
    ("{ leads { edges ", None, None),  # does not parse
]


async def _context(ws: Workspace, app: Any) -> Context:
    key = await ApiKey.get(id=ws.key_ids[("test", "admin")])
    scope = Scope(tenant_id=key.tenant_id, environment="test", role="admin", key_id=key.id)
    return Context(scope=scope, runtime=app.state.runtime, loaders=Loaders.for_scope(scope))


async def _run(
    execute: Any, ws: Workspace, app: Any, query: str, variables: Any, name: str | None
) -> bytes:
    try:
        result = await execute(
            query,
            variable_values=variables,
            context_value=await _context(ws, app),
            operation_name=name,
        )
    except Exception as exc:  # Strawberry raises for an operation it cannot find
        return f"raised {type(exc).__name__}: {exc}".encode()
    return _answer(result)


def _answer(result: Any) -> bytes:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [errors.format_error(e) for e in result.errors]
    return orjson.dumps({**body, "extensions": result.extensions})


@pytest.mark.parametrize("query, variables, name", DOCUMENTS)
async def test_a_kept_document_answers_what_strawberrys_path_answers(
    ws: Workspace, app: Any, query: str, variables: dict[str, Any] | None, name: str | None
) -> None:
    key = await ApiKey.get(id=ws.key_ids[("test", "admin")])
    scope = Scope(tenant_id=key.tenant_id, environment="test", role="admin", key_id=key.id)
    for i in range(3):
        await leads.create_lead(scope=scope, data=lead_body(name=f"Lead {i}"))
    answers = []
    for _ in range(2):  # the second sending runs from the kept document
        kept = await _run(schema.execute, ws, app, query, variables, name)
        stock = await _run(
            strawberry.Schema.execute.__get__(schema), ws, app, query, variables, name
        )
        answers.append(kept)
        assert kept == stock
    assert answers[0] == answers[1]


async def test_one_text_with_other_variables_answers_for_those_variables(ws: Workspace) -> None:
    for _ in range(3):
        r = await ws.request("POST", "/api/v1/leads", json=lead_body())
        assert r.status_code == 201
    query = "query($n: Int) { leads(first: $n) { edges { node { id } } } }"
    counts = []
    for n in (1, 3, 2):
        r = await ws.request("POST", "/graphql", json={"query": query, "variables": {"n": n}})
        counts.append(len(r.json()["data"]["leads"]["edges"]))
    assert counts == [1, 3, 2]
    assert schema.documents.prepared(query) is not None


async def test_a_directive_decides_on_every_execution(ws: Workspace) -> None:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body(name="Shown"))
    assert r.status_code == 201
    query = "query($on: Boolean!) { leads { edges { node { id name @include(if: $on) } } } }"
    for on in (True, False, True):
        r = await ws.request("POST", "/graphql", json={"query": query, "variables": {"on": on}})
        node = r.json()["data"]["leads"]["edges"][0]["node"]
        assert ("name" in node) is on


async def test_an_invalid_document_is_refused_every_time_and_never_kept(ws: Workspace) -> None:
    query = "{ leads { edges { node { id nope } } } }"
    bodies = []
    for _ in range(2):
        r = await ws.request("POST", "/graphql", json={"query": query})
        assert r.status_code == 200
        bodies.append(r.json())
    for body in bodies:
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "validation_error"
        assert "nope" in body["errors"][0]["message"]
    assert bodies[0]["errors"][0]["message"] == bodies[1]["errors"][0]["message"]
    assert schema.documents.prepared(query) is None


async def test_a_document_past_the_budget_is_refused_on_its_second_sending(ws: Workspace) -> None:
    # Valid GraphQL (so the cache would keep it), but 31 aliases: past MAX_ALIASES.
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    for _ in range(3):
        r = await ws.request("POST", "/graphql", json={"query": query})
        body = r.json()
        assert body["data"] is None
        assert "31 aliases" in body["errors"][0]["message"]
    deep = "{ leads { edges { node { " + "matches { " * 10 + "id" + " }" * 10 + " } } } }"
    for _ in range(2):
        r = await ws.request("POST", "/graphql", json={"query": deep})
        assert "maximum operation depth" in r.json()["errors"][0]["message"]


def test_kept_documents_run_directly_only_with_the_extensions_they_stand_for() -> None:
    assert schema.direct  # HadarRules, ParserCache, ValidationCache: rules and caches only


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    documents = Documents(schema._schema, tuple(specified_rules), maxsize=3)
    texts = [f"{{ a{i}: __typename }}" for i in range(5)]
    for text in texts[:3]:
        assert documents.prepared(text) is not None
    documents.prepared(texts[0])  # used again: the oldest is now texts[1]
    for text in texts[3:]:
        documents.prepared(text)
    assert len(documents) == 3
    assert set(documents._kept) == {texts[0], texts[3], texts[4]}
    long = "{ __typename }" + " " * MAX_TEXT
    assert documents.prepared(long) is None and len(documents) == 3
    for i in range(10):  # refused texts are bounded too
        documents.prepared(f"{{ nope{i} }}")
    assert len(documents._refused) == 3


async def test_an_execution_leaves_no_cycle_for_the_collector(ws: Workspace) -> None:
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201
    query = {"query": "{ leads { edges { node { id name } } } }"}
    await ws.request("POST", "/graphql", json=query)
    gc.collect()
    gc.disable()
    try:
        r = await ws.request("POST", "/graphql", json=query)
        assert r.status_code == 200 and "errors" not in r.json()
        left = [o for o in gc.get_objects() if isinstance(o, FastPathExecutionContext)]
    finally:
        gc.enable()
    assert left == []  # freed by reference counting as soon as the request ended
