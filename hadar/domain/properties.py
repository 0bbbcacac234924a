"""Properties: the agency's listings, matched against leads (hadar.domain.matching)."""

from __future__ import annotations

import re
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


class PropertyType(StrEnum):
    APARTMENT = "apartment"
    VILLA = "villa"
    TOWNHOUSE = "townhouse"
    PENTHOUSE = "penthouse"
    OFFICE = "office"
    LAND = "land"


class Purpose(StrEnum):
    SALE = "sale"
    RENT = "rent"


class PropertyStatus(StrEnum):
    AVAILABLE = "available"
    RESERVED = "reserved"
    SOLD = "sold"
    RENTED = "rented"
    OFF_MARKET = "off_market"


# The same shape as a lead's handover_horizon: `ready` or `off_plan_YYYY`.
HANDOVER = re.compile(r"^(ready|off_plan_(20\d\d))$")


def handover_year(value: str | None) -> int | None:
    """The year of an `off_plan_YYYY` handover; None for `ready`, None or anything else."""
    match = HANDOVER.match(value or "")
    return int(match.group(2)) if match and match.group(2) else None


ids.declare("prop", param="property_id")
PROPERTIES = Resource("properties", writers=AGENTS)


class Property(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="properties", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    title = fields.CharField(max_length=200)
    reference = fields.CharField(max_length=64)
    area = fields.CharField(max_length=200, null=True)
    building = fields.CharField(max_length=200, null=True)
    type = fields.CharField(max_length=16)
    # 0 = studio; None for land and offices that have no bedrooms.
    bedrooms = fields.IntField(null=True)
    bathrooms = fields.IntField(null=True)
    size_sqft = fields.IntField(null=True)
    price_aed = fields.BigIntField()
    purpose = fields.CharField(max_length=8)
    status = fields.CharField(max_length=16, default=PropertyStatus.AVAILABLE.value)
    handover = fields.CharField(max_length=16, default="ready")
    # The RERA/DLD permit; the service requires it for `available` listings in live.
    permit_number = fields.CharField(max_length=64, null=True)
    description = fields.TextField(null=True)
    amenities: fields.Field[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "properties"
        # A duplicate reference is 409 conflict: the service maps this IntegrityError.
        unique_together = (("tenant_id", "environment", "reference"),)
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            Index(fields=("tenant_id", "environment", "area", "id")),
            Index(fields=("tenant_id", "environment", "status", "id")),
            # Matching narrows candidates by status and price, or status and bedrooms. The
            # price index covers every column the ranking reads (hadar.services.matches), so
            # scoring thousands of candidates never touches the table.
            Index(
                fields=(
                    "tenant_id",
                    "environment",
                    "status",
                    "price_aed",
                    "bedrooms",
                    "area",
                    "handover",
                    "id",
                )
            ),
            Index(fields=("tenant_id", "environment", "status", "bedrooms")),
        ]


@dataclass(slots=True)
class PropertyRecord:
    """A read-only property as ranked or listed (same attributes as Property), mapped straight
    from a row of a hand-written SELECT."""

    id: str
    tenant_id: str
    environment: str
    title: str
    reference: str
    area: str | None
    building: str | None
    type: str
    bedrooms: int | None
    bathrooms: int | None
    size_sqft: int | None
    price_aed: int
    purpose: str
    status: str
    handover: str
    permit_number: str | None
    description: str | None
    amenities: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PropertyRecord:
        return cls(
            id=row["id"],
            tenant_id=row["tenant_id"],
            environment=row["environment"],
            title=row["title"],
            reference=row["reference"],
            area=row["area"],
            building=row["building"],
            type=row["type"],
            bedrooms=row["bedrooms"],
            bathrooms=row["bathrooms"],
            size_sqft=row["size_sqft"],
            price_aed=row["price_aed"],
            purpose=row["purpose"],
            status=row["status"],
            handover=row["handover"],
            permit_number=row["permit_number"],
            description=row["description"],
            amenities=as_json(row["amenities"]),
            created_at=as_datetime(row["created_at"]),
            updated_at=as_datetime(row["updated_at"]),
        )
