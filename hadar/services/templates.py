"""WhatsApp templates: a per-tenant store, seeded with the reference's two viewing
confirmations; admins add more (test keys: approved at once; live: submitted to Meta and
`pending` until its review arrives, or approved at once on UltraMsg, which has no templates).

A live submission happens inside the request, like a send: the row is inserted first (so a
duplicate name is refused before Meta sees it), Meta is called, and its answer (id, status,
category) is saved with the stored Idempotency-Key answer. When Meta refuses or is unreachable,
nothing is kept but the audit row and that error answer, so a replay never submits twice and a
retry with a new key submits afresh. A retry of a submission Meta accepted although its answer
never arrived (a timeout) meets Meta's "already exists": Hadar then reads the template back and
keeps it when its body is the one submitted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import templates as rules
from hadar.domain.scope import Operation, Scope
from hadar.domain.templates import TEMPLATES, Template, TemplateCategory, TemplateStatus
from hadar.errors import Conflict, HadarError, ServiceUnavailable, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page
from hadar.providers.ports import ProviderError, TemplateSubmission, WhatsAppPort
from hadar.services import audit, integrations
from hadar.services.listing import binding, get_in_scope, newest_first, scoped
from hadar.services.models import Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse

CREATE = Operation("templates.create", TEMPLATES, mutation=True)
LIST = Operation("templates.list", TEMPLATES)
Category = Literal["utility", "marketing", "authentication"]


class TemplateCreate(Strict):
    """A template: `{{name}}` placeholders in `body`, each listed in `variables`."""

    name: Annotated[str, pydantic.Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")]
    language: Annotated[
        str, pydantic.Field(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    ]
    category: Category
    body: Annotated[str, pydantic.Field(min_length=1, max_length=1024)]
    variables: Annotated[list[str], pydantic.Field(max_length=50)]


class TemplateQuery(PageQuery):
    """GET /whatsapp/templates takes only the page parameters."""


class TemplateOut(Out):
    """A WhatsApp template a send can name; only `approved` ones may be sent."""

    id: id_of("tpl")  # type: ignore[valid-type]
    object: Literal["whatsapp_template"]
    name: str
    language: str
    category: Category
    status: Literal["approved", "pending", "rejected"]
    body: str
    variables: list[str]
    created_at: Timestamp


TemplateListOut = list_of(TemplateOut)


async def ensure_seeded(*, scope: Scope) -> None:
    """Give the caller's sandbox the reference's seed templates if it has none yet."""
    if await scoped(Template, scope).filter(provider_template_id="seed").exists():
        return
    at = clock.now()
    for seed in rules.SEED_TEMPLATES:
        row = Template(
            id=new_id("tpl", at),
            tenant_id=scope.tenant_id,
            environment=scope.environment,
            name=seed.name,
            language=seed.language,
            category=seed.category,
            status=seed.status,
            body=seed.body,
            variables=list(seed.variables),
            provider_template_id="seed",  # marks the seeds, so they are inserted once
            created_at=at,
            updated_at=at,
        )
        try:
            async with in_transaction():  # a savepoint: a concurrent first use inserted it
                await row.save(force_create=True)
        except IntegrityError:
            continue


async def list_templates(
    *, scope: Scope, limit: int | None = None, cursor: str | None = None
) -> Page[Template]:
    """The tenant's templates in this environment, newest first (the two seeds included)."""
    scope.require_read(TEMPLATES)
    spec = parse(TemplateQuery, {"limit": limit, "cursor": cursor}, root="")
    await ensure_seeded(scope=scope)
    return await newest_first(
        scoped(Template, scope),
        binding=binding(scope, "templates"),
        limit=spec.limit,
        cursor=spec.cursor,
    )


