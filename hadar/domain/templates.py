"""WhatsApp message templates: placeholders written `{{name}}` in the body, filled at send time.

A send names a template by `name` (+ `language`) and must give exactly its placeholders; Meta
receives the values in the order the placeholders first appear in the body, UltraMsg (which has
no templates) the rendered text. Every tenant starts with SEED_TEMPLATES in both environments.

Meta numbers its placeholders (`{{1}}`, `{{2}}`, ...): a live template is submitted in that
positional form (`positional`), numbered in order of first appearance, the same order a send
passes its parameters in, so the two can never disagree whatever order `variables` lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.scope import Resource
from hadar.domain.tenants import Tenant
from hadar.errors import ValidationError


class TemplateStatus(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


class TemplateCategory(StrEnum):
    UTILITY = "utility"
    MARKETING = "marketing"
    AUTHENTICATION = "authentication"


ids.declare("tpl", param="template_id")
TEMPLATES = Resource("templates")


class Template(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="templates", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    name = fields.CharField(max_length=512)
    language = fields.CharField(max_length=16)
    category = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16)
    body = fields.TextField()
    variables: fields.Field[list[str]] = fields.JSONField(default=list)
    # Meta's id once submitted (live); None for sandbox and seeded templates.
    provider_template_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "whatsapp_templates"
        unique_together = (("tenant_id", "environment", "name", "language"),)
        indexes = [Index(fields=("tenant_id", "environment", "id"))]


# Meta's rule for named parameters: lower-case letters, digits and underscores.
_PLACEHOLDER = re.compile(r"\{\{([a-z_][a-z0-9_]*)\}\}")


def placeholders(body: str) -> list[str]:
    """The `{{name}}` placeholders of `body`, each once, in order of first appearance."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(body)))


def render(body: str, variables: Mapping[str, str]) -> str:
    """`body` with every `{{name}}` replaced by its value (KeyError for a missing one)."""
    return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], body)


def positional(body: str) -> tuple[str, list[str]]:
    """Meta's form of `body`: each `{{name}}` becomes `{{n}}`, numbered from 1 in order of first
    appearance (a repeated name keeps its number), and the names in that order."""
    names = placeholders(body)
    number = {name: index for index, name in enumerate(names, start=1)}
    return _PLACEHOLDER.sub(lambda m: "{{" + str(number[m.group(1)]) + "}}", body), names


def sample_values(names: Sequence[str]) -> list[str]:
    """The example Meta's review requires for each placeholder; Hadar's template body has no
    samples, so the placeholder's own name (`agent name`) tells the reviewer what goes there."""
    return [name.replace("_", " ").strip() or name for name in names]


# Meta's template statuses (its create answer and `message_template_status_update` events) and
# what each makes ours: only `approved` may be sent, `pending` awaits Meta's decision (an appeal
# too), and whatever Meta stopped (paused for low quality, disabled, deleted) can no longer be
# sent, which is `rejected` here. Events not listed change nothing: FLAGGED is a quality warning
# on a template that still sends.
META_STATUSES = {
    "APPROVED": TemplateStatus.APPROVED,
    "REINSTATED": TemplateStatus.APPROVED,
    "PENDING": TemplateStatus.PENDING,
    "IN_APPEAL": TemplateStatus.PENDING,
    "REJECTED": TemplateStatus.REJECTED,
    "PAUSED": TemplateStatus.REJECTED,
    "DISABLED": TemplateStatus.REJECTED,
    "PENDING_DELETION": TemplateStatus.REJECTED,
    "DELETED": TemplateStatus.REJECTED,
    "ARCHIVED": TemplateStatus.REJECTED,
}


def status_from_meta(status: str) -> TemplateStatus | None:
    """Our status for Meta's `status`/`event` (any case); None for one that changes nothing."""
    return META_STATUSES.get(status.strip().upper())


def check_variables(
    *, template: str, names: Sequence[str], variables: Mapping[str, Any], field: str
) -> None:
    """Raise ValidationError naming the first missing, extra or non-text variable.

    `names` are the template's placeholders, `field` the path of the variables object
    (`message.variables`): a missing `agent_name` is `message.variables.agent_name`. Missing
    ones are reported first, in placeholder order, then extra ones in the order given.
    """
    for name in names:
        if name not in variables:
            raise ValidationError(
                f"{field}.{name} is required by template {template}", field=f"{field}.{name}"
            )
    for name in variables:
        if name not in names:
            raise ValidationError(
                f"{field}.{name} is not a placeholder of template {template}",
                field=f"{field}.{name}",
            )
    for name in names:
        value = variables[name]
        # Meta refuses an empty parameter; a number or object would be sent as its repr.
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"{field}.{name} must be a non-empty string", field=f"{field}.{name}"
            )


def check_definition(*, body: str, variables: Sequence[str], field: str) -> None:
    """Raise ValidationError unless `variables` lists exactly the placeholders of `body`."""
    found = placeholders(body)
    for name in found:
        if name not in variables:
            raise ValidationError(
                f"{field}.body uses {{{{{name}}}}}, which {field}.variables does not list",
                field=f"{field}.variables",
            )
    for index, name in enumerate(variables):
        if name not in found:
            raise ValidationError(
                f"{field}.variables[{index}] ({name}) is not a placeholder of {field}.body",
                field=f"{field}.variables[{index}]",
            )


@dataclass(frozen=True)
class TemplateSeed:
    name: str
    language: str
    category: str
    body: str
    variables: tuple[str, ...]
    status: str = TemplateStatus.APPROVED.value


SEED_TEMPLATES = (
    TemplateSeed(
        name="viewing_confirmation_en",
        language="en",
        category=TemplateCategory.UTILITY.value,
        body=(
            "Hello, this is {{agent_name}}. Your viewing of {{property_name}} is confirmed for "
            "{{viewing_time}}. Reply to this message if you need to change it."
        ),
        variables=("agent_name", "property_name", "viewing_time"),
    ),
    TemplateSeed(
        name="viewing_confirmation_ar",
        language="ar",
        category=TemplateCategory.UTILITY.value,
        body=(
            "مرحباً، معك {{agent_name}}. تم تأكيد موعد معاينة {{property_name}} في "
            "{{viewing_time}}. يرجى الرد على هذه الرسالة إذا رغبت في تغيير الموعد."
        ),
        variables=("agent_name", "property_name", "viewing_time"),
    ),
)
"""Inserted for every new tenant, in both environments, by the service that creates tenants."""
