"""Every REST mutation and its GraphQL twin through one scenario, compared: replay, conflict,
shown-once fields, trace ids, role refusal, body limit and fail-closed.

The operations come from the route table and the GraphQL schema, and each mutation's twin
from the `PARITY` of its resource's test module (tests/api/parity.py says how to write one):
nothing is listed here, so a new operation without a twin, or without a scenario, fails this
module.
"""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from typing import Any

import httpx
import pytest

import tests.api
from hadar.domain.records import IdempotencyRecord
from hadar.graphql.schema import root_operations
from hadar.rest.routes import ROUTES
from tests.api.parity import Answer, Twin, call, missing, prepare
from tests.conftest import Workspace


def _scenarios() -> dict[str, Twin]:
    found: dict[str, Twin] = {}
    for info in pkgutil.iter_modules(tests.api.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"tests.api.{info.name}")
            for name, twin in vars(module).get("PARITY", {}).items():
                assert name not in found, f"two modules declare the twin of {name}"
                found[name] = twin
    return found


SCENARIOS = _scenarios()
MUTATIONS = sorted({spec.op.name: spec.op for spec in ROUTES if spec.mutation}.items())


def test_every_operation_has_a_twin_on_the_other_surface() -> None:
    rest = {spec.op.name for spec in ROUTES}
    graphql = {op.name for op in root_operations().values()}
    assert rest == graphql, {"REST only": rest - graphql, "GraphQL only": graphql - rest}


def test_every_mutation_has_a_parity_scenario() -> None:
    assert {name for name, _ in MUTATIONS} == set(SCENARIOS)


REQUEST_LEVEL = (401, 403, 409, 413, 429, 503)  # statuses both surfaces answer alike


def shape(answer: Answer) -> tuple[str, bool, int | None]:
    """What must agree across surfaces: the outcome (error code, or ok), whether it was a
    replay, and the HTTP status of request-level refusals (GraphQL answers field errors 200)."""
    status = answer.status if answer.status in REQUEST_LEVEL else None
    return answer.code or "ok", answer.replayed, status


@pytest.mark.parametrize("name,op", MUTATIONS, ids=[n for n, _ in MUTATIONS])
async def test_both_surfaces_answer_a_mutation_alike(ws: Workspace, name: str, op: Any) -> None:
    twin = SCENARIOS[name]
    outcomes: dict[str, list[tuple[str, bool, int | None]]] = {}
    for surface in ("rest", "graphql"):
        ids = await prepare(ws, twin)
        seen: list[tuple[str, bool, int | None]] = []
        # A role that may not: refused before anything runs, nothing stored.
        key = str(uuid.uuid4())
        refused = await call(ws, surface, twin, ids, role="viewer", key=key)
        seen.append(shape(refused))
        assert await IdempotencyRecord.filter(key=key).count() == 0
        # The first call, then its replay: byte-identical, shown-once fields null.
        first = await call(ws, surface, twin, ids, key=key)
        again = await call(ws, surface, twin, ids, key=key)
        seen += [shape(first), shape(again)]
        assert again.replayed and not first.replayed
        stored = bytes((await IdempotencyRecord.get(key=key)).body)
        for field in op.shown_once:
            shown = first.data[field] if surface == "rest" else first.data.get(field)
            assert shown, (surface, field)
            assert shown.encode() not in stored and shown.encode() not in again.body
            assert (again.data or {}).get(field) is None
        if not op.shown_once:
            assert again.body == first.body
        # A viewer replaying the admin's request gets 403, never the stored answer.
        stolen = await call(ws, surface, twin, ids, role="viewer", key=key)
        seen.append(shape(stolen))
        assert stolen.status == 403 and not stolen.replayed
        # Same key, different request: conflict, with trace ids that agree.
        other = await call(ws, surface, twin, ids, key=key, pad=10)
        seen.append(shape(other))
        assert other.code == "conflict" and other.trace == other.header_trace
        # A body over 1 MiB is refused before it is read whole.
        big = await call(ws, surface, twin, ids, pad=1_100_000)
        seen.append(shape(big))
        # An error replays with the trace id it was first answered with.
        # (Derived: every object the twin names swapped for one that does not exist.)
        absent = missing(twin, ids)
        if twin.rest(absent) != twin.rest(ids):
            key2 = str(uuid.uuid4())
            gone = await call(ws, surface, twin, absent, key=key2)
            gone_again = await call(ws, surface, twin, absent, key=key2)
            seen += [shape(gone), shape(gone_again)]
            assert gone.code == "not_found"
            assert gone_again.header_trace == gone.trace == gone_again.trace
        outcomes[surface] = seen
    assert outcomes["rest"] == outcomes["graphql"]


@pytest.mark.parametrize(
    "name,op",
    [m for m in MUTATIONS if m[1].fail_closed],
    ids=[n for n, o in MUTATIONS if o.fail_closed],
)
async def test_fail_closed_mutations_refuse_alike_while_redis_is_down(
    ws: Workspace, settings: Any, name: str, op: Any
) -> None:
    from hadar.app import create_app
    from hadar.platform.guard import Guard
    from hadar.platform.runtime import Runtime
    from tests.api.test_graphql import DownStore  # the store that never answers

    app = create_app(settings)
    app.state.runtime = Runtime(
        settings=settings,
        guard=Guard(DownStore(), shared=True),
        authenticate=app.state.runtime.authenticate,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hadar.test"
    ) as down:
        ids = await prepare(ws, SCENARIOS[name])
        answers = [
            await call(ws, s, SCENARIOS[name], ids, client=down) for s in ("rest", "graphql")
        ]
    assert [(a.status, a.code) for a in answers] == [(503, "service_unavailable")] * 2
