"""Rows the platform keeps beside the domain: idempotency records and the audit trail."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.scope import Resource


class IdempotencyRecord(Model):
    id = fields.IntField(primary_key=True)
    tenant_id = fields.CharField(max_length=40)
    environment = fields.CharField(max_length=8)
    key = fields.CharField(max_length=255)
    method = fields.CharField(max_length=8)
    path = fields.CharField(max_length=500)
    request_hash = fields.CharField(max_length=64)
    status = fields.IntField()
    body = fields.BinaryField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_records"
        unique_together = (("tenant_id", "environment", "key"),)
        indexes = [Index(fields=("expires_at",))]


ids.declare("aud")
AUDIT_EVENTS = Resource("audit_events", admin_reads=True)


class AuditEvent(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant_id = fields.CharField(max_length=40)
    environment = fields.CharField(max_length=8)
    key_id = fields.CharField(max_length=40, null=True)
    action = fields.CharField(max_length=64)
    object_id = fields.CharField(max_length=40, null=True)
    trace_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "audit_events"
        indexes = [Index(fields=("tenant_id", "environment", "id"))]
