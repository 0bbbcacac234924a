"""A listed lead is exactly the lead itself: its timestamps, whichever side formats them
(PostgreSQL writes them in the listing query), and its JSON columns, which the list writes out
as stored instead of decoding them (hadar.services.lead_sql)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hadar.domain.leads import Lead
from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC),  # truncated, never rounded up
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 5, 15, 8, 42, 11, tzinfo=UTC),
    ],
)
async def test_listed_timestamps_match_the_lead(ws: Workspace, at: datetime) -> None:
    r = await ws.request("POST", LEADS, json=lead_body())
    assert r.status_code == 201, r.text
    lead_id = r.json()["data"]["id"]
    await Lead.filter(id=lead_id).update(created_at=at, updated_at=at)
    one = (await ws.request("GET", f"{LEADS}/{lead_id}")).json()["data"]
    listed = (await ws.request("GET", f"{LEADS}?limit=100")).json()["data"]["items"]
    [item] = [item for item in listed if item["id"] == lead_id]
    assert item == one
    assert one["created_at"] == at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_a_listed_lead_with_every_json_column_filled_is_the_lead(ws: Workspace) -> None:
    body = lead_body(
        name="Fatima Al-Mansoori",
        email="fatima@example.ae",
        utm={"utm_source": "Bayut", "utm_term": 'فيلا "sea" view', "medium": "cpc"},
        budget_aed=2_400_000,
        bedrooms=3,
        area="Dubai Marina",
    )
    r = await ws.request("POST", LEADS, json=body)
    assert r.status_code == 201, r.text
    lead_id = r.json()["data"]["id"]
    # A second enquiry from another portal merges in: `sources` holds both.
    again = await ws.request("POST", LEADS, json={**body, "source": "property_finder"})
    assert again.json()["data"]["id"] == lead_id
    # One channel opted out: the others still show, as false.
    patched = await ws.request(
        "PATCH", f"{LEADS}/{lead_id}", json={"do_not_contact": {"whatsapp": True}}
    )
    assert patched.status_code == 200, patched.text
    one = (await ws.request("GET", f"{LEADS}/{lead_id}")).json()["data"]
    listed = (await ws.request("GET", f"{LEADS}?limit=100")).json()["data"]["items"]
    [item] = [item for item in listed if item["id"] == lead_id]
    assert item == one
    assert item["utm"]["utm_term"] == 'فيلا "sea" view'
    assert sorted(item["sources"]) == ["bayut", "property_finder"]
    assert item["do_not_contact"] == {"whatsapp": True, "voice": False, "email": False}
    assert item["score_factors"] and all(
        set(f) >= {"factor", "points"} for f in item["score_factors"]
    )
