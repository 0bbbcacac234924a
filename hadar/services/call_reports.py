"""What Vapi tells us about a call after it was placed: status updates move it forward, the one
end-of-call report stores its outcome, writes it into the lead's voice conversation, rescores
the lead and emits `call.completed`; a report Vapi never delivered is fetched by
`reconcile_stale`. Every change is a conditional UPDATE, so a repeated or concurrent report
changes nothing (never check-then-write)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hadar import clock
from hadar.domain.calls import TERMINAL, Call, advance_call_status, status_from_vapi
from hadar.domain.conversations import (
    Channel,
    Conversation,
    Direction,
    Message,
    MessageKind,
    MessageStatus,
)
from hadar.domain.leads import Lead
from hadar.domain.scope import Scope
from hadar.errors import HadarError
from hadar.ids import new_id
from hadar.providers.inbound.vapi import parse_message
from hadar.providers.ports import CallReport, CallStatusUpdate, ProviderError
from hadar.services import audit, events, integrations, leads

log = logging.getLogger("hadar.calls")
# Vapi sends the report once and never retries it: a call started this long ago without one is
# read back with GET /call/{id}.
STALE_AFTER = timedelta(minutes=15)
RECONCILE_BATCH = 50
# A call Vapi still cannot tell us about a day after it started (deleted, key revoked) is given
# up on, so unanswerable calls never crowd out the fresh ones.
GIVE_UP_AFTER = timedelta(hours=24)
GAVE_UP_REASON = "hadar-report-never-received"


def _system_scope(call: Call | Any) -> Scope:
    # Provider-driven changes are nobody's key: the audit log shows them with no key id.
    return Scope(tenant_id=call.tenant_id, environment=call.environment, role="admin")


async def apply_status(*, call: Call, update: CallStatusUpdate) -> bool:
    """Move the call forward to the reported status (never backwards, nothing after an end);
    True when it changed."""
    target = status_from_vapi(update.status, update.ended_reason)
    moved = advance_call_status(call.status, target) if target else None
    if moved is None:
        return False
    at = clock.now()
    changes: dict[str, Any] = {"status": moved, "updated_at": at}
    if moved in TERMINAL:
        changes.update(ended_at=update.at or at, ended_reason=update.ended_reason)
    # Compare-and-set on the status read: a concurrent update that won leaves this one a no-op.
    won = await Call.filter(id=call.id, status=call.status).update(**changes)
    if won:
        for name, value in changes.items():
            setattr(call, name, value)
    return bool(won)


async def apply_report(*, scope: Scope, call: Call, report: CallReport) -> bool:
    """Store the outcome of an ended call once (a repeated report changes nothing), write it
    into the lead's voice conversation, rescore the lead and emit `call.completed`."""
    at = clock.now()
    reported = status_from_vapi("ended", report.ended_reason) or "ended"
    status = call.status if call.status in TERMINAL else reported
    changes: dict[str, Any] = {
        "status": status,
        "ended_reason": report.ended_reason or call.ended_reason,
        "summary": report.summary,
        "transcript": report.transcript,
        "recording_url": (report.recording_url or "")[:2048] or None,
        "duration_seconds": (
            round(report.duration_seconds) if report.duration_seconds is not None else None
        ),
        "ended_at": report.ended_at or call.ended_at or at,
        "report_received_at": at,
        "updated_at": at,
    }
    async with in_transaction():
        won = await Call.filter(id=call.id, report_received_at__isnull=True).update(**changes)
        if not won:
            return False
        for name, value in changes.items():
            setattr(call, name, value)
        await _record_voice_messages(scope=scope, call=call)
        lead = await Lead.filter(id=call.lead_id).select_for_update().first()
        if lead is not None:
            await leads.rescore_counting_inbound(scope=scope, lead=lead)
            lead.updated_at = at
            await lead.save(update_fields=["score", "score_factors", "updated_at"])
        await audit.record(scope=scope, action="call.completed", object_id=call.id)
        await events.emit(scope=scope, type="call.completed", obj=present_call(call))
    return True


