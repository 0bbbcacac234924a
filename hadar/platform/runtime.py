"""What a running process holds: settings and the guard over the shared store."""

from __future__ import annotations

from dataclasses import dataclass

from hadar.platform.guard import Guard
from hadar.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    guard: Guard
    anon_limit: int = 1000
