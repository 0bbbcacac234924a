"""Integrations (admin): a tenant's own Meta/UltraMsg, Stripe and Vapi accounts, connected with
live keys, secrets sealed at rest and shown back only as last4; and `connected()`, which every
live send, call and payment asks for its account (test keys get the sandbox marker)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import orjson
import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock, secretbox
from hadar.domain import integrations as rules
from hadar.domain.integrations import INTEGRATIONS, Integration, IntegrationKind, Provider
from hadar.domain.scope import Operation, Scope
from hadar.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from hadar.ids import looks_like, new_id
from hadar.pagination import Page
from hadar.providers import registry, sandbox
from hadar.providers.ports import PaymentsPort, VoicePort, WhatsAppPort
from hadar.services import audit
from hadar.services.listing import filtered, scoped
from hadar.services.models import JSON, Out, Timestamp, deleted, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse

Secret = Annotated[str, pydantic.Field(min_length=1, max_length=1024)]
PublicId = Annotated[
    str, pydantic.Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]
KINDS = tuple(k.value for k in IntegrationKind)
# The webhook token is Hadar's secret too (UltraMsg's ?token=, Vapi's X-Vapi-Secret): an
# idempotency record keeps neither it nor the URL that embeds it (UltraMsg); GET shows both.
# Stripe signs with the agency's own webhook_secret, so its answer holds nothing to hide.
_HIDDEN = ("webhook_token", "webhook_url")

PUT_WHATSAPP = Operation(
    "integrations.put_whatsapp", INTEGRATIONS, mutation=True, shown_once=_HIDDEN
)
PUT_STRIPE = Operation("integrations.put_stripe", INTEGRATIONS, mutation=True)
PUT_VAPI = Operation(
    "integrations.put_vapi", INTEGRATIONS, mutation=True, shown_once=("webhook_token",)
)
LIST = Operation("integrations.list", INTEGRATIONS)
RETRIEVE = Operation("integrations.retrieve", INTEGRATIONS)
DELETE = Operation("integrations.delete", INTEGRATIONS, mutation=True)


class WhatsAppIntegrationIn(Strict):
    """`provider: meta` with phone_number_id and access_token (business_account_id optional),
    or `provider: ultramsg` with instance_id (`instance1150`) and token."""

    provider: Literal["meta", "ultramsg"]
    phone_number_id: PublicId | None = None
    access_token: Secret | None = None
    business_account_id: PublicId | None = None
    instance_id: PublicId | None = None
    token: Secret | None = None


class StripeIntegrationIn(Strict):
    """The agency's Stripe secret key (`sk_live_…`) and its webhook signing secret (`whsec_…`)."""

    secret_key: Secret
    webhook_secret: Secret


class VapiIntegrationIn(Strict):
    """The agency's Vapi private key and phone number; assistant and ElevenLabs voice optional."""

    api_key: Secret
    phone_number_id: PublicId
    assistant_id: PublicId | None = None
    voice_id: PublicId | None = None


class IntegrationQuery(PageQuery):
    """GET /integrations takes only the page parameters."""


class IntegrationOut(Out):
    """A connected provider account: secrets only as last4; what to paste into the provider."""

    id: id_of("int")  # type: ignore[valid-type]
    object: Literal["integration"]
    kind: Literal["whatsapp", "stripe", "vapi"]
    provider: Literal["meta", "ultramsg", "stripe", "vapi"]
    status: Literal["active", "invalid"]
    webhook_url: str | None = pydantic.Field(
        description="paste into the provider's dashboard (null on an idempotent replay)"
    )
    webhook_token: str | None = pydantic.Field(
        description="UltraMsg's ?token= / Vapi's X-Vapi-Secret; null where the provider signs"
    )
    credentials: Annotated[dict[str, str], JSON] = pydantic.Field(description="{name: '…last4'}")
    config: Annotated[dict[str, str], JSON] = pydantic.Field(description="the public ids given")
    created_at: Timestamp
    updated_at: Timestamp


IntegrationListOut = list_of(IntegrationOut)
IntegrationDeletedOut = deleted("int", "integration")
BODIES: dict[str, type[Strict]] = {
    "whatsapp": WhatsAppIntegrationIn,
    "stripe": StripeIntegrationIn,
    "vapi": VapiIntegrationIn,
}


