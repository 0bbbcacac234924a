"""Tenants (agencies) and the API keys that act for them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.scope import Resource


class Plan(StrEnum):
    STARTER = "starter"
    GROWTH = "growth"
    ENTERPRISE = "enterprise"


PLAN_LIMITS = {Plan.STARTER: 60, Plan.GROWTH: 300, Plan.ENTERPRISE: 1000}


class Environment(StrEnum):
    LIVE = "live"
    TEST = "test"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


class Tenant(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    slug = fields.CharField(max_length=63, unique=True)
    name = fields.CharField(max_length=200)
    plan = fields.CharField(max_length=16, default=Plan.STARTER.value)
    rate_limit_override = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    # Bumped with every change to the tenant's keys or limits: cached keys check it (NULL = 0).
    key_epoch = fields.BigIntField(null=True)

    class Meta:
        table = "tenants"


ids.declare("ten")
ids.declare("key", param="key_id")
API_KEYS = Resource("api_keys", admin_reads=True, fail_closed=True)


class ApiKey(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="api_keys", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    role = fields.CharField(max_length=8)
    name = fields.CharField(max_length=200, null=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    last4 = fields.CharField(max_length=4)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    # Addresses or CIDRs a request must come from (SPEC 4); empty: any address.
    allowed_ips: fields.Field[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "api_keys"
        indexes = [Index(fields=("tenant_id", "environment", "id"))]
