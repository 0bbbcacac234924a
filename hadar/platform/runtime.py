"""What a running process holds: settings, the guard over the shared store, and the key
authenticator the bootstrap wires in (so the platform never imports the services above it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hadar.domain.scope import Scope
from hadar.platform.guard import Guard
from hadar.platform.keycache import SharedKeyCache
from hadar.settings import Settings

Authenticator = Callable[[str], Awaitable[Scope]]


@dataclass
class Runtime:
    settings: Settings
    guard: Guard
    authenticate: Authenticator
    anon_limit: int = 1000
    # With Redis: keys remembered per process, confirmed by the rate-limit round trip (the
    # pipeline then admits and meters through it instead of `authenticate` and the guard).
    keys: SharedKeyCache | None = None
