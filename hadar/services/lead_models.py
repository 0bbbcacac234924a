"""The lead's wire shapes: what POST/PATCH /leads accept, what GET /leads filters on, and
what every lead route and the `lead.*` webhooks show."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import pydantic

from hadar.domain import normalise
from hadar.domain.leads import LeadStatus
from hadar.services.models import BIGINT, JSON, Out, Timestamp, deleted, id_of, list_of
from hadar.services.validation import PageQuery, Strict, UtcDatetime

Text200 = Annotated[str, pydantic.Field(min_length=1, max_length=200)]
STATUSES = tuple(s.value for s in LeadStatus)
StatusName = Literal["new", "contacted", "qualified", "viewing", "negotiating", "won", "lost"]
Source = Literal[normalise.CANONICAL_SOURCES]  # type: ignore[valid-type]
_HORIZON = re.compile(r"^(ready|off_plan_(20\d\d))$")


class DoNotContactIn(Strict):
    whatsapp: bool | None = None
    voice: bool | None = None
    email: bool | None = None


class _LeadFields(Strict):
    name: Text200 | None = None
    phone: Annotated[str, pydantic.Field(max_length=40)] | None = None
    email: Annotated[str, pydantic.Field(max_length=320)] | None = None
    source: Text200 | None = None
    utm: Annotated[dict[str, Annotated[str, pydantic.Field(max_length=200)]], JSON] | None = None
    budget_aed: Annotated[int, pydantic.Field(ge=0, le=10**12), BIGINT] | None = None
    bedrooms: Annotated[int, pydantic.Field(ge=0, le=50)] | None = None
    area: Text200 | None = None
    handover_horizon: str | None = None
    status: StatusName | None = None
    assigned_to: Annotated[str, pydantic.Field(min_length=1, max_length=320)] | None = None
    do_not_contact: DoNotContactIn | None = None

    @pydantic.field_validator("name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @pydantic.field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise.normalise_phone(value) if value is not None else None

    @pydantic.field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalise.normalise_email(value) if value is not None else None

    @pydantic.field_validator("utm")
    @classmethod
    def _utm(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # Kept exactly as sent (SPEC 8); only the UTM parameters themselves are accepted.
        if value is not None:
            normalise.check_utm_keys(value)
        return value

    @pydantic.field_validator("handover_horizon")
    @classmethod
    def _horizon(cls, value: str | None) -> str | None:
        if value is not None and not _HORIZON.match(value):
            raise ValueError("must be 'ready' or 'off_plan_YYYY'")
        return value


class LeadCreate(_LeadFields):
    """A new lead: name plus at least one of phone or email."""

    name: Text200


class LeadUpdate(_LeadFields):
    """Fields of a lead; null clears an optional field on update."""


class LeadQuery(PageQuery):
    """The filters of GET /leads (the GraphQL `leads` field takes the same)."""

    source: str | None = pydantic.Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Normalised like a lead's source (`Bayut` or `bayut.com` is `bayut`); "
        f"canonical values: {', '.join(normalise.CANONICAL_SOURCES)}.",
    )
    score_min: int | None = pydantic.Field(
        default=None, ge=0, le=100, description="Only leads scoring at least this (0-100)."
    )
    created_after: UtcDatetime | None = pydantic.Field(
        default=None, description="Only leads created strictly after this instant."
    )
    assigned_to: str | None = pydantic.Field(
        default=None,
        min_length=1,
        max_length=320,
        description="The agent's name or e-mail, exactly as assigned.",
    )
    status: StatusName | None = pydantic.Field(default=None, description="Pipeline stage.")


class DoNotContactOut(Out):
    """Channels the lead has opted out of."""

    whatsapp: bool
    voice: bool
    email: bool


class ScoreFactorOut(Out):
    """One term of a lead's score and why it applies."""

    factor: str
    points: int
    reason: str


class LeadOut(Out):
    """A buyer or tenant enquiry, as every lead route and the `lead.*` webhooks show it."""

    id: id_of("lead")  # type: ignore[valid-type]
    object: Literal["lead"]
    name: str
    phone: Annotated[str, pydantic.Field(pattern=r"^\+[1-9]\d{1,14}$")] | None = pydantic.Field(
        description="E.164"
    )
    email: str | None
    source: Source
    source_raw: str | None = pydantic.Field(description="the raw value when source is other")
    sources: list[Source]
    utm: Annotated[dict[str, str], JSON] | None = pydantic.Field(description="as sent")
    budget_aed: Annotated[int, BIGINT] | None = pydantic.Field(ge=0, description="whole dirhams")
    bedrooms: int | None = pydantic.Field(ge=0, description="0 = studio")
    area: str | None
    handover_horizon: str | None = pydantic.Field(pattern=r"^(ready|off_plan_20\d\d)$")
    status: StatusName
    assigned_to: str | None
    do_not_contact: DoNotContactOut
    score: int = pydantic.Field(ge=0, le=100)
    score_factors: list[ScoreFactorOut]
    created_at: Timestamp
    updated_at: Timestamp


LeadListOut = list_of(LeadOut)
LeadDeletedOut = deleted("lead", "lead")
LEAD_EXAMPLE = {
    "name": "Aisha Khan",
    "phone": "+971501234567",
    "email": "aisha@example.com",
    "source": "bayut",
    "budget_aed": 1800000,
    "bedrooms": 2,
    "area": "Dubai Marina",
}
