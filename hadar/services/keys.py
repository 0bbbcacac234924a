"""Tenants and API keys: minting, listing, revoking, and authenticating a token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

import pydantic
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import addresses
from hadar.domain.scope import Operation, Scope
from hadar.domain.tenants import API_KEYS, ApiKey, Environment, Plan, Role, Tenant
from hadar.errors import Forbidden, NotFound, ValidationError
from hadar.ids import looks_like, new_id
from hadar.pagination import Page
from hadar.platform import tokens
from hadar.services import audit, key_auth
from hadar.services.key_auth import VerifiedKey as VerifiedKey  # re-exported
from hadar.services.key_auth import authenticate as authenticate
from hadar.services.key_auth import verify as verify
from hadar.services.listing import binding, get_in_scope, newest_first, scoped
from hadar.services.models import Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse

KEY_TTL = timedelta(days=90)
CREATE = Operation("api_keys.create", API_KEYS, mutation=True, shown_once=("token",))
LIST = Operation("api_keys.list", API_KEYS)
REVOKE = Operation("api_keys.revoke", API_KEYS, mutation=True)
UPDATE = Operation("api_keys.update", API_KEYS, mutation=True)
AllowList = Annotated[
    list[Annotated[str, pydantic.Field(min_length=1, max_length=64)]],
    pydantic.Field(
        max_length=addresses.MAX_ENTRIES,
        description="IPv4/IPv6 addresses or CIDRs requests must come from; empty: any.",
    ),
]


def _allow_list(value: list[str] | None) -> list[str] | None:
    return None if value is None else addresses.normalise_allow_list(value)


EnvironmentName = Literal[tuple(e.value for e in Environment)]  # type: ignore[valid-type]
RoleName = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class MintedKey:
    key: ApiKey
    token: str
    tenant_slug: str


class KeyCreate(Strict):
    role: Literal["admin", "agent", "viewer"] = "agent"
    environment: Literal["live", "test"] | None = pydantic.Field(
        default=None, description="The caller's own environment (the default) only."
    )
    name: str | None = pydantic.Field(default=None, min_length=1, max_length=200)
    expires_in_seconds: int | None = pydantic.Field(default=None, ge=60, le=90 * 86400)
    allowed_ips: AllowList | None = None

    _ips = pydantic.field_validator("allowed_ips")(_allow_list)


class KeyUpdate(Strict):
    """What may change on a key: its name and its IP allow-list."""

    name: str | None = pydantic.Field(default=None, min_length=1, max_length=200)
    allowed_ips: AllowList | None = None

    _ips = pydantic.field_validator("allowed_ips")(_allow_list)


class ApiKeyOut(Out):
    """An API key; the token itself is never shown again after creation."""

    id: id_of("key")  # type: ignore[valid-type]
    object: Literal["api_key"]
    environment: EnvironmentName  # type: ignore[valid-type]
    role: RoleName  # type: ignore[valid-type]
    name: str | None
    last4: Annotated[str, pydantic.Field(min_length=4, max_length=4)]
    allowed_ips: list[str] = pydantic.Field(description="CIDRs requests must come from; [] any")
    created_at: Timestamp
    expires_at: Timestamp
    revoked_at: Timestamp | None


class NewApiKeyOut(ApiKeyOut):
    """A key just minted: the only time its full token is shown (null on a replay)."""

    token: (
        Annotated[
            str,
            pydantic.Field(
                pattern=f"^hdr_(live|test)_[0-9A-Za-z]{{{tokens.BODY_LEN + tokens.CHECK_LEN}}}$",
                examples=["hdr_test_4fK2x9QmB7nLpR3sT8vW1yZ0aC6dE5"],
            ),
        ]
        | None
    )
    tenant: str


ApiKeyListOut = list_of(ApiKeyOut)


async def ensure_tenant(
    *, slug: str, plan: str | None = None, rate_limit: int | None = None
) -> Tenant:
    """The tenant with `slug`, created on first use; plan and override updated when given."""
    if not _SLUG.match(slug):
        raise ValidationError(
            "tenant must be lower-case letters, digits and dashes", field="tenant"
        )
    if plan is not None and plan not in {p.value for p in Plan}:
        raise ValidationError("plan must be starter, growth or enterprise", field="plan")
    if rate_limit is not None and not 1 <= rate_limit <= 1_000_000:
        raise ValidationError("rate_limit must be between 1 and 1000000", field="rate_limit")
    tenant = await Tenant.get_or_none(slug=slug)
    if tenant is None:
        at = clock.now()
        tenant = await Tenant.create(
            id=new_id("ten", at),
            slug=slug,
            name=slug,
            plan=plan or Plan.STARTER.value,
            rate_limit_override=rate_limit,
            created_at=at,
        )
        return tenant
    changed: list[str] = []
    if plan is not None and tenant.plan != plan:
        tenant.plan, changed = plan, [*changed, "plan"]
    if rate_limit is not None and tenant.rate_limit_override != rate_limit:
        tenant.rate_limit_override, changed = rate_limit, [*changed, "rate_limit_override"]
    if changed:
        async with in_transaction():
            await tenant.save(update_fields=changed)
            await key_auth.bump_epoch(tenant_id=tenant.id)  # new limits hold from the next request
    return tenant


async def _mint(
    *,
    tenant: Tenant,
    environment: str,
    role: str,
    secret: str,
    name: str | None = None,
    ttl: timedelta = KEY_TTL,
    allowed_ips: list[str] | None = None,
) -> MintedKey:
    at = clock.now()
    token = tokens.generate(environment)
    key = await ApiKey.create(
        id=new_id("key", at),
        tenant=tenant,
        environment=environment,
        role=role,
        name=name,
        token_hash=tokens.hash_token(token, secret),
        last4=token[-4:],
        created_at=at,
        expires_at=at + ttl,
        allowed_ips=allowed_ips or [],
    )
    return MintedKey(key=key, token=token, tenant_slug=tenant.slug)


async def mint_for_tenant(
    *,
    slug: str,
    environment: str,
    role: str,
    secret: str,
    plan: str | None = None,
    rate_limit: int | None = None,
    allowed_ips: list[str] | None = None,
) -> MintedKey:
    """Operator path (CLI): create the tenant if missing and mint a key for it."""
    if environment not in tokens.PREFIXES:
        raise ValidationError("env must be live or test", field="env")
    if role not in {"admin", "agent", "viewer"}:
        raise ValidationError("role must be admin, agent or viewer", field="role")
    try:
        ips = addresses.normalise_allow_list(allowed_ips or [])
    except ValueError as err:
        raise ValidationError(f"allow-ip {err}", field="allow_ip") from None
    tenant = await ensure_tenant(slug=slug, plan=plan, rate_limit=rate_limit)
    return await _mint(
        tenant=tenant, environment=environment, role=role, secret=secret, allowed_ips=ips
    )


async def create_key(*, scope: Scope, data: Any, secret: str) -> MintedKey:
    """An admin mints a key for its own tenant and environment: a key manages only the keys
    of its own environment (it could neither list nor revoke any other)."""
    scope.require_write(API_KEYS)
    spec = parse(KeyCreate, data, root="api_key")
    environment = spec.environment or scope.environment
    if environment != scope.environment:
        raise Forbidden(
            f"a {scope.environment} key may mint only {scope.environment} keys; "
            f"use a {environment} admin key",
            field="api_key.environment",
        )
    tenant = await Tenant.get(id=scope.tenant_id)
    ttl = timedelta(seconds=spec.expires_in_seconds) if spec.expires_in_seconds else KEY_TTL
    minted = await _mint(
        tenant=tenant,
        environment=environment,
        role=spec.role,
        secret=secret,
        name=spec.name,
        ttl=ttl,
        allowed_ips=spec.allowed_ips,
    )
    await audit.record(scope=scope, action="api_key.created", object_id=minted.key.id)
    return minted


async def list_keys(
    *, scope: Scope, limit: int | None = None, cursor: str | None = None
) -> Page[ApiKey]:
    """The tenant's keys in the caller's environment, newest first."""
    scope.require_read(API_KEYS)
    spec = parse(PageQuery, {"limit": limit, "cursor": cursor}, root="")
    query = scoped(ApiKey, scope)
    return await newest_first(
        query, binding=binding(scope, "api_keys"), limit=spec.limit, cursor=spec.cursor
    )


async def update_key(*, scope: Scope, key_id: str, data: Any) -> ApiKey:
    """Rename a key or replace its IP allow-list (effective on its next request)."""
    scope.require_write(API_KEYS)
    spec = parse(KeyUpdate, data, root="api_key")
    key = await get_in_scope(
        ApiKey, scope=scope, prefix="key", object_id=key_id, noun="api_key", lock=True
    )
    given = spec.model_fields_set
    if "allowed_ips" in given:
        key.allowed_ips = spec.allowed_ips or []
    if "name" in given:
        key.name = spec.name
    await key.save(update_fields=[f for f in ("allowed_ips", "name") if f in given] or None)
    await key_auth.bump_epoch(tenant_id=key.tenant_id)  # the new allow-list holds at once
    await audit.record(scope=scope, action="api_key.updated", object_id=key.id)
    return key


async def revoke_key(*, key_id: str, scope: Scope | None = None) -> ApiKey:
    """Revoke at once; every instance refuses the key on its next request (its tenant's key
    epoch changes in the same transaction, so no cached verification survives it)."""
    if scope is not None:
        scope.require_write(API_KEYS)
    query = ApiKey.filter(id=key_id)
    if scope is not None:
        query = query.filter(tenant_id=scope.tenant_id, environment=scope.environment)
    key = await query.first() if looks_like("key", key_id) else None
    if key is None:
        raise NotFound(f"api_key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        async with in_transaction():  # the CLI revokes outside a request transaction
            await key.save(update_fields=["revoked_at"])
            await key_auth.bump_epoch(tenant_id=key.tenant_id)
        if scope is not None:
            await audit.record(scope=scope, action="api_key.revoked", object_id=key.id)
    return key


def present_key(key: ApiKey, *, token: str | None = None, tenant_slug: str | None = None) -> dict:
    """The public shape of a key; the token only when just minted."""
    out: dict[str, Any] = {
        "id": key.id,
        "object": "api_key",
        "environment": key.environment,
        "role": key.role,
        "name": key.name,
        "last4": key.last4,
        "allowed_ips": list(key.allowed_ips or []),
        "created_at": clock.isoformat(key.created_at),
        "expires_at": clock.isoformat(key.expires_at),
        "revoked_at": clock.isoformat(key.revoked_at) if key.revoked_at else None,
    }
    if token is not None:
        out["token"] = token
    if tenant_slug is not None:
        out["tenant"] = tenant_slug
    return out
