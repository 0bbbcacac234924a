"""Telling every instance's key cache that a tenant's keys, limits or allow-lists changed.

A change calls `changing(tenant_id)` inside its transaction; whoever owns that transaction (the
request pipeline around a mutation, the CLI around a command) runs it inside `announcing(board)`:

    announcing(board):                 hold: the tenant's token becomes a "held" marker, so no
        transaction:                         instance caches a verification while it stands
            ... changing(tenant) ----> (refused with 503 when the shared store is down)
        commit
    <- leaving announcing ----------> replace: a fresh token; every cached verification of the
                                             tenant is stale on its next request, everywhere

Replacing after the commit is what makes a revocation hold on the very next request: a cache
stores a verification under the token it read *before* reading the key, so a verification read
before the commit sits under a token the replacement has already retired. If the replacement
fails (Redis went away mid-request), the hold lapses on its own after HOLD_TTL and nothing was
cached meanwhile. Outside `announcing` (tests calling services directly, a process without
HADAR_REDIS_URL) only the database epoch changes, which the SQLite cache reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

HOLD_TTL = 300.0  # seconds: as long as a cached verification may live (keycache.TTL)


class Board(Protocol):
    """Where the tokens are kept (hadar.platform.guard.Guard over the shared store)."""

    async def hold_epoch(self, tenant_id: str, ttl: float) -> None: ...
    async def replace_epoch(self, tenant_id: str) -> None: ...


@dataclass
class _Unit:
    board: Board
    changed: set[str] = field(default_factory=set)


_unit: ContextVar[_Unit | None] = ContextVar("hadar_epoch_unit", default=None)


@contextlib.asynccontextmanager
async def announcing(board: Board | None) -> AsyncIterator[None]:
    """Announce, on leaving, every tenant `changing` named inside (after the commit of the
    transaction this block encloses). A block inside another one joins the outer one."""
    if board is None or _unit.get() is not None:
        yield
        return
    unit = _Unit(board)
    token = _unit.set(unit)
    try:
        yield
    finally:
        _unit.reset(token)
        for tenant_id in sorted(unit.changed):  # announced even after a rollback: harmless
            await board.replace_epoch(tenant_id)


async def changing(tenant_id: str) -> None:
    """Call inside the transaction changing the tenant's keys or limits (after its writes)."""
    unit = _unit.get()
    if unit is None:
        return
    await unit.board.hold_epoch(tenant_id, HOLD_TTL)
    unit.changed.add(tenant_id)
