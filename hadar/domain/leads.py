"""The lead: a buyer or tenant enquiry, scoped to one tenant and one environment."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar.domain.tenants import Tenant


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    VIEWING = "viewing"
    NEGOTIATING = "negotiating"
    WON = "won"
    LOST = "lost"


class Lead(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="leads", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    name = fields.CharField(max_length=200)
    phone = fields.CharField(max_length=20, null=True)
    email = fields.CharField(max_length=320, null=True)
    source = fields.CharField(max_length=32)
    source_raw = fields.CharField(max_length=200, null=True)
    sources: fields.Field[list[str]] = fields.JSONField(default=list)
    utm: fields.Field[dict[str, str] | None] = fields.JSONField(null=True)
    budget_aed = fields.BigIntField(null=True)
    bedrooms = fields.IntField(null=True)
    area = fields.CharField(max_length=200, null=True)
    handover_horizon = fields.CharField(max_length=16, null=True)
    status = fields.CharField(max_length=16, default=LeadStatus.NEW.value)
    assigned_to = fields.CharField(max_length=320, null=True)
    do_not_contact: fields.Field[dict[str, bool]] = fields.JSONField(default=dict)
    score = fields.IntField(default=0)
    score_factors: fields.Field[list[dict[str, Any]]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "leads"
        # NULLs are distinct in a unique index on both SQLite and PostgreSQL, so these
        # hold only for leads that have a phone (or an e-mail): the merge key.
        unique_together = (
            ("tenant_id", "environment", "phone"),
            ("tenant_id", "environment", "email"),
        )
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            Index(fields=("tenant_id", "environment", "source", "id")),
            Index(fields=("tenant_id", "environment", "status", "id")),
        ]
