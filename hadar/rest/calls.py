"""REST routes for voice calls, and the Vapi server-message webhook (no API key: the
integration's X-Vapi-Secret authenticates it, metered per integration)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hadar.errors import HadarError
from hadar.platform.runtime import Runtime
from hadar.rest.endpoint import Call
from hadar.rest.envelope import data_body, error_response, json_response
from hadar.rest.inbound import meter_inbound, raw_body
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import call_reports, calls


async def create(call: Call) -> tuple[int, Any]:
    row = await calls.create_call(scope=call.scope, data=call.body)
    return 201, calls.present_call(row)


async def list_(call: Call) -> tuple[int, Any]:
    page = await calls.list_calls(scope=call.scope, **call.query.model_dump(exclude_none=True))
    return 200, page_body(page, calls.present_call)


async def retrieve(call: Call) -> tuple[int, Any]:
    row = await calls.get_call(scope=call.scope, call_id=call.params["call_id"])
    return 200, calls.present_call(row)


async def vapi_inbound(request: Request) -> Response:
    """Vapi's server messages: 200 once authenticated (unknown calls and types are ignored)."""
    runtime: Runtime = request.app.state.runtime
    integration_id = request.path_params["integration_id"]
    headers: dict[str, str] = {}
    try:
        # SPEC 9: providers send every tenant's traffic from a few addresses, so inbound is
        # metered per integration, not per client address.
        headers = await meter_inbound(runtime, integration_id)
        body = await raw_body(request, runtime)
        await call_reports.handle_vapi(
            integration_id=integration_id,
            secret=request.headers.get("x-vapi-secret"),
            body=body,
        )
    except HadarError as err:
        return error_response(err, {**headers, **err.headers})
    return json_response(200, data_body({"received": True}), headers)


TAG = "Calls"
ROUTES = [
    RouteSpec(
        "POST",
        "/calls",
        create,
        calls.CREATE,
        "Call a lead with the AI voice agent",
        TAG,
        body=calls.CallCreate,
        response=calls.CallOut,
        status=201,
        description="Through the tenant's Vapi integration with its ElevenLabs voice (test "
        "keys: a sandbox that ends the call at once with a canned transcript). A lead opted "
        "out of voice: 422 `do_not_contact`; without a phone: 400 naming `call.lead_id`; a "
        "live key without a Vapi integration: 409; Vapi unreachable: 503. The ended call's "
        "summary and transcript land in the lead's `voice` conversation and `call.completed` "
        "is emitted.",
        example=calls.CALL_EXAMPLE,
        errors=("not_found", "do_not_contact", "service_unavailable"),
    ),
    RouteSpec(
        "GET",
        "/calls",
        list_,
        calls.LIST,
        "List calls, newest first",
        TAG,
        query=calls.CallQuery,
        response=calls.CallListOut,
        description="Newest first, keyset-paginated; filters `lead_id` and `status`.",
    ),
    RouteSpec(
        "GET",
        "/calls/{call_id}",
        retrieve,
        calls.RETRIEVE,
        "Retrieve a call",
        TAG,
        response=calls.CallOut,
    ),
]
INBOUND = [Route("/calls/inbound/vapi/{integration_id}", vapi_inbound, methods=["POST"])]
