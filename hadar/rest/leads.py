"""REST adapter for leads."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.parsing import PAGE_PARAMS, as_datetime, as_int, as_str, query
from hadar.rest.spec import RouteSpec
from hadar.services import leads

LIST_PARAMS = {
    **PAGE_PARAMS,
    "source": as_str("source", 200),
    "score_min": as_int("score_min"),
    "created_after": as_datetime("created_after"),
    "assigned_to": as_str("assigned_to"),
    "status": as_str("status", 32),
}


async def create(call: Call) -> tuple[int, Any]:
    lead, created = await leads.create_lead(scope=call.scope, data=call.body)
    return (201 if created else 200), leads.present_lead(lead)


async def list_(call: Call) -> tuple[int, Any]:
    page = await leads.list_leads(scope=call.scope, **query(call.request, LIST_PARAMS))
    return 200, page_body(page, leads.present_lead)


async def retrieve(call: Call) -> tuple[int, Any]:
    query(call.request, {})
    lead = await leads.get_lead(scope=call.scope, lead_id=call.params["lead_id"])
    return 200, leads.present_lead(lead)


async def update(call: Call) -> tuple[int, Any]:
    lead = await leads.update_lead(scope=call.scope, lead_id=call.params["lead_id"], data=call.body)
    return 200, leads.present_lead(lead)


async def delete(call: Call) -> tuple[int, Any]:
    lead_id = await leads.delete_lead(scope=call.scope, lead_id=call.params["lead_id"])
    return 200, {"id": lead_id, "object": "lead", "deleted": True}


_READ_ERRORS = ("unauthorized", "invalid_api_key", "forbidden", "rate_limited")
_WRITE_ERRORS = ("validation_error", *_READ_ERRORS, "conflict")
ROUTES = [
    RouteSpec(
        "POST",
        "/leads",
        create,
        "Create a lead (or merge into a duplicate)",
        "Leads",
        mutation=True,
        body=leads.LeadCreate,
        status=201,
        extra_statuses=(200,),
        errors=_WRITE_ERRORS,
    ),
    RouteSpec(
        "GET",
        "/leads",
        list_,
        "List leads, newest first",
        "Leads",
        query=LIST_PARAMS,
        errors=("validation_error", *_READ_ERRORS),
    ),
    RouteSpec(
        "GET",
        "/leads/{lead_id}",
        retrieve,
        "Retrieve a lead",
        "Leads",
        errors=(*_READ_ERRORS, "not_found"),
    ),
    RouteSpec(
        "PATCH",
        "/leads/{lead_id}",
        update,
        "Update a lead",
        "Leads",
        mutation=True,
        body=leads.LeadUpdate,
        errors=(*_WRITE_ERRORS, "not_found"),
    ),
    RouteSpec(
        "DELETE",
        "/leads/{lead_id}",
        delete,
        "Delete a lead",
        "Leads",
        mutation=True,
        errors=(*_WRITE_ERRORS, "not_found"),
    ),
]
