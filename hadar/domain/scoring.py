"""The lead score: a deterministic 0-100 sum of explained factors (the README documents it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRIME_AREAS = frozenset(
    {
        "dubai marina",
        "palm jumeirah",
        "downtown dubai",
        "business bay",
        "dubai hills estate",
        "emirates hills",
        "jumeirah beach residence",
        "jbr",
        "bluewaters",
        "jumeirah bay",
        "difc",
    }
)
SOURCE_POINTS = {
    "referral": 20,
    "walk_in": 18,
    "bayut": 15,
    "property_finder": 15,
    "dubizzle": 12,
    "whatsapp": 12,
    "website": 10,
    "google": 8,
    "facebook": 6,
    "instagram": 6,
    "other": 3,
}
STATUS_POINTS = {
    "new": 0,
    "contacted": 2,
    "qualified": 5,
    "viewing": 8,
    "negotiating": 10,
    "won": 15,
}
BUDGET_BANDS = ((10_000_000, 30), (3_000_000, 25), (1_000_000, 20), (500_000, 10), (0, 5))


@dataclass(frozen=True)
class LeadFacts:
    phone: str | None
    email: str | None
    source: str
    budget_aed: int | None
    bedrooms: int | None
    area: str | None
    handover_horizon: str | None
    status: str
    inbound_messages: int = 0


def score(facts: LeadFacts) -> tuple[int, list[dict[str, Any]]]:
    """(score 0-100, the factors that add up to it, largest first)."""
    factors: list[dict[str, Any]] = []

    def add(factor: str, points: int, reason: str) -> None:
        if points:
            factors.append({"factor": factor, "points": points, "reason": reason})

    if facts.status == "lost":
        return 0, [{"factor": "status", "points": 0, "reason": "lead is lost"}]
    if facts.phone:
        add("phone", 14, "reachable by phone and WhatsApp")
    if facts.email:
        add("email", 6, "reachable by e-mail")
    if facts.budget_aed is not None:
        points = next(p for floor, p in BUDGET_BANDS if facts.budget_aed >= floor)
        add("budget", points, f"budget of AED {facts.budget_aed:,}")
    add("source", SOURCE_POINTS.get(facts.source, 3), f"came from {facts.source}")
    if facts.bedrooms is not None:
        add("bedrooms", 8, "knows how many bedrooms")
    if facts.area:
        add("area", 10, f"wants {facts.area}")
        if facts.area.strip().lower() in PRIME_AREAS:
            add("prime_area", 5, f"{facts.area} is a prime area")
    if facts.handover_horizon == "ready":
        add("handover", 5, "wants a ready property")
    elif facts.handover_horizon:
        add("handover", 3, f"open to {facts.handover_horizon}")
    add("status", STATUS_POINTS.get(facts.status, 0), f"pipeline stage {facts.status}")
    if facts.inbound_messages:
        add("engagement", min(10, 2 * facts.inbound_messages), "has written to us")
    factors.sort(key=lambda f: (-f["points"], f["factor"]))
    return min(100, sum(f["points"] for f in factors)), factors
