"""RouteSpec: one REST operation, declared once and read by the router and the OpenAPI generator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # relative to /api/v1, e.g. "/leads/{lead_id}"
    handler: Callable[..., Any]
    summary: str
    tag: str
    mutation: bool = False  # POST/PATCH/DELETE: idempotent, transactional
    fail_closed: bool = False  # 503 when the shared store (Redis) is unreachable
    body: type[pydantic.BaseModel] | None = None  # request body model (the service's own)
    query: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    status: int = 200  # the usual success status
    extra_statuses: tuple[int, ...] = ()  # other success statuses (e.g. 200 for a merge)
    errors: tuple[str, ...] = ()  # documented error codes this operation can answer with
    shown_once: tuple[str, ...] = ()  # response fields never stored (an idempotent replay: null)
