"""Integrations: a tenant's own provider accounts (WhatsApp via Meta or UltraMsg, Stripe, Vapi).

Secrets never sit in a column in clear: `credentials` holds the sealed JSON of the secret
fields and `webhook_token` the sealed token (hadar.secretbox seals and unseals; this module
only stores text). What may be shown lives beside them: `public_config` (ids an agency reads
off its provider dashboard) and `credentials_last4` ({name: "…last4"}).

Inbound routing: Meta posts every tenant's traffic to one URL, so a Meta integration is found
by `route_key` (its phone_number_id). (provider, route_key) is unique across tenants: a second
workspace claiming a phone_number_id that is already connected must get 409 conflict, or it
would receive the first agency's messages. UltraMsg, Vapi and Stripe post to a URL carrying
the integration's id, and route_key only cross-checks UltraMsg's `instanceId`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.scope import Resource
from hadar.domain.tenants import Tenant


class IntegrationKind(StrEnum):
    WHATSAPP = "whatsapp"
    STRIPE = "stripe"
    VAPI = "vapi"


class Provider(StrEnum):
    META = "meta"
    ULTRAMSG = "ultramsg"
    STRIPE = "stripe"
    VAPI = "vapi"


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    # The provider refused the credentials (401/190) on the last call; a PUT makes it active.
    INVALID = "invalid"


PROVIDERS = {
    IntegrationKind.WHATSAPP: (Provider.META, Provider.ULTRAMSG),
    IntegrationKind.STRIPE: (Provider.STRIPE,),
    IntegrationKind.VAPI: (Provider.VAPI,),
}
# Per provider: (secret fields, sealed and shown as last4; public fields, shown as given).
SECRET_FIELDS = {
    Provider.META: ("access_token",),
    Provider.ULTRAMSG: ("token",),
    Provider.STRIPE: ("secret_key", "webhook_secret"),
    Provider.VAPI: ("api_key",),
}
PUBLIC_FIELDS = {
    Provider.META: ("phone_number_id", "business_account_id"),
    Provider.ULTRAMSG: ("instance_id",),
    Provider.STRIPE: (),
    Provider.VAPI: ("phone_number_id", "assistant_id", "voice_id"),
}
# Providers that sign nothing and authenticate their posts with a token Hadar issues.
TOKEN_PROVIDERS = frozenset({Provider.ULTRAMSG, Provider.VAPI})
WEBHOOK_PATHS = {
    Provider.META: "/api/v1/whatsapp/inbound/meta",
    Provider.ULTRAMSG: "/api/v1/whatsapp/inbound/ultramsg/{id}",
    Provider.VAPI: "/api/v1/calls/inbound/vapi/{id}",
    Provider.STRIPE: "/api/v1/invoices/inbound/stripe/{id}",
}


ids.declare("int", param="integration_id")
INTEGRATIONS = Resource("integrations", admin_reads=True, fail_closed=True)


class Integration(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="integrations", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    kind = fields.CharField(max_length=16)
    provider = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16, default=IntegrationStatus.ACTIVE.value)
    credentials = fields.TextField()
    public_config: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    credentials_last4: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    webhook_token = fields.TextField(null=True)
    route_key = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "integrations"
        unique_together = (("tenant_id", "environment", "kind"), ("provider", "route_key"))
        indexes = [Index(fields=("tenant_id", "environment", "id"))]


_DIGITS = re.compile(r"(\d+)$")


def ultramsg_instance_digits(instance_id: str) -> str | None:
    """The digits UltraMsg sends as `instanceId` for `instance_id` (`instance1150` → `1150`)."""
    match = _DIGITS.search(instance_id.strip())
    return match.group(1) if match else None


def route_key(provider: str, public_config: Mapping[str, str]) -> str | None:
    """The key inbound traffic of this integration is matched on, or None when it has none."""
    if provider == Provider.META:
        return public_config.get("phone_number_id")
    if provider == Provider.ULTRAMSG:
        return ultramsg_instance_digits(public_config.get("instance_id", ""))
    return None


def last4(secret: str) -> str:
    """How a secret is shown back: `…` and its last 4 characters (only `…` when it is short)."""
    # Four characters of a short secret are most of it.
    return "…" + secret[-4:] if len(secret) >= 12 else "…"


def new_webhook_token() -> str:
    """A fresh random token (256 bits, URL-safe) for UltraMsg's ?token= or Vapi's X-Vapi-Secret."""
    return secrets.token_urlsafe(32)


def webhook_url(*, public_url: str, provider: str, integration_id: str, token: str | None) -> str:
    """The full URL an agency pastes into the provider's dashboard (token included for UltraMsg)."""
    url = public_url.rstrip("/") + WEBHOOK_PATHS[Provider(provider)].format(id=integration_id)
    if provider == Provider.ULTRAMSG and token:
        url += f"?token={token}"
    return url
