"""Leads: intake with normalisation and merge, updates, deletion, scoring and filtered lists."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import normalise
from hadar.domain.conversations import Message
from hadar.domain.leads import LEADS, Lead, LeadRecord
from hadar.domain.scope import Operation, Scope
from hadar.domain.scoring import LeadFacts, score
from hadar.errors import Conflict, ValidationError
from hadar.ids import new_id
from hadar.services import audit, events, lead_sql
from hadar.services.lead_lists import list_lead_bodies as list_lead_bodies  # re-exported
from hadar.services.lead_lists import list_lead_rows as list_lead_rows
from hadar.services.lead_models import (  # re-exported: the surfaces read the shapes here
    LEAD_EXAMPLE as LEAD_EXAMPLE,
)
from hadar.services.lead_models import DoNotContactIn, LeadCreate, _LeadFields
from hadar.services.lead_models import LeadDeletedOut as LeadDeletedOut
from hadar.services.lead_models import LeadListOut as LeadListOut
from hadar.services.lead_models import LeadOut as LeadOut
from hadar.services.lead_models import LeadQuery as LeadQuery
from hadar.services.lead_models import LeadUpdate as LeadUpdate
from hadar.services.listing import get_in_scope, scoped
from hadar.services.validation import parse

CREATE = Operation("leads.create", LEADS, mutation=True)
LIST = Operation("leads.list", LEADS)
RETRIEVE = Operation("leads.retrieve", LEADS)
UPDATE = Operation("leads.update", LEADS, mutation=True)
DELETE = Operation("leads.delete", LEADS, mutation=True)


_FACT_FIELDS = (
    "phone",
    "email",
    "source",
    "budget_aed",
    "bedrooms",
    "area",
    "handover_horizon",
    "status",
)


def _facts(lead: Lead | dict[str, Any], inbound_messages: int = 0) -> LeadFacts:
    """What the score reads of a lead: a model, or the values of one about to be inserted."""
    if isinstance(lead, dict):
        known = {name: lead[name] for name in _FACT_FIELDS}
    else:
        known = {name: getattr(lead, name) for name in _FACT_FIELDS}
    return LeadFacts(**known, inbound_messages=inbound_messages)


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
    source, source_raw = _source_of(spec)
    at = clock.now()
    values: dict[str, Any] = {
        "id": new_id("lead", at),
        "tenant_id": scope.tenant_id,
        "environment": scope.environment,
        "name": spec.name,
        "phone": spec.phone,
        "email": spec.email,
        "source": source,
        "source_raw": source_raw,
        "sources": [source],
        "utm": spec.utm,
        "budget_aed": spec.budget_aed,
        "bedrooms": spec.bedrooms,
        "area": spec.area,
        "handover_horizon": spec.handover_horizon,
        "status": spec.status or "new",
        "assigned_to": spec.assigned_to,
        "do_not_contact": _dnc(None, spec.do_not_contact),
        "created_at": at,
        "updated_at": at,
    }
    values["score"], values["score_factors"] = score(_facts(values))
    # No lookup first: the unique (tenant, environment, phone|email) constraints are the
    # duplicate test, so a new lead costs one statement and a duplicate one more.
    lead = await lead_sql.insert(values=values)
    if lead is None:
        # A lead with this phone or e-mail exists (or a concurrent request just made it).
        existing = await lead_sql.find_duplicate(scope=scope, phone=spec.phone, email=spec.email)
        if existing is None:  # the conflict was not on phone or e-mail: surface it
            raise IntegrityError("lead insert conflicted on neither phone nor email")
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