@dataclass(frozen=True)
class Connected:
    """A tenant's account for one kind, ready to build an adapter (credentials unsealed).
    `provider == "sandbox"` for test keys: services then use the sandbox, never a network one."""

    integration_id: str
    kind: str
    provider: str
    credentials: dict[str, str] = field(repr=False)
    config: dict[str, Any]
    webhook_url: str
    webhook_token: str | None = field(repr=False)


def _context(integration_id: str, column: str) -> str:
    return f"integrations.{column}:{integration_id}"


def _kind_of(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"integration kind {kind} does not exist; use one of {', '.join(KINDS)}")
    return kind


def _token_of(row: Integration) -> str | None:
    sealed = row.webhook_token
    return secretbox.unseal(sealed, context=_context(row.id, "webhook_token")) if sealed else None


def _url_of(row: Integration, public_url: str) -> str:
    return rules.webhook_url(
        public_url=public_url, provider=row.provider, integration_id=row.id, token=_token_of(row)
    )


def _check_fields(provider: str, values: dict[str, Any]) -> None:
    """A WhatsApp body carries exactly its provider's fields (Meta's or UltraMsg's)."""
    secret_names = rules.SECRET_FIELDS[Provider(provider)]
    public_names = rules.PUBLIC_FIELDS[Provider(provider)]
    for name in values:
        if name not in secret_names and name not in public_names:
            raise ValidationError(
                f"integration.{name} is not a field of provider {provider}",
                field=f"integration.{name}",
            )
    optional = {"business_account_id", "assistant_id", "voice_id"}
    for name in (*secret_names, *public_names):
        if name not in values and name not in optional:
            raise ValidationError(
                f"integration.{name} is required for provider {provider}",
                field=f"integration.{name}",
            )
    if (
        provider == Provider.ULTRAMSG
        and rules.ultramsg_instance_digits(values["instance_id"]) is None
    ):
        raise ValidationError(
            "integration.instance_id must end in the instance's digits (instance1150)",
            field="integration.instance_id",
        )


async def put_integration(*, scope: Scope, kind: str, data: Any) -> Integration:
    """Connect (or replace) the tenant's account for `kind`; live keys only, one per kind, and a
    Meta number or UltraMsg instance belongs to one workspace."""
    scope.require_write(INTEGRATIONS)
    if scope.environment != "live":
        raise Forbidden("integrations connect live provider accounts: use a live key")
    spec = parse(BODIES[_kind_of(kind)], data, root="integration")
    values = spec.model_dump(exclude_none=True)
    provider = values.pop("provider", None) or kind
    _check_fields(provider, values)
    secrets = {n: values[n] for n in rules.SECRET_FIELDS[Provider(provider)] if n in values}
    public = {n: values[n] for n in rules.PUBLIC_FIELDS[Provider(provider)] if n in values}
    at = clock.now()
    row = await scoped(Integration, scope).filter(kind=kind).select_for_update().first()
    if row is None:
        row = Integration(
            id=new_id("int", at),
            tenant_id=scope.tenant_id,
            environment=scope.environment,
            kind=kind,
            created_at=at,
        )
    elif row.provider != provider:
        row.webhook_token = None  # type: ignore[assignment]  # another provider's token is void
    row.provider = provider
    row.status = rules.IntegrationStatus.ACTIVE.value
    row.credentials = secretbox.seal(
        orjson.dumps(secrets).decode(), context=_context(row.id, "credentials")
    )
    row.credentials_last4 = {name: rules.last4(value) for name, value in secrets.items()}
    row.public_config = public
    row.route_key = rules.route_key(provider, public)
    if Provider(provider) in rules.TOKEN_PROVIDERS and row.webhook_token is None:
        row.webhook_token = secretbox.seal(
            rules.new_webhook_token(), context=_context(row.id, "webhook_token")
        )
    row.updated_at = at
    try:
        async with in_transaction():
            await row.save()
    except IntegrityError:
        raise Conflict(
            f"this {provider} account is already connected to another workspace",
            field="integration.phone_number_id"
            if provider == "meta"
            else "integration.instance_id",
        ) from None
    await audit.record(scope=scope, action="integration.connected", object_id=row.id)
    return row


async def get_integration(*, scope: Scope, kind: str) -> Integration:
    """The tenant's integration of `kind` in this environment, else NotFound."""
    scope.require_read(INTEGRATIONS)
    found = await scoped(Integration, scope).filter(kind=_kind_of(kind)).first()
    if found is None:
        raise NotFound(f"no {kind} integration is connected")
    return found


