"""Response models: the exact shapes `present_lead` / `present_key` return, for the document.

They only describe responses (nothing validates with them at run time); `extra="forbid"` makes
every field a promise, so schemathesis fails when a presenter and its model drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from hadar.domain.normalise import CANONICAL_SOURCES, UTM_KEYS
from hadar.domain.tenants import Environment, Role
from hadar.pagination import MAX_LIMIT
from hadar.platform.tokens import BODY_LEN, CHECK_LEN
from hadar.services.leads import STATUSES

Source = Literal[CANONICAL_SOURCES]  # type: ignore[valid-type]
LeadStatus = Literal[STATUSES]  # type: ignore[valid-type]
EnvironmentName = Literal[tuple(e.value for e in Environment)]  # type: ignore[valid-type]
RoleName = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]
Timestamp = Annotated[
    str,
    pydantic.Field(
        pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
        examples=["2026-05-15T08:42:11.103Z"],
        description="ISO 8601 UTC with milliseconds and Z.",
    ),
]


def id_of(prefix: str) -> Any:
    """An id field: `prefix_` + a ULID."""
    return Annotated[
        str,
        pydantic.Field(
            pattern=f"^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$",
            examples=[f"{prefix}_01HMNZ8G7Q3V5X2T4R6Y9W0K1B"],
        ),
    ]


class Out(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class DoNotContact(Out):
    whatsapp: bool
    voice: bool
    email: bool


class ScoreFactor(Out):
    factor: str
    points: int
    reason: str


class Lead(Out):
    """A lead, as every lead route and the `lead.*` webhooks show it."""

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
    utm: dict[Literal[UTM_KEYS], str] | None  # type: ignore[valid-type]
    budget_aed: int | None = pydantic.Field(ge=0, description="whole dirhams")
    bedrooms: int | None = pydantic.Field(ge=0, description="0 = studio")
    area: str | None
    handover_horizon: str | None = pydantic.Field(pattern=r"^(ready|off_plan_20\d\d)$")
    status: LeadStatus
    assigned_to: str | None
    do_not_contact: DoNotContact
    score: int = pydantic.Field(ge=0, le=100)
    score_factors: list[ScoreFactor]
    created_at: Timestamp
    updated_at: Timestamp


class LeadDeleted(Out):
    id: id_of("lead")  # type: ignore[valid-type]
    object: Literal["lead"]
    deleted: Literal[True]


class ApiKey(Out):
    """An API key; the token itself is never shown again after creation."""

    id: id_of("key")  # type: ignore[valid-type]
    object: Literal["api_key"]
    environment: EnvironmentName  # type: ignore[valid-type]
    role: RoleName  # type: ignore[valid-type]
    name: str | None
    last4: Annotated[str, pydantic.Field(min_length=4, max_length=4)]
    created_at: Timestamp
    expires_at: Timestamp
    revoked_at: Timestamp | None


class NewApiKey(ApiKey):
    """A key just minted: the only time its full token is shown."""

    token: Annotated[
        str,
        pydantic.Field(
            pattern=f"^hdr_(live|test)_[0-9A-Za-z]{{{BODY_LEN + CHECK_LEN}}}$",
            examples=["hdr_test_4fK2x9QmB7nLpR3sT8vW1yZ0aC6dE5"],
        ),
    ]
    tenant: str


class AuditEvent(Out):
    """One mutation: who (the key), what (action and object), when, and its trace."""

    id: id_of("aud")  # type: ignore[valid-type]
    object: Literal["audit_event"]
    key_id: str | None
    action: str = pydantic.Field(examples=["lead.created"])
    object_id: str | None
    trace_id: str | None
    created_at: Timestamp


class Pagination(Out):
    next_cursor: str | None = pydantic.Field(description="null when has_more is false")
    has_more: bool
    limit: int = pydantic.Field(ge=1, le=MAX_LIMIT)


class LeadList(Out):
    items: list[Lead]
    pagination: Pagination


class ApiKeyList(Out):
    items: list[ApiKey]
    pagination: Pagination


class AuditEventList(Out):
    items: list[AuditEvent]
    pagination: Pagination


LEAD_EXAMPLE = {
    "name": "Aisha Khan",
    "phone": "+971501234567",
    "email": "aisha@example.com",
    "source": "bayut",
    "budget_aed": 1800000,
    "bedrooms": 2,
    "area": "Dubai Marina",
}
MODELS: tuple[type[pydantic.BaseModel], ...] = (Lead, LeadDeleted, LeadList, NewApiKey, ApiKeyList)
