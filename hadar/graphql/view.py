"""POST/GET /graphql: the GraphQL translation around the shared request pipeline.

The pipeline admits, meters (one unit per root field), checks roles, and makes mutations
idempotent exactly as for REST; this module reads the GraphQL payload, plans it, executes it
with Strawberry and writes the answer. A mutation whose fields fail is rolled back whole and
answers `data: null` with its errors, so no half-applied request is reported as done.
`GET /graphql` from a browser opens GraphiQL from Hadar's own assets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.types.graphql import OperationType

from hadar.errors import HadarError, ValidationError
from hadar.graphql import errors
from hadar.graphql.context import Context
from hadar.graphql.errors import DocumentError
from hadar.graphql.loaders import Loaders
from hadar.graphql.plan import planner
from hadar.graphql.schema import root_operations, schema
from hadar.platform import pipeline
from hadar.platform.idempotency import Outcome
from hadar.platform.runtime import Runtime

IDE_HTML = (Path(__file__).resolve().parents[1] / "static" / "graphiql.html").read_text("utf-8")
PATH = "/graphql"
_plan = planner(root_operations())


class GraphQLSurface:
    """How GraphQL renders a request-level error and finds the trace id of a stored answer."""

    def render_error(self, err: HadarError) -> Outcome:
        status = 200 if isinstance(err, DocumentError) else err.status
        return Outcome(status, errors.request_error_body(err), headers=dict(err.headers))

    def trace_of(self, body: bytes) -> str | None:
        if b'"errors"' not in body:
            return None
        found = orjson.loads(body).get("errors") or [{}]
        trace = (found[0].get("extensions") or {}).get("trace_id")
        return trace if isinstance(trace, str) else None


SURFACE = GraphQLSurface()


def _wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and not request.query_params


def _payload_of(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("the request body must be a GraphQL JSON object", field="body")
    variables = value.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise ValidationError("variables must be a JSON object", field="body.variables")
    return value


async def graphql_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if _wants_ide(request):
        return await _ide(request, runtime)
    post = request.method == "POST"

    async def payload() -> Any:
        pipeline.check_query_string(request.scope.get("query_string", b""))
        if not post:
            params = dict(request.query_params)
            for name, value in params.items():
                pipeline.check_text(value, name)
            if isinstance(params.get("variables"), str):
                params["variables"] = pipeline.parse_json(params["variables"].encode())
            return _payload_of(params)
        raw = await pipeline.read_limited(
            request.stream(), request.headers.get("content-length"), runtime.settings.max_body_bytes
        )
        pipeline.check_content_type(request.headers.get("content-type"), raw)
        return _payload_of(pipeline.parse_json(raw))

    async def execute(exchange: pipeline.Exchange) -> Outcome:
        body = exchange.payload
        context = Context(
            scope=exchange.scope, runtime=runtime, loaders=Loaders.for_scope(exchange.scope)
        )
        result = await schema.execute(
            body.get("query"),
            variable_values=body.get("variables"),
            context_value=context,
            operation_name=body.get("operationName"),
            allowed_operation_types=None if post else (OperationType.QUERY,),
        )
        if not result.errors:
            return Outcome(200, orjson.dumps({"data": result.data}))
        data = None if exchange.plan.mutation else result.data
        answer = orjson.dumps(
            {"data": data, "errors": [errors.format_error(e) for e in result.errors]}
        )
        if exchange.plan.mutation:
            first = errors.hadar_error_of(result.errors[0])
            failure = pipeline.OutcomeError(first.code, Outcome(200, answer))
            # A field that already called a provider keeps the document's effects (see
            # HadarError.keep_effects): rolling back would lose the record of the send.
            failure.keep_effects = any(errors.hadar_error_of(e).keep_effects for e in result.errors)
            raise failure
        return Outcome(200, answer)

    outcome = await pipeline.run(
        runtime,
        pipeline.Incoming.of(request, PATH),
        surface=SURFACE,
        payload=payload,
        plan=lambda body: _plan(request.method, body),
        execute=execute,
    )
    return Response(
        outcome.body,
        status_code=outcome.status,
        headers=outcome.headers,
        media_type="application/json",
    )


async def _ide(request: Request, runtime: Runtime) -> Response:
    try:
        headers = await pipeline.meter_anonymous(runtime, pipeline.client_address(request))
    except HadarError as err:
        return Response(
            errors.request_error_body(err),
            status_code=err.status,
            headers=err.headers,
            media_type="application/json",
        )
    return HTMLResponse(IDE_HTML, headers=headers)
