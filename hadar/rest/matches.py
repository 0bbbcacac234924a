"""REST route for a lead's property matches."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.spec import RouteSpec
from hadar.services import matches


async def list_(call: Call) -> tuple[int, Any]:
    ranked = await matches.lead_matches(
        scope=call.scope, lead_id=call.params["lead_id"], limit=call.query.limit
    )
    return 200, {"items": [matches.present_match(row, found) for row, found in ranked]}


ROUTES = [
    RouteSpec(
        "GET",
        "/leads/{lead_id}/matches",
        list_,
        matches.MATCHES,
        "Rank available properties for a lead",
        "Leads",
        query=matches.MatchQuery,
        response=matches.PropertyMatchListOut,
        description="The `available` properties that fit the lead best, best first: a 0-100 "
        "`score` from budget, bedrooms, area and handover horizon, with a `reason` per factor "
        "(README, 'Property matching'). Properties more than 10 % over the budget, or more than "
        "one bedroom off, are not matches. Deterministic: ties go to the price closest to the "
        f"budget, then the smaller id. `limit` 1-100, default {matches.DEFAULT_LIMIT}.",
    ),
]
