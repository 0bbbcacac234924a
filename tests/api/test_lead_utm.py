"""A lead's `utm` is kept exactly as sent, keys and values (SPEC 8): `utm_source` comes back
as `utm_source`, never renamed or re-cased, on every read and both surfaces; and a UTM source
fills `source` when `source` is absent (normalised like any source, the raw value kept when it
is not one we know)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"
CREATE = "mutation($i: LeadCreateInput!) { createLead(input: $i) { lead { id utm source } } }"


async def reads(ws: Workspace, lead_id: str) -> list[Any]:
    """The lead's utm as every read shows it: GET, the list, GraphQL."""
    one = (await ws.request("GET", f"{LEADS}/{lead_id}")).json()["data"]
    page = (await ws.request("GET", LEADS, params={"limit": 100})).json()["data"]["items"]
    listed = next(item for item in page if item["id"] == lead_id)
    query = "query($id: ID!) { lead(id: $id) { utm } }"
    r = await ws.request("POST", "/graphql", json={"query": query, "variables": {"id": lead_id}})
    return [one["utm"], listed["utm"], r.json()["data"]["lead"]["utm"]]


@pytest.mark.parametrize(
    ("utm", "source", "source_raw"),
    [
        ({"utm_source": "Bayut", "utm_medium": "cpc", "utm_campaign": "Marina Q3"}, "bayut", None),
        ({"source": "propertyfinder.ae", "medium": "portal"}, "property_finder", None),
        ({"UTM_Source": "Facebook", "Utm_Content": "Reel 2"}, "facebook", None),
        ({"utm_source": "newsletter", "utm_term": "فيلا"}, "other", "newsletter"),
    ],
)
async def test_utm_is_kept_as_sent_and_its_source_fills_source(
    ws: Workspace, utm: dict[str, str], source: str, source_raw: str | None
) -> None:
    body = lead_body(utm=utm)
    del body["source"]
    r = await ws.request("POST", LEADS, json=body)
    assert r.status_code == 201, r.text
    lead = r.json()["data"]
    assert lead["utm"] == utm
    assert (lead["source"], lead["source_raw"], lead["sources"]) == (source, source_raw, [source])
    assert await reads(ws, lead["id"]) == [utm, utm, utm]


async def test_an_explicit_source_wins_over_utm_source(ws: Workspace) -> None:
    utm = {"utm_source": "google", "utm_campaign": "brand"}
    r = await ws.request("POST", LEADS, json=lead_body(source="Bayut", utm=utm))
    lead = r.json()["data"]
    assert (lead["source"], lead["utm"]) == ("bayut", utm)


async def test_graphql_keeps_utm_as_sent_too(ws: Workspace) -> None:
    utm = {"utm_source": "Instagram", "utm_medium": "story"}
    variables = {"i": {"name": "Layla", "phone": lead_body()["phone"], "utm": utm}}
    r = await ws.request("POST", "/graphql", json={"query": CREATE, "variables": variables})
    lead = r.json()["data"]["createLead"]["lead"]
    assert (lead["utm"], lead["source"]) == (utm, "instagram")
    assert await reads(ws, lead["id"]) == [utm, utm, utm]


async def test_patching_utm_replaces_it_as_sent(ws: Workspace) -> None:
    r = await ws.request("POST", LEADS, json=lead_body(utm={"utm_source": "bayut"}))
    lead_id = r.json()["data"]["id"]
    utm = {"utm_medium": "email", "utm_campaign": "Re-engage"}
    r = await ws.request("PATCH", f"{LEADS}/{lead_id}", json={"utm": utm})
    assert r.status_code == 200, r.text
    assert await reads(ws, lead_id) == [utm, utm, utm]
