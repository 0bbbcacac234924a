"""Matching: how well an `available` property fits a lead, as a deterministic 0-100 score.

Four factors add up to the score; each appears in `reasons` (zero points included, so the
agent sees why a factor did not help). A lead that left a factor blank gets its neutral points,
so a lead with nothing but a budget still gets a ranking by budget.

| factor   | points | when                                                              |
|----------|--------|-------------------------------------------------------------------|
| budget   | 40     | price within the budget and at least half of it                   |
|          | 30     | price under half of the budget                                    |
|          | 25     | price above the budget by at most 5 %                             |
|          | 15     | price above the budget by more than 5 % and at most 10 %          |
|          | —      | price above the budget by more than 10 %: not a match at all      |
|          | 20     | the lead gave no budget                                           |
| bedrooms | 25     | exactly the bedrooms wanted (0 = studio)                          |
|          | 10     | one more or one fewer                                             |
|          | —      | further off, or a property without bedrooms: not a match at all   |
|          | 12     | the lead gave no bedrooms                                         |
| area     | 25     | the property's area is the lead's (case and spaces ignored)       |
|          | 0      | another area                                                      |
|          | 12     | the lead gave no area                                             |
| handover | 10     | both ready, or off-plan handing over by the lead's horizon year   |
|          | 8      | the lead accepts off-plan and the property is ready               |
|          | 0      | the lead wants ready and the property is off-plan, or it hands    |
|          |        | over after the lead's horizon year                                |
|          | 5      | the lead gave no horizon                                          |

Order (best first, total): score descending, then the distance between price and budget
ascending (0 without a budget), then the property id ascending. Everything is integer
arithmetic on whole dirhams, so the same inventory always ranks the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hadar.domain.properties import PropertyStatus, handover_year

PRICE_TOLERANCE_PERCENT = 10
BEDROOM_WINDOW = 1


@dataclass(frozen=True)
class LeadWish:
    budget_aed: int | None
    bedrooms: int | None
    area: str | None
    handover_horizon: str | None


@dataclass(frozen=True)
class Listing:
    id: str
    price_aed: int
    bedrooms: int | None
    area: str | None
    handover: str
    status: str = PropertyStatus.AVAILABLE.value


@dataclass(frozen=True)
class Match:
    property_id: str
    score: int
    reasons: list[dict[str, Any]] = field(default_factory=list)
    price_distance: int = 0

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (-self.score, self.price_distance, self.property_id)


def candidate_filter(wish: LeadWish) -> dict[str, Any]:
    """Tortoise filter kwargs that narrow the inventory to the only properties that can match.

    The service applies them (with the tenant scope) in SQL, so it never loads the whole
    inventory: available, priced at most budget + 10 %, and within one bedroom of the wish.
    """
    criteria: dict[str, Any] = {"status": PropertyStatus.AVAILABLE.value}
    if wish.budget_aed is not None:
        # price * 100 <= budget * 110, in whole dirhams: the floor keeps it exact.
        criteria["price_aed__lte"] = wish.budget_aed * (100 + PRICE_TOLERANCE_PERCENT) // 100
    if wish.bedrooms is not None:
        criteria["bedrooms__gte"] = max(0, wish.bedrooms - BEDROOM_WINDOW)
        criteria["bedrooms__lte"] = wish.bedrooms + BEDROOM_WINDOW
    return criteria


def _budget(wish: LeadWish, price: int) -> tuple[int, str] | None:
    budget = wish.budget_aed
    if budget is None:
        return 20, "no budget given"
    if price <= budget:
        if price * 2 >= budget:
            return 40, f"AED {price:,} is within the budget of AED {budget:,}"
        return 30, f"AED {price:,} is well under the budget of AED {budget:,}"
    if price * 100 <= budget * 105:
        return 25, f"AED {price:,} is at most 5 % over the budget of AED {budget:,}"
    if price * 100 <= budget * (100 + PRICE_TOLERANCE_PERCENT):
        return 15, f"AED {price:,} is at most 10 % over the budget of AED {budget:,}"
    return None


def _bedrooms(wish: LeadWish, bedrooms: int | None) -> tuple[int, str] | None:
    if wish.bedrooms is None:
        return 12, "no bedrooms given"
    if bedrooms is None or abs(bedrooms - wish.bedrooms) > BEDROOM_WINDOW:
        return None
    if bedrooms == wish.bedrooms:
        return 25, f"{_rooms(bedrooms)}, as wanted"
    return 10, f"{_rooms(bedrooms)}, one off the {_rooms(wish.bedrooms)} wanted"


def _rooms(bedrooms: int) -> str:
    return "studio" if bedrooms == 0 else f"{bedrooms} bedroom" + ("s" if bedrooms > 1 else "")


def area_matches(wanted: str, area: str | None) -> bool:
    """True when a property's `area` is the `wanted` one (case and spaces ignored)."""
    return bool(area) and _fold(area or "") == _fold(wanted)


def _area(wish: LeadWish, area: str | None) -> tuple[int, str]:
    if not wish.area:
        return 12, "no area given"
    if area_matches(wish.area, area):
        return 25, f"in {wish.area}, as wanted"
    return 0, f"in {area or 'an unnamed area'}, not {wish.area}"


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _handover(wish: LeadWish, handover: str) -> tuple[int, str]:
    horizon = wish.handover_horizon
    if not horizon:
        return 5, "no handover horizon given"
    wanted_year, year = handover_year(horizon), handover_year(handover)
    if wanted_year is None:
        if year is None:
            return 10, "ready, as wanted"
        return 0, f"hands over in {year}; the lead wants ready"
    if year is None:
        return 8, "ready now, earlier than the lead's horizon"
    if year <= wanted_year:
        return 10, f"hands over in {year}, by the lead's {wanted_year} horizon"
    return 0, f"hands over in {year}, after the lead's {wanted_year} horizon"


def match(wish: LeadWish, listing: Listing) -> Match | None:
    """The score and reasons of `listing` for `wish`, or None when it is not a match at all."""
    if listing.status != PropertyStatus.AVAILABLE:
        return None
    budget = _budget(wish, listing.price_aed)
    bedrooms = _bedrooms(wish, listing.bedrooms)
    if budget is None or bedrooms is None:
        return None
    parts = (
        ("budget", budget),
        ("bedrooms", bedrooms),
        ("area", _area(wish, listing.area)),
        ("handover", _handover(wish, listing.handover)),
    )
    reasons = [{"factor": f, "points": p, "reason": r} for f, (p, r) in parts]
    distance = 0 if wish.budget_aed is None else abs(wish.budget_aed - listing.price_aed)
    return Match(
        property_id=listing.id,
        score=min(100, sum(p for _, (p, _) in parts)),
        reasons=reasons,
        price_distance=distance,
    )


def rank(wish: LeadWish, listings: list[Listing], limit: int) -> list[Match]:
    """The best `limit` matches among `listings`, best first, in the documented total order."""
    found = [m for m in (match(wish, listing) for listing in listings) if m is not None]
    return sorted(found, key=lambda m: m.sort_key)[:limit]
