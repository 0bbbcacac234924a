"""The access log and request metrics: one `hadar.access` line per HTTP request.

The line names the matched route's path TEMPLATE (`/api/v1/leads/{lead_id}`), never the raw path
or the query string, so an id-shaped secret in a path or a token sent by mistake as `?token=`
is never written; a request no route takes is logged as `<unmatched>`. Tenant and key id come
from `annotate` (called by the request pipeline once it has authenticated the caller).

Mount it inside the middleware that sets the trace id, so the line carries it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hadar.observability import metrics
from hadar.observability.context import SCOPE_KEY, request_caller

log = logging.getLogger("hadar.access")
UNMATCHED = "<unmatched>"


def _mount_prefix(scope: Scope, server_root: str) -> str | None:
    """The static mount prefix the router went through ("" for none); None when the matched
    prefix is not one of the app's static mounts (a mount with path parameters would put
    request values there)."""
    prefix = str(scope.get("root_path", ""))[len(server_root) :]
    if not prefix:
        return ""
    router = scope.get("router")
    for route in getattr(router, "routes", ()):
        if isinstance(route, Mount) and route.path == prefix:
            return prefix
    return None


def route_template(scope: Scope, server_root: str = "") -> str:
    """The path template of the route that answered `scope`, or UNMATCHED."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    if isinstance(route, Mount):  # a mounted app without routes of its own (static files)
        return f"{path}/{{path}}"
    prefix = _mount_prefix(scope, server_root)
    return f"{'/{mount}' if prefix is None else prefix}{path}"


class AccessMiddleware:
    """Writes one access line and counts the request metrics for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server_root = str(scope.get("root_path", ""))
        started = time.perf_counter()
        status: int | None = None

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with request_caller(scope):
            try:
                await self.app(scope, receive, send_status)
            finally:
                seconds = time.perf_counter() - started
                # Nothing sent yet means the app raised: the trace middleware answers 500.
                self._record(scope, server_root, status or 500, seconds)

    @staticmethod
    def _record(scope: Scope, server_root: str, status: int, seconds: float) -> None:
        route = route_template(scope, server_root)
        method = metrics.method_label(str(scope.get("method", "")))
        metrics.observe_request(route=route, method=method, status=status, seconds=seconds)
        duration_ms = round(seconds * 1000, 1)
        caller = scope.get(SCOPE_KEY)
        log.info(
            "%s %s %s %.1fms tenant=%s key=%s",
            method,
            route,
            status,
            duration_ms,
            getattr(caller, "tenant_id", None) or "-",
            getattr(caller, "key_id", None) or "-",
            extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
        )
