"""Matches: the `available` properties that fit a lead best, ranked by hadar.domain.matching.

The ranking runs in SQL, for any number of leads in one statement: the domain's candidate
criteria narrow the inventory on indexed columns (status, price, bedrooms), the same points
are summed by CASE expressions, and a window function keeps each lead's best `limit` rows.
Python then scores exactly those rows with `matching.match` for the reasons and the final
order, so nothing but the winners leaves the database. The SQL and the Python scorer must
agree: tests/api/test_matches.py checks them against each other on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pydantic

from hadar.domain import matching
from hadar.domain.leads import Lead, LeadRecord
from hadar.domain.matching import LeadWish, Listing, Match
from hadar.domain.properties import PropertyRecord, PropertyStatus, handover_year
from hadar.domain.rows import fetch_sql
from hadar.domain.scope import Operation, Scope
from hadar.services.listing import get_in_scope
from hadar.services.models import Out
from hadar.services.properties import PropertyOut, present_property
from hadar.services.validation import Query, parse

MATCHES = Operation("leads.matches", "leads")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
NO_CAP = 2**62  # "no budget": a price bound no listing reaches (price_aed <= 10^12)


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

# Points as in the table of hadar.domain.matching; the WHERE clause below has already dropped
# what cannot match (over budget + 10 %, bedrooms further than one off).
_SCORE = """
  CASE WHEN w.budget IS NULL THEN 20
       WHEN p.price_aed <= w.budget THEN
         CASE WHEN p.price_aed * 2 >= w.budget THEN 40 ELSE 30 END
       WHEN p.price_aed * 100 <= w.budget * 105 THEN 25
       ELSE 15 END
