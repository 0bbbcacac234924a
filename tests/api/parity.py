"""What the parity test (tests/api/test_operation_parity.py) runs: a `Twin` is one mutation as
each surface calls it; a resource's test module declares its twins in `PARITY`, with the
`setup` that prepares the objects they act on, and the parity test finds them there.

A twin's ids always hold a fresh lead (`lead`), a phone number no lead has (`phone`) and a
unique `ref`; `setup` adds the rest. The "not found" variant of a twin is derived: every
prefixed id is swapped for one nobody holds (plus the twin's own `missing` values), and it
runs when that changes the request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from tests.conftest import Workspace, lead_body

Ids = dict[str, str]
Setup = Callable[[Workspace, Ids], Awaitable[Ids]]
_ID = re.compile(r"^([a-z]+)_[0-9A-HJKMNP-TV-Z]{26}$")
NOBODY = "_01HMNZ0000000000000000000Z"  # the ULID of ids nobody holds


@dataclass(frozen=True)
class Twin:
    """How to call one mutation on each surface: REST (method, path, body) and GraphQL
    (document, variables), given the ids its setup prepared."""

    rest: Callable[[Ids], tuple[str, str, Any]]
    graphql: Callable[[Ids], tuple[str, dict[str, Any]]]
    env: str = "test"  # integrations are connected with live keys only
    setup: Setup | None = None
    missing: Ids = field(default_factory=dict)  # non-id values that name nothing


async def prepare(ws: Workspace, twin: Twin) -> Ids:
    """A fresh lead and what the twin's setup adds, for one run on one surface."""
    r = await ws.request("POST", "/api/v1/leads", json=lead_body())
    assert r.status_code == 201, r.text
    # `phone` is a number no lead has yet (a twin that creates a lead uses it).
    ids = {
        "lead": r.json()["data"]["id"],
        "phone": lead_body()["phone"],
        "ref": f"PAR-{uuid.uuid4().hex[:12]}",
    }
    if twin.setup is not None:
        ids |= await twin.setup(ws, ids)
    return ids


async def created(
    ws: Workspace, path: str, body: Any = None, *, method: str = "POST", env: str = "test"
) -> Any:
    """The `data` of a setup request that must succeed (201, or 200 for a PUT or an action)."""
    r = await ws.request(method, path, env=env, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()["data"]


def missing(twin: Twin, ids: Ids) -> Ids:
    """`ids` with every object swapped for one of the same kind that does not exist."""
    swapped = {}
    for name, value in ids.items():
        match = _ID.match(value)
        swapped[name] = match.group(1) + NOBODY if match else value
    return swapped | twin.missing


@dataclass
class Answer:
    status: int
    code: str | None  # error code, or None on success
    trace: str | None
    header_trace: str
    replayed: bool
    body: bytes
    data: Any


async def call(
    ws: Workspace,
    surface: str,
    twin: Twin,
    ids: Ids,
    *,
    role: str = "admin",
    key: str | None = None,
    client: httpx.AsyncClient | None = None,
    pad: int = 0,
) -> Answer:
    headers = await ws.headers(twin.env, role)
    if key is not None:
        headers["Idempotency-Key"] = key
    http = client or ws.client
    if surface == "rest":
        method, path, body = twin.rest(ids)
        if pad:
            body = {**(body or {}), "padding": "x" * pad}
        content = orjson.dumps(body) if body is not None else b""
        r = await http.request(
            method, path, content=content, headers={**headers, "Content-Type": "application/json"}
        )
        parsed = r.json()
        error = parsed["error"]
        return Answer(
            r.status_code,
            error and error["code"],
            error and error["trace_id"],
            r.headers["x-trace-id"],
            "idempotent-replayed" in r.headers,
            r.content,
            parsed["data"],
        )
    document, variables = twin.graphql(ids)
    payload: dict[str, Any] = {"query": document, "variables": variables}
    if pad:
        payload["padding"] = "x" * pad
    r = await http.post(
        "/graphql",
        content=orjson.dumps(payload),
        headers={**headers, "Content-Type": "application/json"},
    )
    parsed = r.json()
    errors = parsed.get("errors")
    ext = errors[0]["extensions"] if errors else {}
    data = next(iter(parsed["data"].values())) if parsed.get("data") else None
    return Answer(
        r.status_code,
        ext.get("code"),
        ext.get("trace_id"),
        r.headers["x-trace-id"],
        "idempotent-replayed" in r.headers,
        r.content,
        data,
    )
