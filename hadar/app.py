"""create_app(settings): the one place where concrete pieces are wired together."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise import Tortoise
from tortoise.contrib.starlette import RegisterTortoise

from hadar import pagination, secretbox
from hadar.db import tortoise_config
from hadar.domain.scope import Scope as Caller
from hadar.errors import HadarError, NotFound, ServiceUnavailable
from hadar.graphql.view import graphql_endpoint
from hadar.observability.access import AccessMiddleware  # observability
from hadar.observability.config import ObservabilityConfig  # observability
from hadar.observability.metrics import metrics_endpoint  # observability
from hadar.observability.sentry import configure_sentry, report_internal  # observability
from hadar.openapi.pages import docs_routes
from hadar.platform import maintenance
from hadar.platform.guard import Guard
from hadar.platform.keycache import KeyCache, SharedKeyCache, SqliteEpochs
from hadar.platform.runtime import Runtime
from hadar.platform.store import MemoryStore, RedisStore, Store
from hadar.platform.tracing import set_trace_id, trace_id_from
from hadar.providers import registry
from hadar.providers.factory import ProviderFactory
from hadar.rest.endpoint import anonymous, public
from hadar.rest.envelope import data_body, error_body, json_response
from hadar.rest.routes import api_routes
from hadar.services import integrations, keys
from hadar.settings import Settings, sqlite_path
from hadar.webhooks.runner import inprocess_worker

log = logging.getLogger("hadar")
STATIC = Path(__file__).parent / "static"


class TraceMiddleware:
    """Gives every request a trace id, stamps `X-Trace-Id` on every response and turns any
    unhandled exception into an `internal_error` envelope (logged with its traceback)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        trace_id = trace_id_from(headers.get(b"traceparent", b"").decode("latin-1"))
        set_trace_id(trace_id)
        started = False

        async def send_with_trace(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = list(message.get("headers", []))
                if not any(name.lower() == b"x-trace-id" for name, _ in raw):
                    raw.append((b"x-trace-id", trace_id.encode()))
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        except Exception as exc:
            log.exception("unhandled error (trace_id=%s)", trace_id)
            report_internal(exc, trace_id)  # observability
            if started:
                raise
            response = json_response(500, error_body(HadarError(), trace_id))
            await response(scope, receive, send_with_trace)


class SecurityHeadersMiddleware:
    """Stamps the headers SPEC 5 promises on every answer, whatever route or error made it:
    `nosniff` everywhere, `no-store` on JSON (bodies carry tenant data and one-time secrets),
    and a `frame-ancestors 'none'` CSP on HTML pages (no clickjacking of GraphiQL or the docs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": secured_headers(message.get("headers", []))}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secured_headers(raw: Any) -> list[tuple[bytes, bytes]]:
    """`raw` response headers plus the security headers its content type calls for."""
    headers = [(bytes(name).lower(), bytes(value)) for name, value in raw]
    kind = next((v for n, v in headers if n == b"content-type"), b"").split(b";")[0].strip()
    drop = {b"x-content-type-options"}
    extra = [(b"x-content-type-options", b"nosniff")]
    if kind == b"application/json" or kind.endswith(b"+json"):
        drop.add(b"cache-control")
        extra.append((b"cache-control", b"no-store"))
    elif kind == b"text/html":
        # A second CSP header narrows whatever a route set itself: browsers enforce every one.
        drop.add(b"x-frame-options")
        extra += [
            (b"content-security-policy", b"frame-ancestors 'none'"),
            (b"x-frame-options", b"DENY"),  # the same for browsers without CSP level 2
        ]
    return [(n, v) for n, v in headers if n not in drop] + extra


async def healthz(request: Request) -> Response:
    return json_response(200, data_body({"status": "ok"}))


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        conn = Tortoise.get_connection("default")
        await conn.execute_query("SELECT 1")
    except Exception:
        log.exception("readiness: database unreachable")
        return json_response(503, error_body(ServiceUnavailable("the database is unreachable")))
    if not await runtime.guard.ready():
        return json_response(503, error_body(ServiceUnavailable("Redis is unreachable")))
    return json_response(200, data_body({"status": "ready"}))


async def not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status in (404, 405):
        method, path = request.method, request.url.path
        return await anonymous(request, NotFound(f"no route for {method} {path}"))
    return await anonymous(request, HadarError())


async def unknown_route(request: Request) -> Response:
    """The answer to a path no route takes (`/metrics` without its token answers the same)."""
    return await not_found(request, HTTPException(404))


def build_store(settings: Settings) -> Store:
    return RedisStore(settings.redis_url) if settings.redis_url else MemoryStore()


def create_app(
    settings: Settings | None = None, observability: ObservabilityConfig | None = None
) -> Starlette:
    """The ASGI app: REST under /api/v1 (+ aliases), health, metrics, static assets."""
    settings = settings or Settings.from_env()
    observability = observability or ObservabilityConfig.from_env()  # observability
    configure_sentry(observability.sentry_dsn)  # observability: before routes are built
    pagination.configure(settings.secret_key)
    secretbox.configure(settings.secret_key)
    integrations.configure(public_url=settings.public_url)
    # The only place concrete providers are wired: one shared client, breakers per account.
    providers = ProviderFactory(settings)
    registry.install(providers)
    store = build_store(settings)

    async def verify(token: str) -> keys.VerifiedKey:
        return await keys.verify(token=token, secret=settings.secret_key)

    # Verified keys are remembered while their tenant's key epoch holds: the token in Redis
    # when there is one (any database), else the SQLite file's (nothing cached on PostgreSQL).
    guard = Guard(store, shared=settings.redis_url is not None)
    database_file = sqlite_path(settings.database_url)
    shared_keys = SharedKeyCache(verify, guard) if guard.shared else None
    key_cache = KeyCache(verify, SqliteEpochs() if database_file and not shared_keys else None)

    async def authenticate(token: str) -> Caller:
        return await key_cache.authenticate(token)

    runtime = Runtime(settings=settings, guard=guard, authenticate=authenticate, keys=shared_keys)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            RegisterTortoise(app, config=tortoise_config(settings.database_url)),
            maintenance.running(),  # periodic purge of expired idempotency records
            inprocess_worker(settings),  # webhook deliveries, unless `serve --no-worker`
        ):
            try:
                _ = providers.client  # opened once, shared by every adapter
                yield
            finally:
                await providers.aclose()
                await store.aclose()

    routes = [
        Route("/healthz", public(healthz), methods=["GET"]),
        Route("/readyz", public(readyz), methods=["GET"]),
        Route(  # observability
            "/metrics",
            metrics_endpoint(token=observability.metrics_token, refuse=unknown_route, serve=public),
            methods=["GET"],
        ),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *api_routes(),
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        *docs_routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        # Security headers outermost; the access line inside the trace, so it carries the trace id.
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(TraceMiddleware),
            Middleware(AccessMiddleware),  # observability
        ],
        exception_handlers={HTTPException: not_found},
    )
    app.state.runtime = runtime
    return app
