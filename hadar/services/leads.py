"""Leads: intake with normalisation and merge, updates, deletion, scoring and filtered lists."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import normalise
from hadar.domain.conversations import Message
from hadar.domain.leads import LEADS, Lead, LeadRecord, LeadStatus
from hadar.domain.rows import fetch_dicts
from hadar.domain.scope import Operation, Scope
from hadar.domain.scoring import LeadFacts, score
from hadar.errors import Conflict, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page, check_limit, page_of
from hadar.services import audit, events
from hadar.services.listing import binding, get_in_scope, keyset, scoped
from hadar.services.models import BIGINT, JSON, Out, Timestamp, deleted, id_of, list_of
from hadar.services.validation import PageQuery, Strict, UtcDatetime, parse

Text200 = Annotated[str, pydantic.Field(min_length=1, max_length=200)]
STATUSES = tuple(s.value for s in LeadStatus)
StatusName = Literal["new", "contacted", "qualified", "viewing", "negotiating", "won", "lost"]
Source = Literal[normalise.CANONICAL_SOURCES]  # type: ignore[valid-type]
_HORIZON = re.compile(r"^(ready|off_plan_(20\d\d))$")

CREATE = Operation("leads.create", LEADS, mutation=True)
LIST = Operation("leads.list", LEADS)
RETRIEVE = Operation("leads.retrieve", LEADS)
UPDATE = Operation("leads.update", LEADS, mutation=True)
DELETE = Operation("leads.delete", LEADS, mutation=True)


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


def _facts(lead: Lead, inbound_messages: int = 0) -> LeadFacts:
    return LeadFacts(
        phone=lead.phone,
        email=lead.email,
        source=lead.source,
        budget_aed=lead.budget_aed,
        bedrooms=lead.bedrooms,
        area=lead.area,
        handover_horizon=lead.handover_horizon,
        status=lead.status,
        inbound_messages=inbound_messages,
    )


def _rescore(lead: Lead) -> None:
    lead.score, lead.score_factors = score(_facts(lead))


async def rescore_counting_inbound(*, scope: Scope, lead: Lead) -> None:
    """Recompute the score counting the lead's inbound messages, so no change drops them."""
    inbound = await scoped(Message, scope).filter(lead_id=lead.id, direction="inbound").count()
    rescore(lead=lead, inbound_messages=inbound)


def rescore(*, lead: Lead, inbound_messages: int) -> None:
    """Recompute the lead's score counting its inbound messages (called on every inbound)."""
    lead.score, lead.score_factors = score(_facts(lead, inbound_messages))


def _source_of(spec: _LeadFields) -> tuple[str, str | None]:
    raw = spec.source or normalise.utm_source(spec.utm or {})
    return normalise.normalise_source(raw) if raw else ("other", None)


def _dnc(current: dict[str, bool] | None, given: DoNotContactIn | None) -> dict[str, bool]:
    out = {"whatsapp": False, "voice": False, "email": False, **(current or {})}
    if given is not None:
        for channel, value in given.model_dump(exclude_none=True).items():
            out[channel] = value
    return out


def _scoped(scope: Scope) -> Any:
    return scoped(Lead, scope)


async def _find_duplicate(scope: Scope, phone: str | None, email: str | None) -> Lead | None:
    # Locked (PostgreSQL), so a merge racing a PATCH of the same lead never loses either.
    if phone:
        found = await _scoped(scope).filter(phone=phone).select_for_update().first()
        if found:
            return found
    if email:
        return await _scoped(scope).filter(email=email).select_for_update().first()
    return None


