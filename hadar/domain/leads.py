"""The lead: a buyer or tenant enquiry, scoped to one tenant and one environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.rows import as_datetime, as_json
from hadar.domain.scope import AGENTS, Resource
from hadar.domain.tenants import Tenant


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    VIEWING = "viewing"
    NEGOTIATING = "negotiating"
    WON = "won"
    LOST = "lost"


ids.declare("lead", param="lead_id")
LEADS = Resource("leads", writers=AGENTS)


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


@dataclass(slots=True)
class LeadRecord:
    """A read-only lead as listed (same attributes as Lead), mapped straight from a row."""

    id: str
    tenant_id: str
    environment: str
    name: str
    phone: str | None
    email: str | None
    source: str
    source_raw: str | None
    sources: list[str]
    utm: dict[str, str] | None
    budget_aed: int | None
    bedrooms: int | None
    area: str | None
    handover_horizon: str | None
    status: str
    assigned_to: str | None
    do_not_contact: dict[str, bool]
    score: int
    score_factors: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LeadRecord:
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            environment=row["environment"],
            name=row["name"],
            phone=row["phone"],
            email=row["email"],
            source=row["source"],
            source_raw=row["source_raw"],
            sources=as_json(row["sources"]),
            utm=as_json(row["utm"]),
            budget_aed=row["budget_aed"],
            bedrooms=row["bedrooms"],
            area=row["area"],
            handover_horizon=row["handover_horizon"],
            status=row["status"],
            assigned_to=row["assigned_to"],
            do_not_contact=as_json(row["do_not_contact"]),
            score=row["score"],
            score_factors=as_json(row["score_factors"]),
            created_at=as_datetime(row["created_at"]),
            updated_at=as_datetime(row["updated_at"]),
        )