async def _conversation(scope: Scope, lead_id: str, at: datetime) -> Conversation:
    query = Conversation.filter(
        tenant_id=scope.tenant_id, environment=scope.environment, lead_id=lead_id, channel="voice"
    )
    found = await query.first()
    if found is not None:
        return found
    row = Conversation(
        id=new_id("conv", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        lead_id=lead_id,
        channel=Channel.VOICE.value,
        created_at=at,
        updated_at=at,
    )
    try:
        async with in_transaction():  # a savepoint: the unique index decides a race
            await row.save(force_create=True)
    except IntegrityError:
        return await query.get()
    return row


async def _record_voice_messages(*, scope: Scope, call: Call) -> None:
    """The call's transcript and summary as messages in the lead's voice conversation.

    Owned here until the shared conversation service lands; the messages' provider ids
    (`<call>:transcript`, `<call>:summary`) are unique, so they are written once."""
    at = clock.now()
    conversation = await _conversation(scope, call.lead_id, at)
    parts = [("transcript", call.transcript), ("summary", call.summary)]
    for part, text in parts:
        if not text:
            continue
        await Message.create(
            id=new_id("msg", at),
            tenant_id=scope.tenant_id,
            environment=scope.environment,
            conversation_id=conversation.id,
            lead_id=call.lead_id,
            direction=Direction.OUTBOUND.value,
            kind=MessageKind.TEXT.value,
            provider_kind=f"call_{part}",
            text=text,
            status=MessageStatus.DELIVERED.value,
            provider=call.provider,
            provider_message_id=f"{call.provider_call_id or call.id}:{part}",
            created_at=at,
            status_changed_at=at,
        )
    conversation.last_message_at = at
    conversation.updated_at = at
    await conversation.save(update_fields=["last_message_at", "updated_at"])


async def handle_vapi(*, integration_id: str, secret: str | None, body: bytes) -> None:
    """A Vapi server message for the integration whose X-Vapi-Secret it carries (checked in
    constant time before the body is read); messages about unknown calls are ignored."""
    account = await integrations.inbound_integration(
        integration_id=integration_id, kind="vapi", token=secret
    )
    message = parse_message(body)
    if message.provider_call_id is None:
        return
    call = await Call.filter(
        tenant_id=account.tenant_id,
        environment=account.environment,
        provider="vapi",
        provider_call_id=message.provider_call_id,
    ).first()
    if call is None:
        return
    if message.status_update is not None:
        await apply_status(call=call, update=message.status_update)
    elif message.report is not None:
        await apply_report(scope=_system_scope(call), call=call, report=message.report)


async def reconcile_stale(*, now: datetime | None = None) -> int:
    """Read back live calls started over 15 minutes ago that never got their report (Vapi does
    not retry one it could not deliver) and apply what Vapi says; returns how many ended."""
    at = now or clock.now()
    cutoff = at - STALE_AFTER
    stale = (
        await Call.filter(
            provider="vapi",
            report_received_at__isnull=True,
            provider_call_id__isnull=False,
            created_at__lte=cutoff,
        )
        .order_by("created_at")
        .limit(RECONCILE_BATCH)
    )
    ended = 0
    for call in stale:
        scope = _system_scope(call)
        try:
            account = await integrations.connected(scope=scope, kind="vapi")
            port = integrations.voice_port(scope=scope, account=account)
            report = await port.get_call(provider_call_id=str(call.provider_call_id))
        except (ProviderError, HadarError) as err:  # one account's trouble must not stop the rest
            log.warning("call %s not reconciled: %s", call.id, type(err).__name__)
            if at - call.created_at >= GIVE_UP_AFTER:
                await _give_up(call, at)
            continue
        if report.status != "ended":
            update = CallStatusUpdate(str(call.provider_call_id), report.status)
            await apply_status(call=call, update=update)
            continue
        if await apply_report(scope=scope, call=call, report=report):
            ended += 1
    return ended


async def _give_up(call: Call, at: datetime) -> None:
    changes: dict[str, Any] = {"report_received_at": at, "updated_at": at}
    if call.status not in TERMINAL:
        changes.update(status="failed", ended_reason=GAVE_UP_REASON, ended_at=at)
    await Call.filter(id=call.id, report_received_at__isnull=True).update(**changes)


def present_call(call: Call) -> dict[str, Any]:
    """The public shape of a call (REST body, `call.completed` data.object)."""
    return {
        "id": call.id,
        "object": "call",
        "lead_id": call.lead_id,
        "status": call.status,
        "provider": call.provider,
        "ended_reason": call.ended_reason,
        "duration_seconds": call.duration_seconds,
        "summary": call.summary,
        "transcript": call.transcript,
        "recording_url": call.recording_url,
        "created_at": clock.isoformat(call.created_at),
        "ended_at": clock.isoformat(call.ended_at) if call.ended_at else None,
    }
