"""Voice calls: placing one through the tenant's Vapi account (an ElevenLabs voice) or, for
test keys, the sandbox; reading them back newest first.

What happens after the call was placed (status updates, the end-of-call report, its messages
in the lead's voice conversation, reconciliation of a lost report) is `call_reports`'.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from hadar import clock
from hadar.domain.calls import CALLS, Call, CallStatus, status_from_vapi
from hadar.domain.scope import Operation, Scope
from hadar.errors import DoNotContact, HadarError, ServiceUnavailable, ValidationError
from hadar.ids import new_id
from hadar.pagination import Page
from hadar.providers.ports import ProviderError, TransientAssistant
from hadar.services import audit, call_reports, integrations, leads
from hadar.services.listing import filtered, get_in_scope
from hadar.services.models import Out, Timestamp, id_of, list_of
from hadar.services.validation import PageQuery, Strict, parse

StatusName = Literal["queued", "ringing", "in_progress", "ended", "failed"]
LeadId = Annotated[str, pydantic.Field(min_length=1, max_length=40)]

CREATE = Operation("calls.create", CALLS, mutation=True)
LIST = Operation("calls.list", CALLS)
RETRIEVE = Operation("calls.retrieve", CALLS)

DEFAULT_PROMPT = (
    "You are a polite real-estate assistant calling a lead who just enquired about a property. "
    "Confirm their budget, preferred area and bedrooms, and offer a viewing. Keep it short."
)


class CallCreate(Strict):
    """Call a lead now; the prompt and first line shape a transient assistant (an integration
    that names a saved assistant uses that one instead)."""

    lead_id: LeadId
    agent_prompt: Annotated[str, pydantic.Field(min_length=1, max_length=8000)] | None = None
    first_message: Annotated[str, pydantic.Field(min_length=1, max_length=1000)] | None = None


class CallQuery(PageQuery):
    """The filters of GET /calls (the GraphQL `calls` field takes the same)."""

    lead_id: LeadId | None = pydantic.Field(default=None, description="Only this lead's calls.")
    status: StatusName | None = pydantic.Field(default=None, description="Only calls in it.")


class CallOut(Out):
    """An AI voice call to a lead, and what came of it once it ended."""

    id: id_of("call")  # type: ignore[valid-type]
    object: Literal["call"]
    lead_id: id_of("lead")  # type: ignore[valid-type]
    status: StatusName
    provider: Literal["vapi", "sandbox"]
    ended_reason: str | None = pydantic.Field(description="Vapi's endedReason, as reported")
    duration_seconds: int | None = pydantic.Field(ge=0)
    summary: str | None
    transcript: str | None
    recording_url: str | None
    created_at: Timestamp
    ended_at: Timestamp | None


CallListOut = list_of(CallOut)
CALL_EXAMPLE = {
    "lead_id": "lead_01HMNZ8G7Q3V5X2T4R6Y9W0K1B",
    "first_message": "Hi Aisha, this is Layla from Marina Homes about your Bayut enquiry.",
}


def provider_failure(err: ProviderError) -> HadarError:
    """A provider's refusal as ours: what we sent was wrong (400), else Vapi is unwell (503)."""
    if err.kind == "invalid":
        return ValidationError(err.message, field=err.field or "call")
    return ServiceUnavailable(f"the voice provider is unavailable ({err.code}); retry later")


async def create_call(*, scope: Scope, data: Any) -> Call:
    """Call the lead through the tenant's Vapi (test keys: the sandbox, which ends at once);
    never a lead opted out of voice or without a phone."""
    scope.require_write(CALLS)
    spec = parse(CallCreate, data, root="call")
    lead = await leads.get_lead(scope=scope, lead_id=spec.lead_id)
    if (lead.do_not_contact or {}).get("voice"):
        raise DoNotContact("the lead has opted out of voice calls", field="call.lead_id")
    if not lead.phone:
        raise ValidationError("the lead has no phone number to call", field="call.lead_id")
    account = await integrations.connected(scope=scope, kind="vapi")
    at = clock.now()
    call = Call(
        id=new_id("call", at),
        tenant_id=scope.tenant_id,
        environment=scope.environment,
        lead_id=lead.id,
        status=CallStatus.QUEUED.value,
        provider=account.provider,
        agent_prompt=spec.agent_prompt,
        first_message=spec.first_message,
        created_at=at,
        updated_at=at,
    )
    assistant_id = account.config.get("assistant_id")
    assistant = None
    if not assistant_id:
        assistant = TransientAssistant(
            first_message=spec.first_message or f"Hi {lead.name}, thanks for your enquiry.",
            agent_prompt=spec.agent_prompt or DEFAULT_PROMPT,
            voice_id=account.config.get("voice_id"),
        )
    port = integrations.voice_port(scope=scope, account=account)
    try:
        started = await port.create_call(
            to=lead.phone,
            name=lead.name,
            assistant_id=assistant_id or None,
            assistant=assistant,
            server_url=account.webhook_url or None,
            metadata={"call_id": call.id, "lead_id": lead.id, "tenant": scope.tenant_id},
        )
    except ProviderError as err:
        raise provider_failure(err) from None
    call.provider_call_id = started.provider_call_id
    if started.report is None:
        call.status = status_from_vapi(started.status) or CallStatus.QUEUED.value
    await call.save(force_create=True)
    await audit.record(scope=scope, action="call.created", object_id=call.id)
    if started.report is not None:  # the sandbox: ended already, with its canned report
        await call_reports.apply_report(scope=scope, call=call, report=started.report)
    return call


async def get_call(*, scope: Scope, call_id: str) -> Call:
    """The call with `call_id` in the caller's tenant and environment, else NotFound."""
    scope.require_read(CALLS)
    return await get_in_scope(Call, scope=scope, prefix="call", object_id=call_id, noun="call")


async def list_calls(
    *,
    scope: Scope,
    lead_id: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Call]:
    """Newest first, filtered by lead and status; cursors bound to the filter set."""
    scope.require_read(CALLS)
    given = {"lead_id": lead_id, "status": status, "limit": limit, "cursor": cursor}
    return await filtered(Call, scope=scope, name="calls", query=CallQuery, given=given)


def present_call(call: Call) -> dict[str, Any]:
    """The public shape of a call (REST body, `call.completed` data.object)."""
    return call_reports.present_call(call)
