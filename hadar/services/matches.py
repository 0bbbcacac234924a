"""Matches: the `available` properties that fit a lead best, ranked by hadar.domain.matching.

The ranking runs in SQL, for any number of leads in one statement: per lead, the domain's
candidate criteria narrow the inventory on indexed columns (status, price, bedrooms), the
table's points are summed by CASE expressions and a top-N sort keeps the best `limit` ids;
only those rows are then read whole. Python scores exactly those rows with `matching.match`
for the reasons and the final order. The SQL and the Python scorer must agree:
tests/api/test_matches.py checks them against each other on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pydantic

from hadar.domain import matching
from hadar.domain.leads import LEADS, Lead, LeadRecord
from hadar.domain.matching import LeadWish, Listing, Match
from hadar.domain.properties import PropertyRecord, PropertyStatus, handover_year
from hadar.domain.rows import fetch_sql
from hadar.domain.scope import Operation, Scope
from hadar.services.listing import get_in_scope
from hadar.services.models import Out
from hadar.services.properties import PropertyOut, present_property
from hadar.services.validation import Query, parse

MATCHES = Operation("leads.matches", LEADS)
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


class MatchQuery(Query):
    """The parameters of GET /leads/{id}/matches (GraphQL `matches(limit:)` takes the same)."""

    limit: int | None = pydantic.Field(
        default=None,
        ge=1,
        le=MAX_LIMIT,
        description=f"How many matches, best first: 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    )


class MatchReasonOut(Out):
    """One factor of a match's score and why it applies."""

    factor: Literal["budget", "bedrooms", "area", "handover"]
    points: int = pydantic.Field(ge=0, le=40)
    reason: str


class PropertyMatchOut(Out):
    """An available property that fits the lead, with the score and the reasons behind it."""

    property: PropertyOut
    score: int = pydantic.Field(ge=0, le=100)
    reasons: list[MatchReasonOut] = pydantic.Field(description="every factor, in table order")


class PropertyMatchListOut(Out):
    """The best matches first (not paginated: `limit` bounds the answer)."""

    items: list[PropertyMatchOut]


Ranked = list[tuple[PropertyRecord, Match]]
Sql = tuple[str, list[Any]]  # a fragment with `{}` for each parameter, and the parameters


# Each factor as SQL, with the points of the table in hadar.domain.matching; the WHERE clause
# has already dropped what cannot match (over budget + 10 %, bedrooms more than one off).
def _budget_sql(wish: LeadWish) -> Sql:
    budget = wish.budget_aed
    if budget is None:
        return "20", []
    return (
        "CASE WHEN p.price_aed <= {} THEN CASE WHEN p.price_aed * 2 >= {} THEN 40 ELSE 30 END"
        " WHEN p.price_aed * 100 <= {} THEN 25 ELSE 15 END",
        [budget, budget, budget * 105],
    )


def _bedrooms_sql(wish: LeadWish) -> Sql:
    if wish.bedrooms is None:
        return "12", []
    return "CASE WHEN p.bedrooms = {} THEN 25 ELSE 10 END", [wish.bedrooms]


def _area_sql(wish: LeadWish, areas: list[str]) -> Sql:
    if not wish.area:
        return "12", []
    # The stored spellings of the lead's area, folded in Python (the domain's rule).
    hits = [a for a in areas if matching.area_matches(wish.area, a)]
    if not hits:
        return "0", []
    return f"CASE WHEN p.area IN ({', '.join(['{}'] * len(hits))}) THEN 25 ELSE 0 END", hits


def _handover_sql(wish: LeadWish) -> Sql:
    if not wish.handover_horizon:
        return "5", []
    year = handover_year(wish.handover_horizon)
    if year is None:
        return "CASE WHEN p.handover = 'ready' THEN 10 ELSE 0 END", []
    # off_plan_YYYY values have one length, so comparing them as text compares their years.
    return (
        "CASE WHEN p.handover = 'ready' THEN 8 WHEN p.handover <= {} THEN 10 ELSE 0 END",
        [f"off_plan_{year}"],
    )