async def create_template(*, scope: Scope, data: Any) -> Template:
    """Add a template: approved at once for test keys and UltraMsg; submitted to Meta (which
    needs the integration's business_account_id) and kept with Meta's id and status."""
    scope.require_write(TEMPLATES)
    spec = parse(TemplateCreate, data, root="template")
    rules.check_definition(body=spec.body, variables=spec.variables, field="template")
    await ensure_seeded(scope=scope)
    account = await integrations.connected(scope=scope, kind="whatsapp")
    if account.provider == "meta" and not account.config.get("business_account_id"):
        raise ValidationError(
            "integration.business_account_id is required to submit templates to Meta: "
            "PUT /api/v1/integrations/whatsapp with your WhatsApp Business Account id",
            field="integration.business_account_id",
        )
    at = clock.now()
    row = Template(
        id=new_id("tpl", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        name=spec.name,
        language=spec.language,
        category=spec.category,
        status=TemplateStatus.PENDING.value,
        body=spec.body,
        variables=spec.variables,
        created_at=at,
        updated_at=at,
    )
    try:
        async with in_transaction():
            await row.save(force_create=True)
    except IntegrityError:
        raise Conflict(
            f"template {spec.name} already exists in {spec.language}", field="template.name"
        ) from None
    port = integrations.whatsapp_port(scope=scope, account=account)
    body, names = rules.positional(spec.body)
    try:
        submitted = await port.submit_template(
            name=spec.name,
            language=spec.language,
            category=spec.category,
            body=body,
            examples=rules.sample_values(names),
        )
    except ProviderError as error:
        if error.code == "circuit_open":
            # Nothing left the building: roll back, so a retry may submit once it closes.
            raise ServiceUnavailable(f"WhatsApp is unavailable: {error.title}") from None
        found = await _ours(port, spec, body) if error.kind == "conflict" else None
        if found is None:
            await row.delete()
            await audit.record(
                scope=scope, action="whatsapp_template.submission_failed", object_id=row.id
            )
            raise _refusal(error) from None
        submitted = found
    await _submitted(row, submitted)
    await audit.record(scope=scope, action="whatsapp_template.created", object_id=row.id)
    return row


async def _ours(port: WhatsAppPort, spec: TemplateCreate, body: str) -> TemplateSubmission | None:
    """Meta's template of this name and language when it is the one submitted (same body):
    an earlier submission whose answer was lost (a timeout) that Meta accepted after all."""
    try:
        found = await port.find_template(name=spec.name, language=spec.language)
    except ProviderError:
        return None
    return found if found is not None and found.body == body else None


def _refusal(error: ProviderError) -> HadarError:
    """The answer for a refused submission, stored under the Idempotency-Key (no second try)."""
    mapped: HadarError
    if error.kind == "invalid":
        mapped = ValidationError(
            f"Meta refused the template: {error.message}", field=error.field or "template"
        )
    elif error.kind == "conflict":
        mapped = Conflict(
            f"Meta already has this template: {error.message}", field=error.field or "template"
        )
    else:
        mapped = ServiceUnavailable(f"WhatsApp is unavailable: {error.title}")
    mapped.keep_effects = True
    return mapped


async def _submitted(row: Template, submitted: TemplateSubmission) -> None:
    status = rules.status_from_meta(submitted.status) or TemplateStatus.PENDING
    row.status = status.value
    row.provider_template_id = submitted.provider_template_id
    if submitted.category in {c.value for c in TemplateCategory}:
        row.category = submitted.category  # Meta may re-categorise (utility -> marketing)
    row.updated_at = clock.now()
    await row.save(update_fields=["status", "provider_template_id", "category", "updated_at"])


async def sendable(*, scope: Scope, name: str, language: str | None) -> Template:
    """The approved template a send names (`language` absent: the template's own), else a
    validation_error on `message.template` (unknown, pending or rejected)."""
    await ensure_seeded(scope=scope)
    query = scoped(Template, scope).filter(name=name)
    if language is not None:
        query = query.filter(language=language)
    row = await query.order_by("id").first()
    if row is None:
        where = f" in {language}" if language else ""
        raise ValidationError(
            f"message.template {name} does not exist{where}", field="message.template"
        )
    if row.status != TemplateStatus.APPROVED:
        raise ValidationError(
            f"message.template {name} is {row.status}; only approved templates may be sent",
            field="message.template",
        )
    return row


async def get_template(*, scope: Scope, template_id: str) -> Template:
    """The template in the caller's scope, else NotFound."""
    scope.require_read(TEMPLATES)
    await ensure_seeded(scope=scope)
    return await get_in_scope(
        Template, scope=scope, prefix="tpl", object_id=template_id, noun="template"
    )


def present_template(row: Template) -> dict[str, Any]:
    """The public shape of a template."""
    return {
        "id": row.id,
        "object": "whatsapp_template",
        "name": row.name,
        "language": row.language,
        "category": row.category,
        "status": row.status,
        "body": row.body,
        "variables": list(row.variables),
        "created_at": clock.isoformat(row.created_at),
    }


async def record_review(
    *, scope: Scope, provider_template_id: str | None, name: str, language: str, event: str
) -> bool:
    """Apply Meta's review of a live template (approved, rejected, paused...), found by Meta's
    id, else by name and language; True when a template changed (unknown ones are ignored)."""
    outcome = rules.status_from_meta(event)
    if outcome is None:
        return False
    query = scoped(Template, scope)
    row = None
    if provider_template_id:
        row = await query.filter(provider_template_id=provider_template_id).first()
    if row is None:
        row = await query.filter(name=name, language=language).first()
    if row is None or row.status == outcome.value:
        return False
    row.status = outcome.value
    row.updated_at = clock.now()
    await row.save(update_fields=["status", "updated_at"])
    await audit.record(scope=scope, action=f"whatsapp_template.{outcome.value}", object_id=row.id)
    return True