async def list_integrations(
    *, scope: Scope, limit: int | None = None, cursor: str | None = None
) -> Page[Integration]:
    """Every connected integration, newest first."""
    scope.require_read(INTEGRATIONS)
    given = {"limit": limit, "cursor": cursor}
    return await filtered(
        Integration, scope=scope, name="integrations", query=IntegrationQuery, given=given
    )


async def delete_integration(*, scope: Scope, kind: str) -> str:
    """Disconnect `kind`: its credentials are deleted, live sends then answer 409."""
    scope.require_write(INTEGRATIONS)
    row = await get_integration(scope=scope, kind=kind)
    await row.delete()
    await audit.record(scope=scope, action="integration.deleted", object_id=row.id)
    return row.id


async def connected(*, scope: Scope, kind: str) -> Connected:
    """The account a send, call or payment of `kind` goes through: the sandbox marker for test
    keys, the live integration otherwise (Conflict naming the route when none is connected)."""
    if scope.environment != "live":
        return Connected("sandbox", kind, sandbox.PROVIDER, {}, {}, "", None)
    row = await scoped(Integration, scope).filter(kind=kind).first()
    if row is None:
        raise Conflict(
            f"connect the {kind} integration first: PUT /api/v1/integrations/{kind}",
            field="integration",
        )
    credentials = orjson.loads(
        secretbox.unseal(row.credentials, context=_context(row.id, "credentials"))
    )
    return Connected(
        integration_id=row.id,
        kind=row.kind,
        provider=row.provider,
        credentials=credentials,
        config=dict(row.public_config),
        webhook_url=_url_of(row, _public_url()),
        webhook_token=_token_of(row),
    )


async def inbound_integration(*, integration_id: str, kind: str, token: str | None) -> Integration:
    """The integration a provider's webhook URL names, when `token` equals its webhook token
    (compared in constant time); Unauthorized otherwise, saying no more."""
    row = None
    if looks_like("int", integration_id):
        row = await Integration.filter(id=integration_id, kind=kind).first()
    expected = _token_of(row) if row is not None else None
    # Compared even without a row, so an unknown id costs the same as a wrong token.
    matches = hmac.compare_digest(
        (token or "").encode(), (expected or secrets.token_urlsafe(32)).encode()
    )
    if row is None or expected is None or not token or not matches:
        raise Unauthorized("missing or wrong webhook secret")
    return row


P = TypeVar("P")


def _build(make: Callable[..., P], scope: Scope, account: Connected) -> P:
    return make(
        tenant=scope.tenant_id,
        provider=account.provider,
        credentials=account.credentials,
        config=account.config,
    )


def whatsapp_port(*, scope: Scope, account: Connected) -> WhatsAppPort:
    """The WhatsApp adapter of `account` (sandbox for test keys), behind its breaker."""
    return _build(registry.current().whatsapp, scope, account)


def voice_port(*, scope: Scope, account: Connected) -> VoicePort:
    """The voice adapter of `account` (sandbox for test keys), behind its breaker."""
    return _build(registry.current().voice, scope, account)


def payments_port(*, scope: Scope, account: Connected) -> PaymentsPort:
    """The payments adapter of `account` (sandbox for test keys), behind its breaker."""
    return _build(registry.current().payments, scope, account)


_public = ["http://127.0.0.1:8000"]  # HADAR_PUBLIC_URL, installed by the bootstrap


def configure(*, public_url: str) -> None:
    """Set HADAR_PUBLIC_URL, which every webhook_url is built on (called by the bootstrap)."""
    _public[0] = public_url


def _public_url() -> str:
    return _public[0]


def present_integration(row: Integration) -> dict[str, Any]:
    """The public shape of an integration: secrets as last4, the URL and token to paste."""
    return {
        "id": row.id,
        "object": "integration",
        "kind": row.kind,
        "provider": row.provider,
        "status": row.status,
        "webhook_url": _url_of(row, _public_url()),
        "webhook_token": _token_of(row),
        "credentials": dict(row.credentials_last4),
        "config": dict(row.public_config),
        "created_at": clock.isoformat(row.created_at),
        "updated_at": clock.isoformat(row.updated_at),
    }
