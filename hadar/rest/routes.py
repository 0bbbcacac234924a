"""The REST route table, mounted at /api/v1 (canonical), /v1 (public host) and /api (dashboard)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from hadar.rest import api_keys, leads
from hadar.rest.endpoint import endpoint

ROUTES: list[tuple[str, str, object, dict[str, bool]]] = [
    ("POST", "/leads", leads.create, {"mutation": True}),
    ("GET", "/leads", leads.list_, {}),
    ("GET", "/leads/{lead_id}", leads.retrieve, {}),
    ("PATCH", "/leads/{lead_id}", leads.update, {"mutation": True}),
    ("DELETE", "/leads/{lead_id}", leads.delete, {"mutation": True}),
    ("POST", "/api_keys", api_keys.create, {"mutation": True, "fail_closed": True}),
    ("GET", "/api_keys", api_keys.list_, {"fail_closed": True}),
    ("POST", "/api_keys/{key_id}/revoke", api_keys.revoke, {"mutation": True, "fail_closed": True}),
]


def api_routes() -> list[BaseRoute]:
    routes = [
        Route(path, endpoint(handler, **flags), methods=[method])  # type: ignore[arg-type]
        for method, path, handler, flags in ROUTES
    ]
    return [Mount(prefix, routes=routes) for prefix in ("/api/v1", "/v1", "/api")]
