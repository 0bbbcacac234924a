"""The REST route table, mounted at /api/v1 (canonical), /v1 (public host) and /api (dashboard).

Each feature module declares its operations as RouteSpecs; add a feature by adding its list here.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from hadar.rest import (
    api_keys,
    audit,
    bookings,
    calls,
    conversations,
    inbound,
    integrations,
    invoices,
    leads,
    matches,
    properties,
    webhooks,
    whatsapp,
)
from hadar.rest.endpoint import endpoint
from hadar.rest.spec import RouteSpec

ROUTES: list[RouteSpec] = [
    *leads.ROUTES,
    *matches.ROUTES,
    *properties.ROUTES,
    *bookings.ROUTES,
    *api_keys.ROUTES,
    *webhooks.ROUTES,
    *audit.ROUTES,
    *integrations.ROUTES,
    *conversations.ROUTES,
    *whatsapp.ROUTES,
    *calls.ROUTES,
    *invoices.ROUTES,
]
# Provider webhooks: no API key, so outside the pipeline (each authenticates its provider).
INBOUND: list[BaseRoute] = [*inbound.ROUTES, *calls.INBOUND, *invoices.INBOUND]
PREFIXES = ("/api/v1", "/v1", "/api")


def api_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(spec.path, endpoint(spec), methods=[spec.method]) for spec in ROUTES
    ]
    return [Mount(prefix, routes=[*INBOUND, *routes]) for prefix in PREFIXES]
