"""One wrapper every REST route goes through: auth, rate limit, idempotency, envelope.

Routes declare what they need in words (`mutation=True`, `fail_closed=True`, `auth=False`);
the rules themselves live in `hadar.platform` and `hadar.services`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hadar import observability  # observability
from hadar.domain.scope import Scope
from hadar.errors import HadarError
from hadar.platform import access, idempotency
from hadar.platform.runtime import Runtime
from hadar.platform.tracing import current_trace_id  # observability
from hadar.rest.envelope import data_body, error_body, error_response, json_response
from hadar.rest.parsing import parse_json, read_body


@dataclass
class Call:
    request: Request
    scope: Scope
    body: Any
    runtime: Runtime

    @property
    def params(self) -> dict[str, Any]:
        return self.request.path_params


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


log = logging.getLogger("hadar.rest")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def trace_id_of(body: bytes) -> str | None:
    """The trace id inside a stored error body (a replay answers with the original one)."""
    if not body.startswith(b'{"data":null'):
        return None
    error = orjson.loads(body).get("error") or {}
    trace = error.get("trace_id")
    return trace if isinstance(trace, str) else None


def canonical_path(request: Request) -> str:
    """The route's canonical /api/v1 path, so the aliases share idempotency keys."""
    path = request.url.path
    for alias in ("/api/v1/", "/v1/", "/api/"):
        if path.startswith(alias):
            return "/api/v1/" + path[len(alias) :]
    return path


def endpoint(
    handler: Handler,
    *,
    mutation: bool = False,
    fail_closed: bool = False,
    shown_once: tuple[str, ...] = (),
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap `handler` so it runs authenticated, metered and (for mutations) idempotent."""

    async def run(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        headers: dict[str, str] = {}
        try:
            scope, headers = await access.admit(
                runtime,
                authorization=request.headers.get("authorization"),
                client=client_address(request),
                fail_closed=fail_closed,
            )
            observability.annotate(request.scope, tenant_id=scope.tenant_id, key_id=scope.key_id)
            if not mutation:
                status, data = await handler(Call(request, scope, None, runtime))
                return json_response(status, data_body(data), headers)
            key = idempotency.check_key(request.headers.get("idempotency-key"))
            body = parse_json(await read_body(request, runtime.settings.max_body_bytes))
            call = Call(request, scope, body, runtime)

            async def execute() -> idempotency.Outcome:
                status, data = await handler(call)
                stored = None
                if shown_once and isinstance(data, dict):
                    stored = data_body({**data, **dict.fromkeys(shown_once)})
                return idempotency.Outcome(status, data_body(data), stored_body=stored)

            def render(err: HadarError) -> idempotency.Outcome:
                return idempotency.Outcome(err.status, error_body(err), headers=err.headers)

            outcome = await idempotency.perform(
                guard=runtime.guard,
                scope=scope,
                key=key,
                method=request.method,
                path=canonical_path(request),
                canonical_body=orjson.dumps(body, option=orjson.OPT_SORT_KEYS),
                run=execute,
                render_error=render,
                fail_closed=fail_closed,
            )
            headers.update(outcome.headers)
            if outcome.replayed:
                headers["Idempotent-Replayed"] = "true"
                stored_trace = trace_id_of(outcome.body)
                if stored_trace:
                    headers["X-Trace-Id"] = stored_trace
            return json_response(outcome.status, outcome.body, headers)
        except HadarError as err:
            return error_response(err, headers)
        except Exception as exc:
            log.exception("unhandled error in %s %s", request.method, request.url.path)
            observability.report_internal(exc, current_trace_id())  # observability
            return error_response(HadarError(), headers)

    return run


async def anonymous(request: Request, err: HadarError) -> Response:
    """An error for a request no route takes (unknown path or method), metered by address."""
    runtime: Runtime = request.app.state.runtime
    try:
        headers = await access.meter_anonymous(runtime, client_address(request))
    except HadarError as limited:
        return error_response(limited, limited.headers)
    return error_response(err, headers)


def public(
    page: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A route that needs no key (health, docs): metered by client address like any
    unauthenticated request, with the rate-limit headers on its answer."""

    async def run(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            headers = await access.meter_anonymous(runtime, client_address(request))
        except HadarError as err:
            return error_response(err, err.headers)
        response = await page(request)
        response.headers.update(headers)
        return response

    return run
