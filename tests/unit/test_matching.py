"""Property matching: a hand-built inventory ranked as worked out by hand from the documented
table, the exclusions, the total order for ties, and SQL criteria that agree with the scorer."""

from __future__ import annotations

from typing import Any

import pytest

from hadar.domain.matching import LeadWish, Listing, candidate_filter, match, rank

WISH = LeadWish(
    budget_aed=2_000_000, bedrooms=2, area="Dubai Marina", handover_horizon="off_plan_2027"
)


def listing(pid: str, price: int, bedrooms: int | None, area: str | None, handover: str,
            status: str = "available") -> Listing:  # fmt: skip
    return Listing(pid, price, bedrooms, area, handover, status)


# Points worked out from the table in hadar/domain/matching.py, as budget+bedrooms+area+handover.
INVENTORY = [
    listing("prop_A", 1_950_000, 2, "Dubai Marina", "ready"),  # 40+25+25+8 = 98, 50k off
    listing("prop_B", 2_000_000, 2, "dubai  marina", "off_plan_2027"),  # 40+25+25+10 = 100
    listing("prop_C", 2_150_000, 2, "Dubai Marina", "off_plan_2026"),  # 15+25+25+10 = 75
    listing("prop_D", 2_080_000, 3, "JVC", "off_plan_2028"),  # 25+10+0+0 = 35
    listing("prop_E", 2_200_000, 1, "Dubai Marina", "ready"),  # 15+10+25+8 = 58 (10 % exactly)
    listing("prop_F", 900_000, 2, "Dubai Marina", "off_plan_2027"),  # 30+25+25+10 = 90
    listing("prop_G", 1_950_000, 2, "Dubai Marina", "ready"),  # 98, 50k off: after A by id
    listing("prop_H", 2_050_000, 2, "Dubai Marina", "ready"),  # 25+25+25+8 = 83
    listing("prop_N", 1_900_000, 2, "Dubai Marina", "ready"),  # 98, 100k off: after A and G
    listing("prop_I", 2_000_000, 4, "Dubai Marina", "ready"),  # 4 bedrooms: excluded
    listing("prop_J", 2_200_001, 2, "Dubai Marina", "ready"),  # over budget + 10 %: excluded
    listing("prop_K", 2_000_000, 2, "Dubai Marina", "ready", status="reserved"),  # excluded
    listing("prop_L", 2_000_000, None, "Dubai Marina", "ready"),  # no bedrooms: excluded
]
EXPECTED = [
    ("prop_B", 100),
    ("prop_A", 98),
    ("prop_G", 98),
    ("prop_N", 98),
    ("prop_F", 90),
    ("prop_H", 83),
    ("prop_C", 75),
    ("prop_E", 58),
    ("prop_D", 35),
]


def test_ranking_of_a_hand_built_inventory() -> None:
    ranked = rank(WISH, INVENTORY, limit=100)
    assert [(m.property_id, m.score) for m in ranked] == EXPECTED


def test_ranking_does_not_depend_on_input_order() -> None:
    expected = [pid for pid, _ in EXPECTED]
    assert [m.property_id for m in rank(WISH, list(reversed(INVENTORY)), 100)] == expected
    shuffled = INVENTORY[5:] + INVENTORY[:5]
    assert [m.property_id for m in rank(WISH, shuffled, 100)] == expected


def test_limit_keeps_the_best() -> None:
    assert [m.property_id for m in rank(WISH, INVENTORY, 3)] == ["prop_B", "prop_A", "prop_G"]


def test_reasons_explain_every_factor_and_add_up() -> None:
    for found in rank(WISH, INVENTORY, 100):
        assert [r["factor"] for r in found.reasons] == ["budget", "bedrooms", "area", "handover"]
        assert sum(r["points"] for r in found.reasons) == found.score
        assert all(r["reason"] for r in found.reasons)
    best = match(WISH, INVENTORY[0])
    assert best is not None
    assert best.reasons[0] == {
        "factor": "budget",
        "points": 40,
        "reason": "AED 1,950,000 is within the budget of AED 2,000,000",
    }


def test_a_lead_with_nothing_known_ranks_by_id() -> None:
    blank = LeadWish(None, None, None, None)
    ranked = rank(blank, INVENTORY, 100)
    assert {m.score for m in ranked} == {20 + 12 + 12 + 5}
    # Everything available matches, even without bedrooms; reserved K does not.
    ids = [m.property_id for m in ranked]
    assert ids == sorted(ids) and "prop_K" not in ids and "prop_L" in ids


def test_ready_lead_and_studio() -> None:
    wish = LeadWish(budget_aed=800_000, bedrooms=0, area=None, handover_horizon="ready")
    studio = match(wish, listing("prop_S", 800_000, 0, "JLT", "ready"))
    one_bed_off_plan = match(wish, listing("prop_T", 800_000, 1, "JLT", "off_plan_2026"))
    assert studio is not None and one_bed_off_plan is not None
    assert studio.score == 40 + 25 + 12 + 10
    assert one_bed_off_plan.score == 40 + 10 + 12 + 0
    assert match(wish, listing("prop_U", 800_000, 2, "JLT", "ready")) is None


def matches_criteria(criteria: dict[str, Any], item: Listing) -> bool:
    """What the service's SQL WHERE would say about `item` (NULL bedrooms compare false)."""
    if item.status != criteria["status"]:
        return False
    if "price_aed__lte" in criteria and item.price_aed > criteria["price_aed__lte"]:
        return False
    if "bedrooms__gte" in criteria:
        if item.bedrooms is None:
            return False
        return criteria["bedrooms__gte"] <= item.bedrooms <= criteria["bedrooms__lte"]
    return True


def test_candidate_criteria() -> None:
    assert candidate_filter(WISH) == {
        "status": "available",
        "price_aed__lte": 2_200_000,
        "bedrooms__gte": 1,
        "bedrooms__lte": 3,
    }
    assert candidate_filter(LeadWish(None, 0, None, None)) == {
        "status": "available",
        "bedrooms__gte": 0,
        "bedrooms__lte": 1,
    }
    assert candidate_filter(LeadWish(None, None, "JLT", None)) == {"status": "available"}


@pytest.mark.parametrize(
    "wish",
    [WISH, LeadWish(None, None, None, None), LeadWish(1_000_001, None, None, None),
     LeadWish(None, 0, None, None), LeadWish(1_999_999, 3, "JVC", "ready")],
)  # fmt: skip
def test_sql_criteria_select_exactly_what_can_match(wish: LeadWish) -> None:
    prices = [1_100_001, 1_100_002, 2_199_998, 2_199_999, 2_200_000, 2_200_001]
    extra = [
        listing(f"prop_P{i}", p, b, "X", "ready") for i, p in enumerate(prices) for b in (0, 4)
    ]
    for item in INVENTORY + extra:
        assert matches_criteria(candidate_filter(wish), item) == (match(wish, item) is not None), (
            item
        )


def test_ten_percent_is_exact_in_whole_dirhams() -> None:
    wish = LeadWish(1_000_001, None, None, None)
    assert candidate_filter(wish)["price_aed__lte"] == 1_100_001
    assert match(wish, listing("prop_1", 1_100_001, 1, None, "ready")) is not None
    assert match(wish, listing("prop_2", 1_100_002, 1, None, "ready")) is None
