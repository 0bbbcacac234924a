"""Voice calls placed through Vapi (ElevenLabs voice) or the sandbox, and their status rules.

Vapi reports a call several times (status-update messages, then one end-of-call-report, any of
them possibly repeated or out of order); `advance_call_status` makes each report either move the
call forward or change nothing.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from hadar import ids
from hadar.domain.leads import Lead
from hadar.domain.scope import AGENTS, Resource
from hadar.domain.tenants import Tenant


class CallStatus(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    ENDED = "ended"
    FAILED = "failed"


TERMINAL = frozenset({CallStatus.ENDED, CallStatus.FAILED})
_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    CallStatus.ENDED: 3,
    CallStatus.FAILED: 3,
}


ids.declare("call", param="call_id")
CALLS = Resource("calls", writers=AGENTS)


class Call(Model):
    id = fields.CharField(primary_key=True, max_length=40)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "hadar.Tenant", related_name="calls", on_delete=fields.CASCADE
    )
    tenant_id: str
    environment = fields.CharField(max_length=8)
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "hadar.Lead", related_name="calls", on_delete=fields.CASCADE
    )
    lead_id: str
    status = fields.CharField(max_length=16, default=CallStatus.QUEUED.value)
    # sandbox | vapi; Vapi's call id is unique per provider, so one report finds one call.
    provider = fields.CharField(max_length=16)
    provider_call_id = fields.CharField(max_length=128, null=True)
    ended_reason = fields.CharField(max_length=200, null=True)
    duration_seconds = fields.IntField(null=True)
    summary = fields.TextField(null=True)
    transcript = fields.TextField(null=True)
    recording_url = fields.CharField(max_length=2048, null=True)
    agent_prompt = fields.TextField(null=True)
    first_message = fields.TextField(null=True)
    # Set once, by the first end-of-call-report: a repeated report changes nothing.
    report_received_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "calls"
        unique_together = (("provider", "provider_call_id"),)
        indexes = [
            Index(fields=("tenant_id", "environment", "id")),
            Index(fields=("tenant_id", "environment", "lead_id", "id")),
            # The reconciliation sweep (call_reports.reconcile_stale) reads the oldest calls
            # still without a report, across tenants, every minute: without this it scans
            # every call ever made.
            Index(fields=("report_received_at", "created_at")),
        ]


def advance_call_status(current: str, new: str) -> str | None:
    """The status to store when `new` is reported on a call at `current`; None to ignore it.

    queued → ringing → in_progress → ended or failed, skipping steps allowed (a report of
    `ended` on a queued call ends it); never backwards; ended and failed are final (neither
    replaces the other); a repeat changes nothing. ValueError for an unknown status.
    """
    now, then = CallStatus(current), CallStatus(new)
    if now in TERMINAL or _RANK[then] <= _RANK[now]:
        return None
    return then.value


# Reasons the lead was never reached or the call could not run: the call `failed`.
FAILED_REASONS = frozenset(
    {
        "customer-did-not-answer",
        "customer-busy",
        "twilio-failed-to-connect-call",
    }
)
# Families of provider-side errors (the ElevenLabs voice among them: a call with no voice did
# not happen): `pipeline-error-eleven-labs-voice-not-found`, `…-quota-exceeded`,
# `call.in-progress.error-vapifault-eleven-labs-voice-failed`, `call.start.error-…`.
_FAILED_PREFIXES = ("pipeline-error-",)
_FAILED_MARKERS = (".error-",)


def status_for_ended_reason(ended_reason: str | None) -> str:
    """`failed` for the endedReason values that mean the call never properly happened, else `ended`.

    `failed`: the lead did not answer or was busy, the carrier did not connect, or a pipeline
    error (ElevenLabs voice not found, quota, unauthorised; any `call.*.error-*`). Everything
    else, including voicemail, silence timeouts, max duration, forwarding and any value we do
    not know (Vapi has 600+), is `ended`, with the raw value kept in `ended_reason`.
    """
    reason = (ended_reason or "").strip()
    if reason in FAILED_REASONS:
        return CallStatus.FAILED.value
    if reason.startswith(_FAILED_PREFIXES) or any(m in reason for m in _FAILED_MARKERS):
        return CallStatus.FAILED.value
    return CallStatus.ENDED.value


_VAPI_STATUSES = {
    "scheduled": CallStatus.QUEUED,
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "forwarding": CallStatus.IN_PROGRESS,
}


def status_from_vapi(status: str, ended_reason: str | None = None) -> str | None:
    """Our status for a Vapi call `status` (`ended` refined by its endedReason); None if unknown."""
    if status == "ended":
        return status_for_ended_reason(ended_reason)
    mapped = _VAPI_STATUSES.get(status)
    return mapped.value if mapped else None
