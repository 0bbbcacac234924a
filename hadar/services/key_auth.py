"""Authenticating a token, and the tenant's key epoch that lets a process cache the answer.

Every change to a tenant's keys or limits calls bump_epoch in its own transaction; a cache
(hadar.platform.keycache) may reuse a verification only while the epoch read with it holds:
the database's `tenants.key_epoch` on SQLite, the shared store's token with Redis
(hadar.platform.epochs, replaced once the change commits).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

from hadar import clock
from hadar.domain.rows import as_datetime, as_json, fetch_sql
from hadar.domain.scope import Scope
from hadar.domain.tenants import PLAN_LIMITS, Plan
from hadar.errors import InvalidApiKey
from hadar.platform import epochs, tokens


@dataclass(frozen=True)
class VerifiedKey:
    scope: Scope
    expires_at: datetime
    epoch: int  # the tenant's key epoch when this was read (NULL reads as 0)


_AUTH_SQL = (
    "SELECT k.id, k.tenant_id, k.environment, k.role, k.token_hash, k.expires_at, k.revoked_at,"
    " k.allowed_ips, t.plan, t.rate_limit_override, t.key_epoch FROM api_keys k"
    " JOIN tenants t ON t.id = k.tenant_id"
    " WHERE k.token_hash = {}"
)
_BUMP_SQL = "UPDATE tenants SET key_epoch = COALESCE(key_epoch, 0) + 1 WHERE id = {}"


async def bump_epoch(*, tenant_id: str) -> None:
    """Mark every cached verification of the tenant's keys stale (call inside the change's
    transaction: a cache reading the epoch after the commit sees the change with it)."""
    await fetch_sql(_BUMP_SQL, [tenant_id])
    await epochs.changing(tenant_id)  # held now, replaced in Redis once the change commits


async def authenticate(*, token: str, secret: str) -> Scope:
    """The scope a well-formed token acts in; InvalidApiKey when unknown, revoked or expired."""
    return (await verify(token=token, secret=secret)).scope


async def verify(*, token: str, secret: str) -> VerifiedKey:
    """authenticate(), with what a cache of the answer needs: the key's expiry and the
    tenant's key epoch read in the same statement."""
    digest = tokens.hash_token(token, secret)
    # One hand-written indexed lookup; its answer may be cached only alongside the epoch.
    rows = await fetch_sql(_AUTH_SQL, [digest])
    key = rows[0] if rows else None
    if key is None or not hmac.compare_digest(key["token_hash"], digest):
        raise InvalidApiKey("the API key is not recognised")
    if key["revoked_at"] is not None:
        raise InvalidApiKey("the API key has been revoked")
    if as_datetime(key["expires_at"]) <= clock.now():
        raise InvalidApiKey("the API key has expired")
    plan_limit = PLAN_LIMITS[Plan(key["plan"])]
    scope = Scope(
        tenant_id=key["tenant_id"],
        environment=key["environment"],
        role=key["role"],
        key_id=key["id"],
        rate_limit=key["rate_limit_override"] or plan_limit,
        allowed_ips=tuple(as_json(key["allowed_ips"]) or ()),
    )
    return VerifiedKey(
        scope=scope, expires_at=as_datetime(key["expires_at"]), epoch=key["key_epoch"] or 0
    )
