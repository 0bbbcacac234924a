"""The REST route table, mounted at /api/v1 (canonical), /v1 (public host) and /api (dashboard).

Read from the feature modules of `hadar.rest`: a module's `ROUTES` (RouteSpecs, served through
the pipeline) and `INBOUND` (provider webhooks: no API key, so outside the pipeline; each
authenticates its provider) are mounted by existing. A module's own order is kept (the PDF
route before the invoice route its path would also match); modules follow in name order.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from hadar.discovery import modules
from hadar.rest.endpoint import endpoint
from hadar.rest.spec import RouteSpec

FEATURES = modules("hadar.rest")
ROUTES: list[RouteSpec] = [spec for m in FEATURES for spec in vars(m).get("ROUTES", ())]
INBOUND: list[BaseRoute] = [route for m in FEATURES for route in vars(m).get("INBOUND", ())]
PREFIXES = ("/api/v1", "/v1", "/api")


def api_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(spec.path, endpoint(spec), methods=[spec.method]) for spec in ROUTES
    ]
    return [Mount(prefix, routes=[*INBOUND, *routes]) for prefix in PREFIXES]
