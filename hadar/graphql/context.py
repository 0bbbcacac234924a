"""What every resolver sees (`info.context`): the admitted caller and its per-request loaders."""

from __future__ import annotations

from dataclasses import dataclass

from hadar.domain.scope import Scope
from hadar.graphql.loaders import Loaders
from hadar.platform.runtime import Runtime


@dataclass
class Context:
    scope: Scope
    runtime: Runtime
    loaders: Loaders
