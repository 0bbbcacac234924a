"""Leads: intake with normalisation and merge, updates, deletion, scoring and filtered lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import normalise
from hadar.domain.leads import Lead, LeadRecord, LeadStatus
from hadar.domain.rows import fetch_dicts
from hadar.domain.scope import Scope
from hadar.domain.scoring import LeadFacts, score
from hadar.errors import Conflict, NotFound, ValidationError
from hadar.ids import looks_like, new_id
from hadar.pagination import Page, check_limit, page_of
from hadar.services import audit, events
from hadar.services.listing import keyset
from hadar.services.validation import Strict, parse

Text200 = Annotated[str, pydantic.Field(min_length=1, max_length=200)]
STATUSES = tuple(s.value for s in LeadStatus)
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
    utm: dict[str, Annotated[str, pydantic.Field(max_length=200)]] | None = None
    budget_aed: Annotated[int, pydantic.Field(ge=0, le=10**12)] | None = None
    bedrooms: Annotated[int, pydantic.Field(ge=0, le=50)] | None = None
    area: Text200 | None = None
    handover_horizon: str | None = None
    status: (
        Literal["new", "contacted", "qualified", "viewing", "negotiating", "won", "lost"] | None
    ) = None
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
        if value is None:
            return None
        out = normalise.normalise_utm(value)
        unknown = sorted(set(out) - set(normalise.UTM_KEYS))
        if unknown:
            raise ValueError(
                f"has unknown key {unknown[0]!r}; use source, medium, campaign, term, content"
            )
        return out

    @pydantic.field_validator("handover_horizon")
    @classmethod
    def _horizon(cls, value: str | None) -> str | None:
        if value is not None and not _HORIZON.match(value):
            raise ValueError("must be 'ready' or 'off_plan_YYYY'")
        return value


class LeadCreate(_LeadFields):
    name: Text200


class LeadUpdate(_LeadFields):
    pass


def _facts(lead: Lead) -> LeadFacts:
    return LeadFacts(
        phone=lead.phone,
        email=lead.email,
        source=lead.source,
        budget_aed=lead.budget_aed,
        bedrooms=lead.bedrooms,
        area=lead.area,
        handover_horizon=lead.handover_horizon,
        status=lead.status,
    )


def _rescore(lead: Lead) -> None:
    lead.score, lead.score_factors = score(_facts(lead))


def _source_of(spec: _LeadFields) -> tuple[str, str | None]:
    raw = spec.source or (spec.utm or {}).get("source")
    return normalise.normalise_source(raw) if raw else ("other", None)


def _dnc(current: dict[str, bool] | None, given: DoNotContactIn | None) -> dict[str, bool]:
    out = {"whatsapp": False, "voice": False, "email": False, **(current or {})}
    if given is not None:
        for channel, value in given.model_dump(exclude_none=True).items():
            out[channel] = value
    return out


def _scoped(scope: Scope) -> Any:
    return Lead.filter(tenant_id=scope.tenant_id, environment=scope.environment)


async def _find_duplicate(scope: Scope, phone: str | None, email: str | None) -> Lead | None:
    if phone:
        found = await _scoped(scope).filter(phone=phone).first()
        if found:
            return found
    if email:
        return await _scoped(scope).filter(email=email).first()
    return None


async def _merge(scope: Scope, lead: Lead, spec: LeadCreate) -> Lead:
    source, _ = _source_of(spec)
    if source not in lead.sources:
        lead.sources = [*lead.sources, source]
    for field in ("phone", "email"):
        value = getattr(spec, field)
        if value and getattr(lead, field) is None:
            holder = await _scoped(scope).filter(**{field: value}).first()
            if holder is None:
                setattr(lead, field, value)
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
    _rescore(lead)
    lead.updated_at = clock.now()
    await lead.save()
    await audit.record(scope=scope, action="lead.merged", object_id=lead.id)
    await events.emit(scope=scope, type="lead.updated", obj=present_lead(lead))
    return lead


async def create_lead(*, scope: Scope, data: Any) -> tuple[Lead, bool]:
    """Create a lead, or merge it into the one with the same phone or e-mail: (lead, created)."""
    scope.require_write("leads")
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


async def get_lead(*, scope: Scope, lead_id: str) -> Lead:
    """The lead with `lead_id` in the caller's tenant and environment, else NotFound."""
    lead = await _scoped(scope).filter(id=lead_id).first() if looks_like("lead", lead_id) else None
    if lead is None:
        raise NotFound(f"lead {lead_id} does not exist")
    return lead


async def update_lead(*, scope: Scope, lead_id: str, data: Any) -> Lead:
    """Change the given fields (null clears an optional one); the lead keeps a phone or e-mail."""
    scope.require_write("leads")
    spec = parse(LeadUpdate, data, root="lead")
    lead = await get_lead(scope=scope, lead_id=lead_id)
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
    _rescore(lead)
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
    scope.require_write("leads")
    lead = await get_lead(scope=scope, lead_id=lead_id)
    await lead.delete()
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
    limit = check_limit(limit)
    if score_min is not None and not 0 <= score_min <= 100:
        raise ValidationError("score_min must be between 0 and 100", field="score_min")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}", field="status")
    if source is not None:
        source = normalise.normalise_source(source)[0]
    if created_after is not None:
        # Stored timestamps are UTC; compare in UTC whatever offset the caller used.
        created_after = created_after.astimezone(UTC)
    filters: dict[str, Any] = {
        "source": source,
        "score_min": score_min,
        "assigned_to": assigned_to,
        "status": status,
        "created_after": clock.isoformat(created_after) if created_after else None,
    }
    binding = {"list": "leads", "t": scope.tenant_id, "e": scope.environment, **filters}
    query = _scoped(scope)
    if source is not None:
        query = query.filter(source=source)
    if score_min is not None:
        query = query.filter(score__gte=score_min)
    if created_after is not None:
        query = query.filter(created_at__gt=created_after)
    if assigned_to is not None:
        query = query.filter(assigned_to=assigned_to)
    if status is not None:
        query = query.filter(status=status)
    rows = await fetch_dicts(keyset(query, binding=binding, limit=limit, cursor=cursor))
    return page_of([LeadRecord.from_row(row) for row in rows], limit, binding)


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