def _best_sql(k: int, wish: LeadWish, limit: int, scope: Scope, areas: list[str]) -> Sql:
    """The ids of `wish`'s best `limit` candidates, in the domain's order (score, price distance,
    id), from the indexed candidate criteria: a top-N sort, never the whole inventory."""
    parts = [_budget_sql(wish), _bedrooms_sql(wish), _area_sql(wish, areas), _handover_sql(wish)]
    score = " + ".join(f"({sql})" for sql, _ in parts)
    params: list[Any] = [p for _, values in parts for p in values]
    distance, order = "0", ["p.id ASC"]
    if wish.budget_aed is not None:
        distance, params = "ABS({} - p.price_aed)", [*params, wish.budget_aed]
        order.insert(0, "match_distance ASC")
    if not all(sql.isdigit() for sql, _ in parts):
        # A constant score (a lead that asks for nothing) sorts by id alone: an index walk
        # that stops after `limit` rows.
        order.insert(0, "match_score DESC")
    where = "p.tenant_id = {} AND p.environment = {} AND p.status = {}"
    params += [scope.tenant_id, scope.environment, PropertyStatus.AVAILABLE.value]
    criteria = matching.candidate_filter(wish)
    if "price_aed__lte" in criteria:
        where, params = where + " AND p.price_aed <= {}", [*params, criteria["price_aed__lte"]]
    if "bedrooms__gte" in criteria:
        where += " AND p.bedrooms >= {} AND p.bedrooms <= {}"
        params += [criteria["bedrooms__gte"], criteria["bedrooms__lte"]]
    # Built only from the fragments above and `{}` parameter marks: no value enters the text.
    sql = (
        f"SELECT * FROM (SELECT {k} AS match_k, p.id AS match_id, {score} AS match_score, "  # noqa: S608
        f"{distance} AS match_distance FROM properties p WHERE {where} "
        f"ORDER BY {', '.join(order)} LIMIT {{}}) AS best_{k}"
    )
    return sql, [*params, limit]


async def _areas(scope: Scope) -> list[str]:
    # Distinct stored areas (an index-only scan): folding them here keeps the area rule in
    # Python while SQL compares exact strings.
    rows = await fetch_sql(
        "SELECT DISTINCT area FROM properties WHERE tenant_id = {} AND environment = {} "
        "AND area IS NOT NULL",
        [scope.tenant_id, scope.environment],
    )
    return [row["area"] for row in rows]


def wish_of(lead: Any) -> LeadWish:
    """What a lead (row, record or its public shape's attributes) asks of a property."""
    return LeadWish(
        budget_aed=lead.budget_aed,
        bedrooms=lead.bedrooms,
        area=lead.area,
        handover_horizon=lead.handover_horizon,
    )


def _listing(row: PropertyRecord) -> Listing:
    return Listing(row.id, row.price_aed, row.bedrooms, row.area, row.handover, row.status)


async def rank_for(*, scope: Scope, keys: Sequence[tuple[LeadWish, int]]) -> list[Ranked]:
    """Each (wish, limit)'s best available properties in the caller's sandbox, best first, in
    one statement (plus one for the distinct areas when a wish names an area)."""
    wishes = keys  # a loader's keys: (what a lead asks for, limit)
    if not wishes:
        return []
    areas = await _areas(scope) if any(w.area for w, _ in wishes) else []
    best = [_best_sql(k, wish, limit, scope, areas) for k, (wish, limit) in enumerate(wishes)]
    # Only the winners' rows are read whole, joined back by id.
    sql = (
        "SELECT best.match_k, p.* FROM ("  # noqa: S608 (parameter marks only, as above)
        + " UNION ALL ".join(sql for sql, _ in best)
        + ") AS best JOIN properties p ON p.id = best.match_id"
    )
    ranked: list[Ranked] = [[] for _ in wishes]
    for row in await fetch_sql(sql, [p for _, params in best for p in params]):
        record = PropertyRecord.from_row(row)
        found = matching.match(wishes[row["match_k"]][0], _listing(record))
        if found is not None:
            ranked[row["match_k"]].append((record, found))
    for rows in ranked:
        rows.sort(key=lambda pair: pair[1].sort_key)
    return ranked


def match_limit(limit: int | None) -> int:
    """A matches `limit` (1-100, default 10), else ValidationError naming `limit`."""
    spec = parse(MatchQuery, {} if limit is None else {"limit": limit}, root="")
    return spec.limit or DEFAULT_LIMIT


async def lead_matches(*, scope: Scope, lead_id: str, limit: int | None = None) -> Ranked:
    """The lead's best available properties, best first (404 for a lead not in scope)."""
    size = match_limit(limit)
    lead: Lead | LeadRecord = await get_in_scope(
        Lead, scope=scope, prefix="lead", object_id=lead_id, noun="lead"
    )
    return (await rank_for(scope=scope, keys=[(wish_of(lead), size)]))[0]


def present_match(row: PropertyRecord, found: Match) -> dict[str, Any]:
    """The public shape of one match: the property, its score and every reason."""
    return {"property": present_property(row), "score": found.score, "reasons": found.reasons}
