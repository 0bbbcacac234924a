"""POST/GET /graphql: the Strawberry view with Hadar's admission, idempotency and errors.

A request is admitted exactly like REST (same keys, rate limits and X-RateLimit-* headers;
API-key operations fail closed), then executed; a mutation runs through the same idempotency
store as REST, inside one transaction with its stored response. A mutation whose fields fail
is rolled back whole and answers `data: null` with its errors, so no half-applied request is
ever reported as done. `GET /graphql` from a browser opens GraphiQL from Hadar's own assets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from hadar import observability  # observability
from hadar.errors import HadarError, PayloadTooLarge, ValidationError
from hadar.graphql import errors
from hadar.graphql.context import Context, Exchange
from hadar.graphql.loaders import Loaders
from hadar.graphql.plan import plan_of
from hadar.graphql.schema import schema
from hadar.platform import access, idempotency
from hadar.platform.runtime import Runtime
from hadar.platform.tracing import current_trace_id  # observability

log = logging.getLogger("hadar.graphql")
IDE_HTML = (Path(__file__).resolve().parents[1] / "static" / "graphiql.html").read_text("utf-8")
PATH = "/graphql"


class _MutationFailed(HadarError):
    """A mutation answered with field errors: raised through the transaction so it rolls back,
    carrying the GraphQL response to send (and to store, for codes idempotency remembers)."""

    def __init__(self, code: str, outcome: idempotency.Outcome) -> None:
        super().__init__("mutation failed")
        self.code = code
        self.outcome = outcome


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class HadarGraphQL(GraphQL[Context, None]):
    def __init__(self) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.respond(request)
        except Exception as exc:
            log.exception("unhandled error in /graphql")
            observability.report_internal(exc, current_trace_id())  # observability
            response = self.error_response(HadarError(), {})
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return await self.render_graphql_ide(request)
        headers: dict[str, str] = {}
        try:
            payload = await self._payload(request, runtime.settings.max_body_bytes)
            plan = plan_of(payload)
            scope, headers = await access.admit(
                runtime,
                authorization=request.headers.get("authorization"),
                client=_client(request),
                fail_closed=plan.fail_closed,
            )
            observability.annotate(request.scope, tenant_id=scope.tenant_id, key_id=scope.key_id)
            request.state.exchange = exchange = Exchange(plan=plan, scope=scope, runtime=runtime)
            if not (plan.mutation and request.method == "POST"):
                return self._response(await self._execute(request), headers)
            key = idempotency.check_key(request.headers.get("idempotency-key"))

            async def run() -> idempotency.Outcome:
                outcome = await self._execute(request)
                if exchange.failure is not None:
                    raise _MutationFailed(exchange.failure, outcome)
                return outcome

            outcome = await idempotency.perform(
                guard=runtime.guard,
                scope=scope,
                key=key,
                method="POST",
                path=PATH,
                canonical_body=orjson.dumps(payload, option=orjson.OPT_SORT_KEYS),
                run=run,
                render_error=self._render_stored,
                fail_closed=plan.fail_closed,
            )
            if outcome.replayed:
                headers["Idempotent-Replayed"] = "true"
            return self._response(outcome, {**headers, **outcome.headers})
        except _MutationFailed as failed:
            return self._response(failed.outcome, headers)
        except HadarError as err:
            return self.error_response(err, headers)

    async def _payload(self, request: Request, max_bytes: int) -> Any:
        """The request's GraphQL payload, read leniently (the executor reports bad ones)."""
        if request.method == "GET":
            return dict(request.query_params)
        body = await request.body()  # Starlette keeps it for Strawberry's own read
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"the request body exceeds {max_bytes} bytes")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return None

    async def _execute(self, request: Request) -> idempotency.Outcome:
        try:
            response = await self.run(request)
        except HTTPException as exc:
            raise ValidationError(exc.reason, field="body") from None
        return idempotency.Outcome(response.status_code, bytes(response.body))

    @staticmethod
    def _render_stored(err: HadarError) -> idempotency.Outcome:
        if isinstance(err, _MutationFailed):
            return err.outcome
        return idempotency.Outcome(err.status, errors.request_error_body(err), headers=err.headers)

    @staticmethod
    def _response(outcome: idempotency.Outcome, headers: dict[str, str]) -> Response:
        return Response(
            outcome.body, status_code=outcome.status, headers=headers, media_type="application/json"
        )

    @staticmethod
    def error_response(err: HadarError, headers: dict[str, str]) -> Response:
        return Response(
            errors.request_error_body(err),
            status_code=err.status,
            headers={**headers, **err.headers},
            media_type="application/json",
        )

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        exchange: Exchange = request.state.exchange
        return Context(
            request=request,
            response=response,
            scope=exchange.scope,
            runtime=exchange.runtime,
            loaders=Loaders.for_scope(exchange.scope),
            exchange=exchange,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            headers = await access.meter_anonymous(runtime, _client(request))
        except HadarError as err:
            return self.error_response(err, {})
        return HTMLResponse(IDE_HTML, headers=headers)

    async def process_result(  # type: ignore[override]
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if not result.errors:
            return {"data": result.data}
        exchange: Exchange = request.state.exchange
        data = result.data
        if exchange.plan.mutation:
            exchange.failure = errors.hadar_error_of(result.errors[0]).code
            data = None
        return {"data": data, "errors": [errors.format_error(e) for e in result.errors]}

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
