"""The one request pipeline REST and GraphQL both run through.

    bearer token -> key -> payload (read within the size limit, only once the key is known)
    -> plan (which declared operations, at what cost) -> meter (the whole cost, fail-closed by
    declaration; with Redis, a key remembered by this process is confirmed in that same round
    trip, else read afresh and metered as the database says now) -> permit (every operation's
    role rule, before any replay) -> the service inside the idempotency guard (storing exactly
    what the operations declare storable) -> the outcome, with the trace id of the body it carries.

A surface supplies only its translations: how to read its payload, how to plan it, how to
execute it and how to render an error. Every rule of admission, metering, idempotency and
replay lives here once, so the two surfaces cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from starlette.requests import Request

from hadar import observability
from hadar.domain import addresses
from hadar.domain.scope import Operation, Scope
from hadar.errors import (
    Forbidden,
    HadarError,
    InvalidApiKey,
    RateLimited,
    Unauthorized,
)
from hadar.platform import epochs, idempotency, tokens
from hadar.platform.idempotency import Outcome
from hadar.platform.keycache import Admission, rate_key
from hadar.platform.payload import (  # re-exported: the surfaces read payloads through here
    MAX_JSON_DEPTH as MAX_JSON_DEPTH,
)
from hadar.platform.payload import check_content_type as check_content_type
from hadar.platform.payload import check_query_string as check_query_string
from hadar.platform.payload import check_text as check_text
from hadar.platform.payload import parse_json as parse_json
from hadar.platform.payload import read_limited as read_limited
from hadar.platform.runtime import Runtime
from hadar.platform.tracing import current_trace_id

log = logging.getLogger("hadar.pipeline")


@dataclass(frozen=True)
class Plan:
    """What a request will do, known before it runs."""

    operations: tuple[Operation, ...] = ()
    mutation: bool = False
    cost: int = 1  # units of the key's per-minute budget (GraphQL: one per root field)
    error: HadarError | None = None  # a refusal found while planning, answered after metering

    @property
    def fail_closed(self) -> bool:
        return any(op.fail_closed for op in self.operations)

    @property
    def shown_once(self) -> frozenset[str]:
        """Field names never stored, as REST (snake_case) and GraphQL (camelCase) spell them."""
        names = {name for op in self.operations for name in op.shown_once}
        camel = {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), n) for n in names}
        return frozenset(names | camel)

    @classmethod
    def of(cls, operation: Operation) -> Plan:
        return cls(operations=(operation,), mutation=operation.mutation)


class OutcomeError(HadarError):
    """Raised by a surface's executor with an answer it has already rendered: the transaction
    rolls back, and the answer is sent (and stored under an Idempotency-Key when `code` is one
    idempotency remembers)."""

    def __init__(self, code: str, outcome: Outcome) -> None:
        super().__init__("the operation failed")
        self.code = code
        self.outcome = outcome


class Surface(Protocol):
    def render_error(self, err: HadarError) -> Outcome:
        """The error as this surface answers it (status, body, headers)."""

    def trace_of(self, body: bytes) -> str | None:
        """The trace id inside a stored body, if it carries one."""


@dataclass
class Incoming:
    """A request as the pipeline sees it, whatever the surface."""

    method: str
    path: str  # canonical: every alias of a route shares its idempotency keys
    headers: Mapping[str, str]  # lower-case names
    client: str
    trace_id: str
    asgi: MutableMapping[str, Any] = field(default_factory=dict)  # the ASGI scope (access log)

    @classmethod
    def of(cls, request: Request, path: str) -> Incoming:
        """A Starlette request, filed under its canonical `path`."""
        return cls(
            method=request.method,
            path=path,
            headers=request.headers,
            client=client_address(request),
            trace_id=current_trace_id() or "",
            asgi=request.scope,
        )


def client_address(request: Request) -> str:
    """The peer's address (uvicorn has already applied X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


@dataclass
class Exchange:
    """What a request carried through the pipeline: the caller, the payload and the plan."""

    scope: Scope
    payload: Any
    plan: Plan
    headers: dict[str, str] = field(default_factory=dict)  # rate-limit headers so far


PayloadReader = Callable[[], Awaitable[Any]]
Planner = Callable[[Any], Plan]
Executor = Callable[[Exchange], Awaitable[Outcome]]


