"""The REST translation around the shared pipeline: a Starlette request in, an envelope out.

Admission, metering, role checks, idempotency and replays are `hadar.platform.pipeline`'s;
this module only reads a REST request into it and writes the `{data, error}` answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hadar.errors import HadarError, NotFound, ValidationError
from hadar.platform import pipeline
from hadar.platform.idempotency import Outcome
from hadar.platform.runtime import Runtime
from hadar.rest.envelope import data_body, error_body, error_response, json_response
from hadar.rest.parsing import query_model
from hadar.rest.spec import JSON_MEDIA_TYPE, RouteSpec

MAX_PATH_PARAM = 200  # ids are ~31 characters; the idempotency record keeps paths of 500


@dataclass
class Call:
    request: Request
    exchange: pipeline.Exchange
    runtime: Runtime
    query: Any  # the route's query model instance, or None

    @property
    def scope(self) -> Any:
        return self.exchange.scope

    @property
    def body(self) -> Any:
        return self.exchange.payload

    @property
    def params(self) -> dict[str, Any]:
        return self.request.path_params


def check_path_params(params: dict[str, Any]) -> None:
    """NotFound, before anything runs or is stored, for a path parameter no object can have:
    every one is an id, so anything but up to MAX_PATH_PARAM printable ASCII characters (NUL,
    bytes that were not UTF-8) names nothing, and is not worth remembering under a key."""
    for value in params.values():
        text = str(value)
        if len(text) > MAX_PATH_PARAM or not all("!" <= c <= "~" for c in text):
            raise NotFound("no object has this id")


def canonical_path(request: Request) -> str:
    """The route's canonical /api/v1 path, so the aliases share idempotency keys."""
    path = request.url.path
    for alias in ("/api/v1/", "/v1/", "/api/"):
        if path.startswith(alias):
            return "/api/v1/" + path[len(alias) :]
    return path


class RestSurface:
    """How REST renders an error and finds the trace id of a stored answer."""

    def render_error(self, err: HadarError) -> Outcome:
        return Outcome(err.status, error_body(err), headers=dict(err.headers))

    def trace_of(self, body: bytes) -> str | None:
        if not body.startswith(b'{"data":null'):
            return None
        trace = (orjson.loads(body).get("error") or {}).get("trace_id")
        return trace if isinstance(trace, str) else None


SURFACE = RestSurface()


def endpoint(spec: RouteSpec) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of `spec`: the pipeline around its handler."""
    plan = pipeline.Plan.of(spec.op)
    binary = spec.media_type != JSON_MEDIA_TYPE

    async def run(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime

        async def payload() -> Any:
            pipeline.check_query_string(request.scope.get("query_string", b""))
            check_path_params(request.path_params)
            if not spec.mutation:
                return None
            raw = await pipeline.read_limited(
                request.stream(),
                request.headers.get("content-length"),
                runtime.settings.max_body_bytes,
            )
            pipeline.check_content_type(request.headers.get("content-type"), raw)
            return pipeline.parse_json(raw)

        async def execute(exchange: pipeline.Exchange) -> Outcome:
            if spec.body is None and exchange.payload not in (None, {}):
                # Refused like an unknown field (here, so a used key still answers 409 first):
                # ignoring it would run the action as if the client had asked for nothing more.
                raise ValidationError("this route takes no request body", field="body")
            query = query_model(request, spec.query)
            status, data = await spec.handler(Call(request, exchange, runtime, query))
            return Outcome(status, data if binary else data_body(data))

        outcome = await pipeline.run(
            runtime,
            pipeline.Incoming.of(request, canonical_path(request)),
            surface=SURFACE,
            payload=payload,
            plan=lambda _: plan,
            execute=execute,
        )
        if binary and outcome.status == spec.status and not outcome.body.startswith(b'{"data"'):
            return Response(outcome.body, outcome.status, outcome.headers, spec.media_type)
        return json_response(outcome.status, outcome.body, outcome.headers)

    return run


async def anonymous(request: Request, err: HadarError) -> Response:
    """An error for a request no route takes (unknown path or method), metered by address."""
    runtime: Runtime = request.app.state.runtime
    try:
        headers = await pipeline.meter_anonymous(runtime, pipeline.client_address(request))
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
            headers = await pipeline.meter_anonymous(runtime, pipeline.client_address(request))
        except HadarError as err:
            return error_response(err, err.headers)
        response = await page(request)
        response.headers.update(headers)
        return response

    return run
