"""REST routes for leads."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import leads


async def create(call: Call) -> tuple[int, Any]:
    lead, created = await leads.create_lead(scope=call.scope, data=call.body)
    return (201 if created else 200), leads.present_lead(lead)


async def list_(call: Call) -> tuple[int, Any]:
    page = await leads.list_lead_bodies(
        scope=call.scope, **call.query.model_dump(exclude_none=True)
    )
    return 200, page_body(page, lambda body: body)


async def retrieve(call: Call) -> tuple[int, Any]:
    lead = await leads.get_lead(scope=call.scope, lead_id=call.params["lead_id"])
    return 200, leads.present_lead(lead)


async def update(call: Call) -> tuple[int, Any]:
    lead = await leads.update_lead(scope=call.scope, lead_id=call.params["lead_id"], data=call.body)
    return 200, leads.present_lead(lead)


async def delete(call: Call) -> tuple[int, Any]:
    lead_id = await leads.delete_lead(scope=call.scope, lead_id=call.params["lead_id"])
    return 200, {"id": lead_id, "object": "lead", "deleted": True}


TAG = "Leads"
ROUTES = [
    RouteSpec(
        "POST",
        "/leads",
        create,
        leads.CREATE,
        "Create a lead (or merge into a duplicate)",
        TAG,
        body=leads.LeadCreate,
        response=leads.LeadOut,
        status=201,
        statuses={201: "The lead was created.", 200: "Merged into the existing lead."},
        description="Required: `name` and at least one of `phone` or `email`. Phones are "
        "normalised to E.164 (region AE), sources to their canonical name. A lead whose phone "
        "or e-mail matches an existing one is merged into it (200, the new source added to "
        "`sources`).",
        example=leads.LEAD_EXAMPLE,
    ),
    RouteSpec(
        "GET",
        "/leads",
        list_,
        leads.LIST,
        "List leads, newest first",
        TAG,
        query=leads.LeadQuery,
        response=leads.LeadListOut,
        description="Newest first, keyset-paginated.",
    ),
    RouteSpec(
        "GET",
        "/leads/{lead_id}",
        retrieve,
        leads.RETRIEVE,
        "Retrieve a lead",
        TAG,
        response=leads.LeadOut,
    ),
    RouteSpec(
        "PATCH",
        "/leads/{lead_id}",
        update,
        leads.UPDATE,
        "Update a lead",
        TAG,
        body=leads.LeadUpdate,
        response=leads.LeadOut,
        description="Changes the given fields; `null` clears an optional one.",
        example={"status": "qualified", "assigned_to": "sara@agency.ae", "budget_aed": 2000000},
    ),
    RouteSpec(
        "DELETE",
        "/leads/{lead_id}",
        delete,
        leads.DELETE,
        "Delete a lead",
        TAG,
        response=leads.LeadDeletedOut,
    ),
]
