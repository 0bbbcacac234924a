"""Webhooks: endpoints integrators register, the event outbox, and deliveries with their attempts.

An Event is written in the same transaction as the change that caused it, together with one
Delivery per matching endpoint; workers claim due deliveries with a lease and record every
attempt. `claimed_by` + `lease_until` make a claim exclusive: a crashed worker's claims
become due again once the lease passes.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.scope import Resource
from hadar.domain.tenants import Tenant

EVENT_TYPES = (
    "lead.created",
    "lead.updated",
    "message.received",
    "message.status_updated",
    "booking.created",
    "booking.updated",
    "invoice.paid",
    "call.completed",
)
ALL_EVENTS = "*"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


SEALED_COLUMNS = ("secret", "previous_secret")


def secret_context(endpoint_id: str, column: str) -> str:
    """What a sealed secret of this endpoint and column is bound to: a sealed value copied to
    another row or column does not unseal."""
    return f"webhook_endpoints.{column}:{endpoint_id}"


ids.declare("whk", param="webhook_id")
ids.declare("dlv", param="delivery_id")
ids.declare("evt", param="event_id")
WEBHOOKS = Resource("webhooks", admin_reads=True)


class WebhookEndpoint(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="webhook_endpoints", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    url = fields.CharField(max_length=2048)
    description = fields.CharField(max_length=500, null=True)
    events: fields.Field[list[str]] = fields.JSONField(default=list)
    enabled = fields.BooleanField(default=True)
    # Both secrets are stored sealed (hadar.secretbox), bound to secret_context(id, column).
    secret = fields.CharField(max_length=255)
    # After a rotation the previous secret keeps signing (a second v1=) until this moment.
    previous_secret = fields.CharField(max_length=255, null=True)
    previous_secret_expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "webhook_endpoints"
        indexes = [Index(fields=("tenant_id", "environment", "id"))]

    def wants(self, event_type: str) -> bool:
        """True when this endpoint subscribes to `event_type` (or to everything)."""
        return ALL_EVENTS in self.events or event_type in self.events


class Event(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant_id = fields.CharField(max_length=40)
    environment = fields.CharField(max_length=8)
    type = fields.CharField(max_length=64)
    # The exact bytes every delivery of this event sends and signs.
    payload = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "webhook_events"
        indexes = [Index(fields=("tenant_id", "environment", "id"))]


class Delivery(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant_id = fields.CharField(max_length=40)
    environment = fields.CharField(max_length=8)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "hadar.Event", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_id: str
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "hadar.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    endpoint_id: str
    status = fields.CharField(max_length=16, default=DeliveryStatus.PENDING.value)
    attempt_count = fields.IntField(default=0)
    # Failures since the schedule last (re)started: indexes the backoff schedule.
    failures = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=80, null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "webhook_deliveries"
        indexes = [
            Index(fields=("status", "next_attempt_at")),
            Index(fields=("endpoint_id", "id")),
        ]


class DeliveryAttempt(Model):
    id = fields.IntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[Delivery] = fields.ForeignKeyField(
        "hadar.Delivery", related_name="attempts", on_delete=fields.CASCADE
    )
    delivery_id: str
    attempted_at = fields.DatetimeField()
    status_code = fields.IntField(null=True)
    duration_ms = fields.IntField()
    error = fields.CharField(max_length=500, null=True)
    response_excerpt = fields.CharField(max_length=500, null=True)
    worker = fields.CharField(max_length=80, null=True)

    class Meta:
        table = "webhook_delivery_attempts"
        indexes = [Index(fields=("delivery_id", "id"))]