async def _merge(scope: Scope, lead: Lead, spec: LeadCreate) -> Lead:
    source, _ = _source_of(spec)
    if source not in lead.sources:
        lead.sources = [*lead.sources, source]
    filled = []
    for field in ("phone", "email"):
        value = getattr(spec, field)
        if value and getattr(lead, field) is None:
            holder = await _scoped(scope).filter(**{field: value}).first()
            if holder is None:
                setattr(lead, field, value)
                filled.append(field)
    for field in ("budget_aed", "bedrooms", "area", "handover_horizon", "assigned_to", "utm"):
        value = getattr(spec, field)
        if value is not None and getattr(lead, field) is None:
            setattr(lead, field, value)
    if spec.do_not_contact is not None:
        # An opt-out is sticky: a merge can add one, never lift one.
        given = spec.do_not_contact.model_dump(exclude_none=True)
        lead.do_not_contact = {
            k: v or bool(given.get(k)) for k, v in _dnc(lead.do_not_contact, None).items()
        }
    await rescore_counting_inbound(scope=scope, lead=lead)
    lead.updated_at = clock.now()
    try:
        async with in_transaction():  # a savepoint, so the request's transaction survives
            await lead.save()
    except IntegrityError:
        # A concurrent request gave a lead the phone or e-mail being filled in: it stays theirs.
        for field in filled:
            setattr(lead, field, None)
        _rescore(lead)
        await lead.save()
    await audit.record(scope=scope, action="lead.merged", object_id=lead.id)
    await events.emit(scope=scope, type="lead.updated", obj=present_lead(lead))
    return lead


