"""What every resolver sees (`info.context`): the admitted caller and its per-request loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from hadar.domain.scope import Scope
from hadar.graphql.loaders import Loaders
from hadar.graphql.plan import Plan
from hadar.platform.runtime import Runtime


@dataclass
class Exchange:
    """One HTTP request's passage through the view: set by admission, read by the resolvers'
    context and by the response writer."""

    plan: Plan
    scope: Scope
    runtime: Runtime
    failure: str | None = None  # first error code of a mutation that must roll back


@dataclass
class Context:
    request: Request
    response: Response
    scope: Scope
    runtime: Runtime
    loaders: Loaders
    exchange: Exchange = field(repr=False)
