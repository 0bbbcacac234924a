"""The REST route table, mounted at /api/v1 (canonical), /v1 (public host) and /api (dashboard).

Read from the feature modules of `hadar.rest`: a module's `ROUTES` (RouteSpecs, served through
the pipeline) and `INBOUND` (provider webhooks: no API key, so outside the pipeline; each
authenticates its provider) are mounted by existing. A module's own order is kept (the PDF
route before the invoice route its path would also match); modules follow in name order.
"""

from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from hadar.discovery import modules
from hadar.rest.endpoint import endpoint
from hadar.rest.spec import RouteSpec

FEATURES = modules("hadar.rest")
ROUTES: list[RouteSpec] = [spec for m in FEATURES for spec in vars(m).get("ROUTES", ())]
INBOUND: list[BaseRoute] = [route for m in FEATURES for route in vars(m).get("INBOUND", ())]
PREFIXES = ("/api/v1", "/v1", "/api")


class Table(BaseRoute):
    """A mount's routes, found by their first path segment (`/leads`) in one lookup and then
    tried in their own order. Starlette tries a mount's routes one by one: with the whole API
    in one mount that was about forty regular expressions a request."""

    def __init__(self, groups: dict[str, list[Route]]) -> None:
        self.groups = groups

    @property
    def routes(self) -> list[Route]:
        return [route for group in self.groups.values() for route in group]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        group = self.groups.get("/" + path.split("/", 2)[1] if path.startswith("/") else "")
        partial: tuple[Match, Scope] | None = None
        for route in group or ():
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, {**child, "route": route}  # the route itself answers and is logged
            if match is Match.PARTIAL and partial is None:
                partial = (match, {**child, "route": route})
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["route"].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def _head(route: Route) -> str | None:
    """The literal first segment of the route's path (`/leads`), None when it is a parameter."""
    first = "/" + route.path.split("/")[1]
    return None if "{" in first else first


def tabled(routes: list[Route]) -> list[BaseRoute]:
    """`routes` as one Table. Paths with different first segments never match the same
    request, so the answer is the route Starlette's one-by-one search finds; a table with a
    parameter first is left as it is."""
    if any(_head(route) is None for route in routes):
        return list(routes)
    groups: dict[str, list[Route]] = {}
    for route in routes:
        groups.setdefault(_head(route) or "", []).append(route)
    return [Table(groups)]


def api_routes() -> list[BaseRoute]:
    routes: list[Route] = [
        Route(spec.path, endpoint(spec), methods=[spec.method]) for spec in ROUTES
    ]
    inbound = [route for route in INBOUND if isinstance(route, Route)]
    assert len(inbound) == len(INBOUND), "INBOUND holds Routes"
    return [Mount(prefix, routes=tabled([*inbound, *routes])) for prefix in PREFIXES]
