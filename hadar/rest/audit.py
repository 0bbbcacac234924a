"""REST routes for the audit log (admin only)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import audit
from hadar.services.validation import PageQuery


async def list_(call: Call) -> tuple[int, Any]:
    page = await audit.list_events(scope=call.scope, **call.query.model_dump(exclude_none=True))
    return 200, page_body(page, audit.present_event)


ROUTES = [
    RouteSpec(
        "GET",
        "/audit_events",
        list_,
        audit.LIST,
        "List the audit log (admin)",
        "Audit log",
        query=PageQuery,
        response=audit.AuditEventListOut,
        description="Every mutation of the caller's environment, newest first.",
    ),
]
