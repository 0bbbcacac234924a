"""Input types. They map one to one onto the REST bodies and are validated by the same
services: a GraphQL input becomes the dict a REST body would be (absent fields left out)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import strawberry
from strawberry import UNSET

from hadar.graphql.scalars import JSON, BigInt


@strawberry.input
class DoNotContactInput:
    whatsapp: bool | None = UNSET
    voice: bool | None = UNSET
    email: bool | None = UNSET


@strawberry.input(description="Fields of a lead; null clears an optional field on update.")
class LeadUpdateInput:
    name: str | None = UNSET
    phone: str | None = UNSET
    email: str | None = UNSET
    source: str | None = UNSET
    utm: JSON | None = UNSET
    budget_aed: BigInt | None = UNSET
    bedrooms: int | None = UNSET
    area: str | None = UNSET
    handover_horizon: str | None = UNSET
    status: str | None = UNSET
    assigned_to: str | None = UNSET
    do_not_contact: DoNotContactInput | None = UNSET


@strawberry.input(description="A new lead: name plus at least one of phone or email.")
class LeadCreateInput(LeadUpdateInput):
    name: str  # type: ignore[assignment]


@strawberry.input
class ApiKeyCreateInput:
    role: str | None = UNSET
    environment: str | None = UNSET
    name: str | None = UNSET
    expires_in_seconds: int | None = UNSET


def as_body(value: Any) -> Any:
    """The REST-body equivalent of an input object: a dict of the fields that were given."""
    if not hasattr(value, "__strawberry_definition__"):
        return value
    return {
        f.name: as_body(getattr(value, f.name))
        for f in fields(value)
        if getattr(value, f.name) is not UNSET
    }