async def create_lead(*, scope: Scope, data: Any) -> tuple[Lead, bool]:
    """Create a lead, or merge it into the one with the same phone or e-mail: (lead, created)."""
    scope.require_write(LEADS)
    spec = parse(LeadCreate, data, root="lead")
    if spec.phone is None and spec.email is None:
        raise ValidationError("lead requires at least one of phone or email", field="lead.phone")
    existing = await _find_duplicate(scope, spec.phone, spec.email)
    if existing is not None:
        return await _merge(scope, existing, spec), False
    source, source_raw = _source_of(spec)
    at = clock.now()
    lead = Lead(
        id=new_id("lead", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        name=spec.name,
        phone=spec.phone,
        email=spec.email,
        source=source,
        source_raw=source_raw,
        sources=[source],
        utm=spec.utm,
        budget_aed=spec.budget_aed,
        bedrooms=spec.bedrooms,
        area=spec.area,
        handover_horizon=spec.handover_horizon,
        status=spec.status or "new",
        assigned_to=spec.assigned_to,
        do_not_contact=_dnc(None, spec.do_not_contact),
        created_at=at,
        updated_at=at,
    )
    _rescore(lead)
    try:
        async with in_transaction():  # a savepoint when called inside a request transaction
            await lead.save(force_create=True)
    except IntegrityError:
        # A concurrent request inserted the same phone or e-mail first: merge into it.
        existing = await _find_duplicate(scope, spec.phone, spec.email)
        if existing is None:
            raise
        return await _merge(scope, existing, spec), False
    await audit.record(scope=scope, action="lead.created", object_id=lead.id)
    await events.emit(scope=scope, type="lead.created", obj=present_lead(lead))
    return lead, True


async def get_lead(*, scope: Scope, lead_id: str, lock: bool = False) -> Lead:
    """The lead with `lead_id` in the caller's tenant and environment, else NotFound."""
    return await get_in_scope(
        Lead, scope=scope, prefix="lead", object_id=lead_id, noun="lead", lock=lock
    )


async def update_lead(*, scope: Scope, lead_id: str, data: Any) -> Lead:
    """Change the given fields (null clears an optional one); the lead keeps a phone or e-mail."""
    scope.require_write(LEADS)
    spec = parse(LeadUpdate, data, root="lead")
    # Locked for the request's transaction (PostgreSQL), so concurrent PATCHes never lose one.
    lead = await get_lead(scope=scope, lead_id=lead_id, lock=True)
    given = spec.model_fields_set
    if "name" in given and spec.name is None:
        raise ValidationError("lead.name may not be null", field="lead.name")
    for field in ("phone", "email"):
        value = getattr(spec, field)
        if field in given and value is not None and value != getattr(lead, field):
            holder = await _scoped(scope).filter(**{field: value}).exclude(id=lead.id).first()
            if holder is not None:
                raise Conflict(f"lead {holder.id} already has this {field}", field=f"lead.{field}")
    for field in (
        "name",
        "phone",
        "email",
        "utm",
        "budget_aed",
        "bedrooms",
        "area",
        "handover_horizon",
        "assigned_to",
    ):
        if field in given:
            setattr(lead, field, getattr(spec, field))
    if "status" in given:
        lead.status = spec.status or "new"
    if "source" in given:
        lead.source, lead.source_raw = _source_of(spec)
        if lead.source not in lead.sources:
            lead.sources = [*lead.sources, lead.source]
    if "do_not_contact" in given:
        lead.do_not_contact = _dnc(lead.do_not_contact, spec.do_not_contact)
    if lead.phone is None and lead.email is None:
        raise ValidationError("lead requires at least one of phone or email", field="lead.phone")
    await rescore_counting_inbound(scope=scope, lead=lead)
    lead.updated_at = clock.now()
    try:
        async with in_transaction():
            await lead.save()
    except IntegrityError:
        raise Conflict("another lead already has this phone or email", field="lead.phone") from None
    await audit.record(scope=scope, action="lead.updated", object_id=lead.id)
    await events.emit(scope=scope, type="lead.updated", obj=present_lead(lead))
    return lead


async def delete_lead(*, scope: Scope, lead_id: str) -> str:
    """Delete the lead for good; returns its id."""
    scope.require_write(LEADS)
    lead = await get_lead(scope=scope, lead_id=lead_id)
    try:
        async with in_transaction():  # a savepoint: the refusal leaves the request usable
            await lead.delete()
    except IntegrityError:
        # Invoices reference their lead with RESTRICT: an issued invoice is a tax record.
        raise Conflict(f"lead {lead_id} has invoices and cannot be deleted") from None
    await audit.record(scope=scope, action="lead.deleted", object_id=lead_id)
    return lead_id


async def list_leads(
    *,
    scope: Scope,
    source: str | None = None,
    score_min: int | None = None,
    created_after: datetime | None = None,
    assigned_to: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[LeadRecord]:
    """Newest first, filtered; the cursor is bound to this tenant, environment and filter set."""
    spec = parse(
        LeadQuery,
        {
            k: v
            for k, v in {
                "source": source,
                "score_min": score_min,
                "created_after": created_after,
                "assigned_to": assigned_to,
                "status": status,
                "limit": limit,
                "cursor": cursor,
            }.items()
            if v is not None
        },
        root="",
    )
    size = check_limit(spec.limit)
    source = normalise.normalise_source(spec.source)[0] if spec.source is not None else None
    filters: dict[str, Any] = {
        "source": source,
        "score_min": spec.score_min,
        "assigned_to": spec.assigned_to,
        "status": spec.status,
        "created_after": clock.isoformat(spec.created_after) if spec.created_after else None,
    }
    bound = binding(scope, "leads", filters)
    query = _scoped(scope)
    if source is not None:
        query = query.filter(source=source)
    if spec.score_min is not None:
        query = query.filter(score__gte=spec.score_min)
    if spec.created_after is not None:
        query = query.filter(created_at__gt=spec.created_after)
    if spec.assigned_to is not None:
        query = query.filter(assigned_to=spec.assigned_to)
    if spec.status is not None:
        query = query.filter(status=spec.status)
    rows = await fetch_dicts(keyset(query, binding=bound, limit=size, cursor=spec.cursor))
    return page_of([LeadRecord.from_row(row) for row in rows], size, bound)


def present_lead(lead: Lead | LeadRecord) -> dict[str, Any]:
    """The public shape of a lead (REST body, webhook `data.object`)."""
    return {
        "id": lead.id,
        "object": "lead",
        "name": lead.name,
        "phone": lead.phone,
        "email": lead.email,
        "source": lead.source,
        "source_raw": lead.source_raw,
        "sources": lead.sources,
        "utm": lead.utm,
        "budget_aed": lead.budget_aed,
        "bedrooms": lead.bedrooms,
        "area": lead.area,
        "handover_horizon": lead.handover_horizon,
        "status": lead.status,
        "assigned_to": lead.assigned_to,
        "do_not_contact": _dnc(lead.do_not_contact, None),
        "score": lead.score,
        "score_factors": lead.score_factors,
        "created_at": clock.isoformat(lead.created_at),
        "updated_at": clock.isoformat(lead.updated_at),
    }
