"""RouteSpec: one REST operation, declared once and read by the router and the OpenAPI document.

Its Operation (hadar.domain.scope) is the declaration the GraphQL twin names too: role rule,
mutation, fail-closed and shown-once fields all come from there, never from the route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pydantic

from hadar.domain.scope import Operation

if TYPE_CHECKING:
    from hadar.rest.endpoint import Call

Handler = Callable[["Call"], Awaitable[tuple[int, Any]]]
# Every authenticated route can answer these; the rest are derived from what a route declares.
BASE_ERRORS = ("unauthorized", "invalid_api_key", "forbidden", "rate_limited")
JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # relative to /api/v1, e.g. "/leads/{lead_id}"
    handler: Handler
    op: Operation
    summary: str
    tag: str
    body: type[pydantic.BaseModel] | None = None  # request body model (the service's own)
    query: type[pydantic.BaseModel] | None = None  # query parameters model (the service's own)
    response: type[pydantic.BaseModel] | None = None  # the `data` of a success
    status: int = 200  # the usual success status
    statuses: dict[int, str] = field(default_factory=dict)  # other successes, e.g. 200 merged
    description: str = ""
    example: dict[str, Any] | None = None  # a request body "Try it out" starts from
    errors: tuple[str, ...] = ()  # documented codes beyond the derived ones
    # A success in another format (the invoice PDF): the handler returns its bytes, errors
    # stay JSON envelopes.
    media_type: str = JSON_MEDIA_TYPE

    @property
    def mutation(self) -> bool:
        return self.op.mutation

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def error_codes(self) -> tuple[str, ...]:
        """Every documented error code this route can answer with."""
        codes = list(BASE_ERRORS)
        if self.body is not None or self.query is not None or self.mutation:
            codes.append("validation_error")
        if self.path_params:
            codes.append("not_found")
        if self.mutation:
            codes.append("conflict")
        if self.op.fail_closed:
            codes.append("service_unavailable")
        codes.extend(self.errors)
        return tuple(dict.fromkeys(codes))