+ CASE WHEN w.bedrooms IS NULL THEN 12 WHEN p.bedrooms = w.bedrooms THEN 25 ELSE 10 END
+ CASE WHEN w.has_area = 0 THEN 12 WHEN h.k IS NULL THEN 0 ELSE 25 END
+ CASE WHEN w.horizon IS NULL THEN 5
       WHEN w.horizon = 'ready' THEN CASE WHEN p.handover = 'ready' THEN 10 ELSE 0 END
       WHEN p.handover = 'ready' THEN 8
       WHEN p.handover <= w.horizon THEN 10
       ELSE 0 END"""
# off_plan_YYYY values have one length, so comparing them as text compares their years.
_WISH = (
    "(CAST({} AS INTEGER), CAST({} AS INTEGER), CAST({} AS BIGINT), CAST({} AS BIGINT), "
    "CAST({} AS INTEGER), CAST({} AS INTEGER), CAST({} AS INTEGER), CAST({} AS INTEGER), "
    "CAST({} AS VARCHAR(16)))"
)
_HIT = "(CAST({} AS INTEGER), CAST({} AS VARCHAR(200)))"
_RANKED = """
WITH w(k, top_n, budget, cap, bedrooms, bed_lo, bed_hi, has_area, horizon) AS (VALUES {wishes}),
h(k, area) AS (VALUES {hits}),
scored AS (
  SELECT w.k AS match_k, w.top_n AS match_top_n, p.*, ({score}) AS match_score,
         CASE WHEN w.budget IS NULL THEN 0 ELSE ABS(w.budget - p.price_aed) END AS match_distance
  FROM w
  JOIN properties p ON p.tenant_id = {{}} AND p.environment = {{}} AND p.status = {{}}
   AND p.price_aed <= w.cap
   AND (w.bedrooms IS NULL OR (p.bedrooms >= w.bed_lo AND p.bedrooms <= w.bed_hi))
  LEFT JOIN h ON h.k = w.k AND h.area = p.area
),
ranked AS (
  SELECT scored.*, ROW_NUMBER() OVER (
    PARTITION BY match_k ORDER BY match_score DESC, match_distance ASC, id ASC
  ) AS match_rank
  FROM scored
)
SELECT * FROM ranked WHERE match_rank <= match_top_n ORDER BY match_k, match_rank"""


def wish_of(lead: Any) -> LeadWish:
    """What a lead (row, record or its public shape's attributes) asks of a property."""
    return LeadWish(
        budget_aed=lead.budget_aed,
        bedrooms=lead.bedrooms,
        area=lead.area,
        handover_horizon=lead.handover_horizon,
    )


def _horizon(wish: LeadWish) -> str | None:
    # The scorer's three cases: no horizon, ready (anything without a year), or a year.
    if not wish.handover_horizon:
        return None
    year = handover_year(wish.handover_horizon)
    return "ready" if year is None else f"off_plan_{year}"


async def _areas(scope: Scope) -> list[str]:
    # Distinct stored areas (an index-only scan): folding them here keeps the area rule in
    # Python while SQL compares exact strings.
    rows = await fetch_sql(
        "SELECT DISTINCT area FROM properties WHERE tenant_id = {} AND environment = {} "
        "AND area IS NOT NULL",
        [scope.tenant_id, scope.environment],
    )
    return [row["area"] for row in rows]


def _listing(row: PropertyRecord) -> Listing:
    return Listing(row.id, row.price_aed, row.bedrooms, row.area, row.handover, row.status)


async def rank_for(*, scope: Scope, wishes: Sequence[tuple[LeadWish, int]]) -> list[Ranked]:
    """Each (wish, limit)'s best available properties in the caller's sandbox, best first, in
    one ranking query (plus one for the distinct areas when a wish names an area)."""
    if not wishes:
        return []
    areas = await _areas(scope) if any(w.area for w, _ in wishes) else []
    params: list[Any] = []
    hits: list[Any] = []
    for k, (wish, limit) in enumerate(wishes):
        criteria = matching.candidate_filter(wish)
        params += [
            k,
            limit,
            wish.budget_aed,
            criteria.get("price_aed__lte", NO_CAP),
            wish.bedrooms,
            criteria.get("bedrooms__gte"),
            criteria.get("bedrooms__lte"),
            1 if wish.area else 0,
            _horizon(wish),
        ]
        if wish.area:
            hits += [v for a in areas if matching.area_matches(wish.area, a) for v in (k, a)]
    if not hits:
        hits = [-1, None]  # VALUES needs a row; k = -1 joins no wish
    sql = _RANKED.format(
        wishes=", ".join([_WISH] * len(wishes)),
        hits=", ".join([_HIT] * (len(hits) // 2)),
        score=_SCORE,
    )
    params += [*hits, scope.tenant_id, scope.environment, PropertyStatus.AVAILABLE.value]
    ranked: list[Ranked] = [[] for _ in wishes]
    for row in await fetch_sql(sql, params):
        record = PropertyRecord.from_row(row)
        found = matching.match(wishes[row["match_k"]][0], _listing(record))
        if found is not None:
            ranked[row["match_k"]].append((record, found))
    for k, rows in enumerate(ranked):
        rows.sort(key=lambda pair: pair[1].sort_key)
        del rows[wishes[k][1] :]
    return ranked


def check_limit(limit: int | None) -> int:
    """A matches `limit` (1-100, default 10), else ValidationError naming `limit`."""
    spec = parse(MatchQuery, {} if limit is None else {"limit": limit}, root="")
    return spec.limit or DEFAULT_LIMIT


async def lead_matches(*, scope: Scope, lead_id: str, limit: int | None = None) -> Ranked:
    """The lead's best available properties, best first (404 for a lead not in scope)."""
    size = check_limit(limit)
    lead: Lead | LeadRecord = await get_in_scope(
        Lead, scope=scope, prefix="lead", object_id=lead_id, noun="lead"
    )
    return (await rank_for(scope=scope, wishes=[(wish_of(lead), size)]))[0]


def present_match(row: PropertyRecord, found: Match) -> dict[str, Any]:
    """The public shape of one match: the property, its score and every reason."""
    return {"property": present_property(row), "score": found.score, "reasons": found.reasons}
