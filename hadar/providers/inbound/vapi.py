"""Vapi call objects and server messages (`{"message": {"type": ..., "call": {...}}}`).

The current schema keeps transcript and recording under `artifact` and the summary under
`analysis`; older payloads (and many blog posts) put `transcript`, `summary` and `recordingUrl`
on the message itself. Both are read, the current shape first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hadar.providers.inbound import values as v
from hadar.providers.ports import CallReport, CallStatusUpdate


@dataclass(frozen=True, slots=True)
class VapiMessage:
    """One server message: `type`, and the status update or report when it is one of those."""

    type: str | None
    provider_call_id: str | None = None
    status_update: CallStatusUpdate | None = None
    report: CallReport | None = None
    unknown: tuple[str, ...] = field(default_factory=tuple)


def metadata_of(*sources: Mapping[str, Any]) -> dict[str, str]:
    """Correlation ids wherever Vapi echoes them: the assistant's or the overrides' metadata."""
    merged: dict[str, str] = {}
    for source in sources:
        for holder in (v.obj(source.get("assistantOverrides")), v.obj(source.get("assistant"))):
            merged.update(v.string_map(holder.get("metadata")))
        merged.update(v.string_map(source.get("metadata")))
    return merged


def _recording(artifact: Mapping[str, Any], legacy: Mapping[str, Any]) -> str | None:
    recording = v.obj(artifact.get("recording"))
    return (
        v.text(artifact.get("recordingUrl"))
        or v.text(v.obj(recording.get("mono")).get("combinedUrl"))
        or v.text(recording.get("stereoUrl"))
        or v.text(artifact.get("stereoRecordingUrl"))
        or v.text(legacy.get("recordingUrl"))
        or v.text(legacy.get("stereoRecordingUrl"))
    )


def report_from(
    source: Mapping[str, Any], *, call: Mapping[str, Any], default_status: str | None = None
) -> CallReport | None:
    """A CallReport from a call object or an end-of-call-report (`source`), whose call is
    `call` (the same object for `GET /call/{id}`); None without a call id."""
    call_id = v.text(call.get("id"))
    if call_id is None:
        return None
    artifact, analysis = v.obj(source.get("artifact")), v.obj(source.get("analysis"))
    started = v.iso(source.get("startedAt")) or v.iso(call.get("startedAt"))
    ended = v.iso(source.get("endedAt")) or v.iso(call.get("endedAt"))
    duration = v.number(source.get("durationSeconds"))
    if duration is None and started is not None and ended is not None:
        duration = max((ended - started).total_seconds(), 0.0)
    return CallReport(
        provider_call_id=call_id,
        status=v.text(call.get("status")) or default_status or "unknown",
        ended_reason=v.text(source.get("endedReason")) or v.text(call.get("endedReason")),
        summary=v.text(analysis.get("summary")) or v.text(source.get("summary")),
        transcript=v.text(artifact.get("transcript")) or v.text(source.get("transcript")),
        recording_url=_recording(artifact, source),
        duration_seconds=duration,
        started_at=started,
        ended_at=ended,
        metadata=metadata_of(call, source),
    )


def call_report(call: object) -> CallReport | None:
    """A Vapi `Call` (the answer of `GET /call/{id}`) as a CallReport; None without an id."""
    data = v.obj(v.decode(call))
    return report_from(data, call=data)


def parse_message(payload: object) -> VapiMessage:
    """A server message (raw bytes or decoded JSON); unknown types are kept with their type."""
    message = v.obj(v.obj(v.decode(payload)).get("message"))
    if not message:
        return VapiMessage(type=None, unknown=("no message object",))
    kind = v.text(message.get("type"))
    call = v.obj(message.get("call"))
    call_id = v.text(call.get("id"))
    if call_id is None:
        return VapiMessage(type=kind, unknown=("no call.id",))
    if kind == "status-update":
        status = v.text(message.get("status")) or v.text(call.get("status"))
        if status is None:
            return VapiMessage(type=kind, provider_call_id=call_id, unknown=("no status",))
        update = CallStatusUpdate(
            provider_call_id=call_id,
            status=status,
            ended_reason=v.text(message.get("endedReason")) if status == "ended" else None,
            at=v.unix_millis(message.get("timestamp")),
            metadata=metadata_of(call, message),
        )
        return VapiMessage(type=kind, provider_call_id=call_id, status_update=update)
    if kind == "end-of-call-report":
        # The report's call object may still say in-progress: the report itself means ended.
        report = report_from(message, call={**call, "status": "ended"})
        return VapiMessage(type=kind, provider_call_id=call_id, report=report)
    return VapiMessage(type=kind, provider_call_id=call_id, unknown=(f"type {kind}",))