def canonical(payload: Any) -> bytes:
    """The payload as the idempotency fingerprint sees it (key order does not matter)."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def blank(value: Any, names: frozenset[str]) -> Any:
    """`value` with every field named in `names`, at any depth, set to null: what is stored
    for a replay when an answer shows a secret once."""
    if isinstance(value, dict):
        return {k: (None if k in names else blank(v, names)) for k, v in value.items()}
    if isinstance(value, list):
        return [blank(v, names) for v in value]
    return value


def storable(body: bytes, names: frozenset[str]) -> bytes | None:
    """The body to store instead of `body`, or None when it holds nothing shown once."""
    if not names:
        return None
    return orjson.dumps(blank(orjson.loads(body), names))


async def meter_anonymous(runtime: Runtime, client: str) -> dict[str, str]:
    """Meter a request that carries no valid key by its client address."""
    verdict = await runtime.guard.meter(f"ip:{client}", runtime.anon_limit, fail_closed=False)
    return _headers_or_refuse(verdict)


def _headers_or_refuse(verdict: Any) -> dict[str, str]:
    headers: dict[str, str] = verdict.headers()
    if not verdict.allowed:
        raise RateLimited(
            f"rate limit of {verdict.limit} requests a minute exceeded; retry after "
            f"{verdict.retry_after} s",
            headers=headers,
        )
    return headers


@dataclass
class Caller:
    """Who a request acts for: its scope and, with a shared key cache, how it was admitted."""

    scope: Scope
    token: str
    admission: Admission | None = None


def _check_address(incoming: Incoming, scope: Scope) -> None:
    if not addresses.allowed(incoming.client, scope.allowed_ips):
        raise Forbidden(f"this key does not accept requests from {incoming.client} (IP allow-list)")


async def authenticate(runtime: Runtime, incoming: Incoming) -> Caller:
    """The caller; Unauthorized/InvalidApiKey, or Forbidden from an address outside the key's
    allow-list (each metered by address), before anything else runs. With a shared key cache
    the scope may come from memory, confirmed when the request is metered."""
    try:
        token = tokens.parse_bearer(incoming.headers.get("authorization"))
        admission: Admission | None = None
        if runtime.keys is None:
            scope = await runtime.authenticate(token)
        else:
            admission = await runtime.keys.admit(token)
            if admission.epoch is not None and not addresses.allowed(
                incoming.client, admission.scope.allowed_ips
            ):  # a refusal is never answered from memory
                admission = await runtime.keys.admit(token, afresh=True)
            scope = admission.scope
        _check_address(incoming, scope)
    except (Unauthorized, InvalidApiKey, Forbidden) as err:
        err.headers.update(await meter_anonymous(runtime, incoming.client))
        raise
    observability.annotate(incoming.asgi, tenant_id=scope.tenant_id, key_id=scope.key_id)
    return Caller(dataclasses.replace(scope, trace_id=incoming.trace_id), token, admission)


async def meter(
    runtime: Runtime, incoming: Incoming, caller: Caller, planned: Plan
) -> tuple[Scope, dict[str, str]]:
    """Meter the whole cost of the request: the scope it acts in (read afresh when the one
    remembered had changed, then refused like authenticate() when it no longer holds) and
    the rate-limit headers; RateLimited when over budget."""
    cost, fail_closed = max(1, planned.cost), planned.fail_closed
    if caller.admission is None or runtime.keys is None:
        verdict = await runtime.guard.meter(
            rate_key(caller.scope), caller.scope.rate_limit, cost=cost, fail_closed=fail_closed
        )
        return _admitted(caller.scope, verdict)
    try:
        scope, verdict = await runtime.keys.meter(
            caller.admission,
            caller.token,
            cost=cost,
            fail_closed=fail_closed,
            check=lambda fresh: _check_address(incoming, fresh),
        )
    except (InvalidApiKey, Forbidden) as err:
        err.headers.update(await meter_anonymous(runtime, incoming.client))
        raise
    return _admitted(dataclasses.replace(scope, trace_id=incoming.trace_id), verdict)


def _admitted(scope: Scope, verdict: Any) -> tuple[Scope, dict[str, str]]:
    return scope, _headers_or_refuse(verdict)


async def run(
    runtime: Runtime,
    incoming: Incoming,
    *,
    surface: Surface,
    payload: PayloadReader,
    plan: Planner,
    execute: Executor,
) -> Outcome:
    """Carry one request through admission, metering, role checks and idempotency."""
    headers: dict[str, str] = {}
    try:
        caller = await authenticate(runtime, incoming)
        unreadable: HadarError | None = None
        try:
            body = await payload()
        except HadarError as err:  # still metered (and told its budget) before it is refused
            body, unreadable = None, err
        planned = plan(body)
        scope, headers = await meter(runtime, incoming, caller, planned)
        if unreadable is not None:
            raise unreadable
        if planned.error is not None:
            raise planned.error
        for operation in planned.operations:
            operation.permit(scope)
        exchange = Exchange(scope=scope, payload=body, plan=planned, headers=headers)
        outcome = await _perform(runtime, incoming, exchange, surface, execute)
    except HadarError as err:
        outcome = _rendered(surface, err)
    except Exception as exc:
        log.exception("unhandled error in %s %s", incoming.method, incoming.path)
        observability.report_internal(exc, incoming.trace_id)
        outcome = surface.render_error(HadarError())
    outcome.headers = {**headers, **outcome.headers}
    return outcome


def _rendered(surface: Surface, err: HadarError) -> Outcome:
    if isinstance(err, OutcomeError):
        return err.outcome
    outcome = surface.render_error(err)
    outcome.headers = {**outcome.headers, **err.headers}
    return outcome


async def _perform(
    runtime: Runtime,
    incoming: Incoming,
    exchange: Exchange,
    surface: Surface,
    execute: Executor,
) -> Outcome:
    planned = exchange.plan
    if not planned.mutation:
        return await execute(exchange)
    key = idempotency.check_key(incoming.headers.get("idempotency-key"))
    hidden = planned.shown_once

    async def run_once() -> Outcome:
        outcome = await execute(exchange)
        outcome.stored_body = storable(outcome.body, hidden)
        return outcome

    # Key changes inside are announced to every instance after the transaction commits and
    # before the answer leaves (hadar.platform.epochs).
    async with epochs.announcing(runtime.guard if runtime.guard.shared else None):
        outcome = await idempotency.perform(
            guard=runtime.guard,
            scope=exchange.scope,
            key=key,
            method=incoming.method,
            path=incoming.path,
            canonical_body=canonical(exchange.payload),
            run=run_once,
            render_error=lambda err: _rendered(surface, err),
            fail_closed=planned.fail_closed,
        )
    if outcome.replayed:
        outcome.headers["Idempotent-Replayed"] = "true"
        stored_trace = surface.trace_of(outcome.body)
        if stored_trace:
            outcome.headers["X-Trace-Id"] = stored_trace
    return outcome
