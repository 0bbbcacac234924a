"""REST adapter for the audit log (admin only)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.parsing import PAGE_PARAMS, query
from hadar.rest.spec import RouteSpec
from hadar.services import audit


async def list_(call: Call) -> tuple[int, Any]:
    page = await audit.list_events(scope=call.scope, **query(call.request, PAGE_PARAMS))
    return 200, page_body(page, audit.present_event)


ROUTES = [
    RouteSpec(
        "GET",
        "/audit_events",
        list_,
        "List the audit log (admin)",
        "Audit log",
        query=PAGE_PARAMS,
        errors=("validation_error", "unauthorized", "invalid_api_key", "forbidden", "rate_limited"),
    ),
]
