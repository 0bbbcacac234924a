"""WhatsApp templates: a per-tenant store, seeded with the reference's two viewing
confirmations; admins add more (test keys: approved at once; live: pending until Meta approves)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain import templates as rules
from hadar.domain.scope import Operation, Scope
from hadar.domain.templates import TEMPLATES, Template, TemplateStatus
from hadar.errors import Conflict, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page
from hadar.services import audit
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
    """Add a template: approved at once for test keys, pending (for Meta's review) for live."""
    scope.require_write(TEMPLATES)
    spec = parse(TemplateCreate, data, root="template")
    rules.check_definition(body=spec.body, variables=spec.variables, field="template")
    await ensure_seeded(scope=scope)
    at = clock.now()
    status = TemplateStatus.APPROVED if scope.environment == "test" else TemplateStatus.PENDING
    row = Template(
        id=new_id("tpl", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        name=spec.name,
        language=spec.language,
        category=spec.category,
        status=status.value,
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
    await audit.record(scope=scope, action="whatsapp_template.created", object_id=row.id)
    return row


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


# Meta's template review outcomes (message_template_status_update) and what they make ours.
REVIEW_OUTCOMES = {
    "APPROVED": TemplateStatus.APPROVED,
    "REJECTED": TemplateStatus.REJECTED,
    "PAUSED": TemplateStatus.REJECTED,
    "DISABLED": TemplateStatus.REJECTED,
    "PENDING": TemplateStatus.PENDING,
}


async def record_review(*, scope: Scope, name: str, language: str, event: str) -> bool:
    """Apply Meta's review of a live template (approved, rejected, paused...); True when a
    template of this name and language changed."""
    outcome = REVIEW_OUTCOMES.get(event.upper())
    if outcome is None:
        return False
    row = await scoped(Template, scope).filter(name=name, language=language).first()
    if row is None or row.status == outcome.value:
        return False
    row.status = outcome.value
    row.updated_at = clock.now()
    await row.save(update_fields=["status", "updated_at"])
    await audit.record(scope=scope, action=f"whatsapp_template.{outcome.value}", object_id=row.id)
    return True
