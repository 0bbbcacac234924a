"""Leads: normalisation, merge, scoring, PATCH/DELETE semantics, filters and field validation
(reference "POST /api/v1/leads", SPEC sections 3 and 8)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hadar import clock
from tests.api.parity import Twin
from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
GST = timezone(timedelta(hours=4))


def phone() -> str:
    return lead_body()["phone"]


def email() -> str:
    return f"buyer.{uuid.uuid4().hex[:10]}@example.com"


def local(e164: str) -> str:
    """+97150NNNNNNN -> '050 NNN NNNN' (how people type it in the UAE)."""
    digits = e164.removeprefix("+971")
    return f"0{digits[:2]} {digits[2:5]} {digits[5:]}"


def assert_error(r, status: int, code: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None
    assert body["error"]["code"] == code, body
    if field is not None:
        assert body["error"].get("field") == field, body
    assert r.headers["x-trace-id"] == body["error"]["trace_id"]
    return body["error"]


def parse_ts(value: str) -> datetime:
    assert ISO_Z.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def create(ws, expect: int = 201, **over) -> dict:
    r = await ws.request("POST", LEADS, json=lead_body(**over))
    assert r.status_code == expect, r.text
    return r.json()["data"]


async def get(ws, lead_id: str) -> dict:
    r = await ws.request("GET", f"{LEADS}/{lead_id}")
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def list_ids(ws, **params) -> list[str]:
    r = await ws.request("GET", LEADS, params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]["items"]]


async def count(ws) -> int:
    return len(await list_ids(ws))


def factor_sum(lead: dict) -> int:
    return sum(f["points"] for f in lead["score_factors"])


# --- shape ----------------------------------------------------------------------------------


async def test_created_lead_has_documented_shape(ws):
    at_before = datetime.now(UTC) - timedelta(seconds=5)
    lead = await create(
        ws,
        name="Omar Saeed",
        source="property_finder",
        budget_aed=3_500_000,
        bedrooms=3,
        area="Palm Jumeirah",
        handover_horizon="off_plan_2027",
    )
    assert re.match(r"^lead_[0-9A-HJKMNP-TV-Z]{26}$", lead["id"])
    assert lead["name"] == "Omar Saeed"
    assert lead["source"] == "property_finder"
    assert lead["sources"] == ["property_finder"]
    assert lead["budget_aed"] == 3_500_000
    assert lead["bedrooms"] == 3
    assert lead["area"] == "Palm Jumeirah"
    assert lead["handover_horizon"] == "off_plan_2027"
    assert lead["status"] == "new"
    assert lead["assigned_to"] is None
    assert lead["do_not_contact"] == {"whatsapp": False, "voice": False, "email": False}
    created = parse_ts(lead["created_at"])
    assert at_before <= created <= datetime.now(UTC) + timedelta(seconds=5)
    parse_ts(lead["updated_at"])
    assert await get(ws, lead["id"]) == lead


async def test_studio_bedrooms_zero_is_kept(ws):
    lead = await create(ws, bedrooms=0)
    assert lead["bedrooms"] == 0
    assert "bedrooms" in {f["factor"] for f in lead["score_factors"]}
    assert (await get(ws, lead["id"]))["bedrooms"] == 0


async def test_email_only_lead_is_accepted(ws):
    body = {"name": "Mail Only", "email": email(), "source": "website"}
    r = await ws.request("POST", LEADS, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["data"]["phone"] is None
    assert r.json()["data"]["email"] == body["email"]


async def test_utm_object_is_kept(ws):
    utm = {"source": "google", "medium": "cpc", "campaign": "marina-2br"}
    lead = await create(ws, utm=utm, source="website")
    assert lead["utm"] == utm
    assert (await get(ws, lead["id"]))["utm"] == utm


async def test_do_not_contact_flags_are_kept(ws):
    lead = await create(ws, do_not_contact={"whatsapp": True})
    assert lead["do_not_contact"] == {"whatsapp": True, "voice": False, "email": False}


# --- normalisation --------------------------------------------------------------------------


async def test_local_uae_phone_is_normalised_to_e164(ws):
    r = await ws.request("POST", LEADS, json={"name": "Aisha", "phone": "050 123 4567"})
    assert r.status_code == 201, r.text
    assert r.json()["data"]["phone"] == "+971501234567"


@pytest.mark.parametrize(
    "fmt",
    [
        lambda p: local(p),
        lambda p: local(p).replace(" ", ""),
        lambda p: local(p).replace(" ", "-"),
        lambda p: "00" + p[1:],
        lambda p: f"+971 {p[4:6]} {p[6:9]} {p[9:]}",
        lambda p: f"(+971) {p[4:]}",
    ],
)
async def test_phone_formats_normalise_to_e164(ws, fmt):
    p = phone()
    lead = await create(ws, phone=fmt(p))
    assert lead["phone"] == p


async def test_email_domain_is_lower_cased(ws):
    local_part = f"Aisha.{uuid.uuid4().hex[:6]}"
    lead = await create(ws, email=f"{local_part}@Example.COM")
    assert lead["email"] == f"{local_part}@example.com"
    assert (await get(ws, lead["id"]))["email"] == f"{local_part}@example.com"


@pytest.mark.parametrize(
    "raw",
    ["Bayut", "bayut.com", "BAYUT", "bayut", "www.bayut.com", "https://www.bayut.com/", " Bayut "],
)
async def test_bayut_aliases(ws, raw):
    lead = await create(ws, source=raw)
    assert lead["source"] == "bayut"
    assert lead["sources"] == ["bayut"]
    assert lead["source_raw"] is None


@pytest.mark.parametrize(
    "raw",
    ["Property Finder", "propertyfinder.ae", "PF", "property_finder", "PROPERTY FINDER", "pf"],
)
async def test_property_finder_aliases(ws, raw):
    lead = await create(ws, source=raw)
    assert lead["source"] == "property_finder"
    assert lead["source_raw"] is None


@pytest.mark.parametrize(
    "raw",
    ["dubizzle", "website", "whatsapp", "referral", "walk_in", "facebook", "instagram", "google"],
)
async def test_canonical_sources_are_recognised(ws, raw):
    lead = await create(ws, source=raw)
    assert lead["source"] == raw
    assert lead["source_raw"] is None


@pytest.mark.parametrize("raw", ["Billboard on SZR", "radio ad", "Cold call 2026"])
async def test_unknown_source_is_other_with_raw_kept(ws, raw):
    lead = await create(ws, source=raw)
    assert lead["source"] == "other"
    assert lead["source_raw"] == raw
    assert lead["sources"] == ["other"]
    assert (await get(ws, lead["id"]))["source_raw"] == raw


# --- merge ----------------------------------------------------------------------------------


async def test_merge_by_phone(ws):
    p = phone()
    first = await create(ws, phone=p, source="bayut", name="Aisha Khan")
    r = await ws.request(
        "POST",
        LEADS,
        json={
            "name": "A. Khan",
            "phone": local(p),
            "source": "Property Finder",
            "budget_aed": 2_000_000,
        },
    )
    assert r.status_code == 200, r.text
    merged = r.json()["data"]
    assert merged["id"] == first["id"]
    assert merged["sources"] == ["bayut", "property_finder"]
    assert merged["created_at"] == first["created_at"]
    assert merged["budget_aed"] == 2_000_000  # a missing fact is filled in
    assert merged["score"] > first["score"]
    assert await list_ids(ws) == [first["id"]]
    assert (await get(ws, first["id"]))["sources"] == ["bayut", "property_finder"]


async def test_merge_by_email(ws):
    e = email()
    first = await create(ws, email=e, source="website")
    r = await ws.request(
        "POST",
        LEADS,
        json={
            "name": "Someone",
            "phone": phone(),
            "email": e.replace("example.com", "EXAMPLE.com"),
            "source": "dubizzle",
        },
    )
    assert r.status_code == 200, r.text
    merged = r.json()["data"]
    assert merged["id"] == first["id"]
    assert set(merged["sources"]) == {"bayut", "website", "dubizzle"} - {"bayut"}
    assert merged["sources"][0] == "website"
    assert await count(ws) == 1


async def test_a_phone_match_wins_over_an_email_match(ws):
    # One statement tries the insert; either unique constraint refusing it means a duplicate,
    # and the lead sharing the phone is the one merged into, as before.
    by_phone = await create(ws, phone=phone(), source="bayut")
    e = email()
    by_email = await create(ws, phone=phone(), email=e, source="website")
    r = await ws.request(
        "POST",
        LEADS,
        json={"name": "Both", "phone": by_phone["phone"], "email": e, "source": "dubizzle"},
    )
    assert r.status_code == 200, r.text
    merged = r.json()["data"]
    assert merged["id"] == by_phone["id"]
    assert merged["email"] is None  # the e-mail stays with the lead that has it
    assert (await get(ws, by_email["id"]))["sources"] == ["website"]
    assert await count(ws) == 2


async def test_merge_with_same_source_does_not_duplicate_it(ws):
    p = phone()
    first = await create(ws, phone=p, source="bayut")
    r = await ws.request("POST", LEADS, json=lead_body(phone=p, source="BAYUT"))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["id"] == first["id"]
    assert r.json()["data"]["sources"] == ["bayut"]


async def test_merge_keeps_existing_values(ws):
    p = phone()
    first = await create(ws, phone=p, name="Original Name", area="JBR", budget_aed=900_000)
    r = await ws.request(
        "POST", LEADS, json=lead_body(phone=p, name="Other Name", area="DIFC", budget_aed=5)
    )
    assert r.status_code == 200, r.text
    merged = r.json()["data"]
    assert merged["id"] == first["id"]
    assert merged["name"] == "Original Name"
    assert merged["area"] == "JBR"
    assert merged["budget_aed"] == 900_000


async def test_concurrent_creates_with_same_phone_make_one_lead(ws):
    p = phone()
    body = lead_body(phone=p)
    responses = await asyncio.gather(*[ws.request("POST", LEADS, json=body) for _ in range(20)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(200) == 19, statuses
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert await count(ws) == 1


# --- score ----------------------------------------------------------------------------------


async def test_score_is_bounded_and_explained(ws):
    bodies = [
        lead_body(),
        lead_body(email=email(), budget_aed=1_800_000, bedrooms=2, area="Dubai Marina"),
        lead_body(source="Billboard", area="Al Quoz"),
        {"name": "Mail", "email": email(), "source": "facebook", "handover_horizon": "ready"},
        lead_body(
            source="referral",
            budget_aed=450_000,
            status="viewing",
            handover_horizon="off_plan_2028",
        ),
    ]
    for body in bodies:
        r = await ws.request("POST", LEADS, json=body)
        assert r.status_code == 201, r.text
        lead = r.json()["data"]
        assert isinstance(lead["score"], int) and 0 <= lead["score"] <= 100
        assert lead["score_factors"], lead
        for factor in lead["score_factors"]:
            assert set(factor) >= {"factor", "points", "reason"}
            assert isinstance(factor["points"], int)
        if lead["score"] < 100:
            assert factor_sum(lead) == lead["score"], lead


async def test_reference_example_scores_78(ws):
    lead = await create(
        ws,
        name="Aisha Khan",
        email=email(),
        source="bayut",
        budget_aed=1_800_000,
        bedrooms=2,
        area="Dubai Marina",
    )
    assert lead["score"] == 78
    assert factor_sum(lead) == 78


async def test_score_is_capped_at_100(ws):
    lead = await create(
        ws,
        email=email(),
        source="referral",
        budget_aed=20_000_000,
        bedrooms=4,
        area="Palm Jumeirah",
        handover_horizon="ready",
        status="won",
    )
    assert lead["score"] == 100
    assert factor_sum(lead) >= 100


async def test_score_is_deterministic_across_tenants_and_time(ws, client):
    body = {
        "name": "Same Facts",
        "source": "Property Finder",
        "budget_aed": 3_500_000,
        "bedrooms": 3,
        "area": "Palm Jumeirah",
        "handover_horizon": "off_plan_2027",
    }
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    await other.key("test", "admin")
    results = []
    for workspace in (ws, other, ws):
        r = await workspace.request("POST", LEADS, json={**body, "phone": phone()})
        assert r.status_code == 201, r.text
        results.append(r.json()["data"])
    assert len({x["score"] for x in results}) == 1
    assert results[0]["score_factors"] == results[1]["score_factors"] == results[2]["score_factors"]
    again = await get(ws, results[0]["id"])
    assert again["score"] == results[0]["score"]
    assert again["score_factors"] == results[0]["score_factors"]


async def test_score_recomputed_on_patch(ws):
    lead = await create(ws, source="other")
    r = await ws.request(
        "PATCH",
        f"{LEADS}/{lead['id']}",
        json={"budget_aed": 12_000_000, "area": "Downtown Dubai", "bedrooms": 3},
    )
    assert r.status_code == 200, r.text
    patched = r.json()["data"]
    assert patched["score"] > lead["score"]
    assert factor_sum(patched) == patched["score"]
    factors = {f["factor"] for f in patched["score_factors"]}
    assert {"budget", "area", "prime_area", "bedrooms"} <= factors
    # the same facts on a fresh lead score the same: recomputation is complete, not additive
    fresh = await create(
        ws, source="other", budget_aed=12_000_000, area="Downtown Dubai", bedrooms=3
    )
    assert fresh["score"] == patched["score"]
    # clearing the facts brings the score back down
    r = await ws.request(
        "PATCH", f"{LEADS}/{lead['id']}", json={"budget_aed": None, "area": None, "bedrooms": None}
    )
    assert r.json()["data"]["score"] == lead["score"]
    assert (await get(ws, lead["id"]))["score"] == lead["score"]


async def test_lost_lead_scores_zero(ws):
    lead = await create(ws, budget_aed=5_000_000, area="DIFC")
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"status": "lost"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["score"] == 0


# --- PATCH ----------------------------------------------------------------------------------


async def test_patch_changes_only_given_fields(ws):
    lead = await create(ws, area="JBR", budget_aed=1_000_000, bedrooms=1)
    r = await ws.request(
        "PATCH",
        f"{LEADS}/{lead['id']}",
        json={"status": "contacted", "assigned_to": "sara@agency.ae"},
    )
    assert r.status_code == 200, r.text
    patched = r.json()["data"]
    assert patched["status"] == "contacted"
    assert patched["assigned_to"] == "sara@agency.ae"
    for field in ("name", "phone", "area", "budget_aed", "bedrooms", "source", "created_at"):
        assert patched[field] == lead[field], field
    assert parse_ts(patched["updated_at"]) >= parse_ts(lead["updated_at"])
    assert await get(ws, lead["id"]) == patched


async def test_patch_null_clears_optional_field(ws):
    lead = await create(
        ws,
        email=email(),
        area="JBR",
        budget_aed=700_000,
        bedrooms=2,
        assigned_to="omar@agency.ae",
        handover_horizon="ready",
    )
    r = await ws.request(
        "PATCH",
        f"{LEADS}/{lead['id']}",
        json={
            "area": None,
            "budget_aed": None,
            "bedrooms": None,
            "assigned_to": None,
            "handover_horizon": None,
            "email": None,
        },
    )
    assert r.status_code == 200, r.text
    patched = r.json()["data"]
    for field in ("area", "budget_aed", "bedrooms", "assigned_to", "handover_horizon", "email"):
        assert patched[field] is None, field
    assert patched["phone"] == lead["phone"]
    assert await get(ws, lead["id"]) == patched


async def test_patch_cannot_remove_both_phone_and_email(ws):
    lead = await create(ws, email=email())
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"phone": None, "email": None})
    assert_error(r, 400, "validation_error")
    assert (await get(ws, lead["id"])) == lead


async def test_patch_cannot_remove_the_only_contact(ws):
    lead = await create(ws)
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"phone": None})
    assert_error(r, 400, "validation_error", "lead.phone")
    assert (await get(ws, lead["id"]))["phone"] == lead["phone"]
    # swapping phone for email in one request is fine
    e = email()
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"phone": None, "email": e})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["phone"] is None and r.json()["data"]["email"] == e


async def test_patch_name_null_is_refused(ws):
    lead = await create(ws)
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"name": None})
    assert_error(r, 400, "validation_error", "lead.name")
    assert (await get(ws, lead["id"]))["name"] == lead["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "lead.name"),
        ({"name": "x" * 201}, "lead.name"),
        ({"phone": "12"}, "lead.phone"),
        ({"email": "nope"}, "lead.email"),
        ({"budget_aed": -5}, "lead.budget_aed"),
        ({"status": "archived"}, "lead.status"),
        ({"handover_horizon": "soon"}, "lead.handover_horizon"),
        ({"colour": "blue"}, "lead.colour"),
    ],
)
async def test_patch_validation_changes_nothing(ws, body, field):
    lead = await create(ws)
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", json=body)
    assert_error(r, 400, "validation_error", field)
    assert await get(ws, lead["id"]) == lead


async def test_patch_normalises_like_create(ws):
    lead = await create(ws)
    p = phone()
    r = await ws.request(
        "PATCH",
        f"{LEADS}/{lead['id']}",
        json={"phone": local(p), "email": "Zed@Example.AE", "source": "PF"},
    )
    assert r.status_code == 200, r.text
    patched = r.json()["data"]
    assert patched["phone"] == p
    assert patched["email"] == "Zed@example.ae"
    assert patched["source"] == "property_finder"
    assert "property_finder" in patched["sources"]


async def test_patch_unknown_lead_is_404(ws):
    r = await ws.request("PATCH", f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ", json={"area": "JBR"})
    assert_error(r, 404, "not_found")


# --- DELETE ---------------------------------------------------------------------------------


async def test_delete_then_404(ws):
    lead = await create(ws)
    keep = await create(ws)
    r = await ws.request("DELETE", f"{LEADS}/{lead['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["error"] is None
    assert body["data"]["id"] == lead["id"]
    assert body["data"]["deleted"] is True
    assert_error(await ws.request("GET", f"{LEADS}/{lead['id']}"), 404, "not_found")
    assert_error(await ws.request("DELETE", f"{LEADS}/{lead['id']}"), 404, "not_found")
    assert_error(
        await ws.request("PATCH", f"{LEADS}/{lead['id']}", json={"area": "JBR"}), 404, "not_found"
    )
    assert await list_ids(ws) == [keep["id"]]


async def test_deleted_leads_phone_can_be_used_again(ws):
    lead = await create(ws)
    await ws.request("DELETE", f"{LEADS}/{lead['id']}")
    again = await create(ws, phone=lead["phone"])
    assert again["id"] != lead["id"]
    assert again["sources"] == ["bayut"]


@pytest.mark.parametrize(
    "bad", ["nope", "lead_123", "key_01HZZZZZZZZZZZZZZZZZZZZZZZ", "lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"]
)
async def test_get_unknown_or_malformed_id_is_404(ws, bad):
    assert_error(await ws.request("GET", f"{LEADS}/{bad}"), 404, "not_found")


# --- filters --------------------------------------------------------------------------------


async def test_filter_by_source_including_aliases(ws):
    bayut = [await create(ws, source=s) for s in ("Bayut", "bayut.com")]
    pf = await create(ws, source="PF")
    other = await create(ws, source="Billboard")
    for alias in ("bayut", "Bayut", "BAYUT", "bayut.com"):
        assert sorted(await list_ids(ws, source=alias)) == sorted(x["id"] for x in bayut), alias
    for alias in ("property_finder", "Property Finder", "PF", "propertyfinder.ae"):
        assert await list_ids(ws, source=alias) == [pf["id"]], alias
    assert await list_ids(ws, source="other") == [other["id"]]
    assert await list_ids(ws, source="dubizzle") == []


async def test_filter_by_score_min(ws):
    low = await create(ws, source="other")
    high = await create(ws, email=email(), budget_aed=5_000_000, bedrooms=2, area="DIFC")
    assert low["score"] < high["score"]
    assert await list_ids(ws, score_min=high["score"]) == [high["id"]]
    assert await list_ids(ws, score_min=high["score"] + 1) == []
    assert sorted(await list_ids(ws, score_min=low["score"])) == sorted([low["id"], high["id"]])
    assert sorted(await list_ids(ws, score_min=0)) == sorted([low["id"], high["id"]])


@pytest.mark.parametrize("value", ["-1", "101", "abc", "7.5"])
async def test_score_min_out_of_range_is_refused(ws, value):
    r = await ws.request("GET", LEADS, params={"score_min": value})
    assert_error(r, 400, "validation_error", "score_min")


async def test_filter_created_after_is_strictly_after_with_offset(ws):
    base = clock.now().replace(microsecond=0) + timedelta(seconds=10)
    made = []
    try:
        for i in range(3):
            at = base + timedelta(seconds=i)
            clock.set_clock(lambda at=at: at)
            made.append(await create(ws))
    finally:
        clock.set_clock(None)
    t1 = parse_ts(made[1]["created_at"])
    assert t1 == base + timedelta(seconds=1)
    # exactly the second lead's instant, written in Gulf Standard Time
    gst = t1.astimezone(GST).isoformat(timespec="milliseconds")
    assert gst.endswith("+04:00")
    assert await list_ids(ws, created_after=gst) == [made[2]["id"]]
    # the same instant in UTC gives the same answer
    assert await list_ids(ws, created_after=made[1]["created_at"]) == [made[2]["id"]]
    one_ms_before = (
        (t1 - timedelta(milliseconds=1)).astimezone(GST).isoformat(timespec="milliseconds")
    )
    assert await list_ids(ws, created_after=one_ms_before) == [made[2]["id"], made[1]["id"]]
    before_all = (base - timedelta(hours=1)).astimezone(GST).isoformat()
    assert await list_ids(ws, created_after=before_all) == [m["id"] for m in reversed(made)]
    after_all = (base + timedelta(seconds=2)).astimezone(GST).isoformat()
    assert await list_ids(ws, created_after=after_all) == []


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "12345abc"])
async def test_created_after_must_be_a_date_time(ws, value):
    r = await ws.request("GET", LEADS, params={"created_after": value})
    assert_error(r, 400, "validation_error", "created_after")


async def test_filter_by_assigned_to(ws):
    sara = [await create(ws, assigned_to="sara@agency.ae") for _ in range(2)]
    omar = await create(ws, assigned_to="Omar")
    await create(ws)
    assert sorted(await list_ids(ws, assigned_to="sara@agency.ae")) == sorted(x["id"] for x in sara)
    assert await list_ids(ws, assigned_to="Omar") == [omar["id"]]
    assert await list_ids(ws, assigned_to="nobody@agency.ae") == []


async def test_filter_by_status(ws):
    new = await create(ws)
    qualified = await create(ws, status="qualified")
    viewing = await create(ws)
    r = await ws.request("PATCH", f"{LEADS}/{viewing['id']}", json={"status": "viewing"})
    assert r.status_code == 200
    assert await list_ids(ws, status="new") == [new["id"]]
    assert await list_ids(ws, status="qualified") == [qualified["id"]]
    assert await list_ids(ws, status="viewing") == [viewing["id"]]
    assert await list_ids(ws, status="won") == []


async def test_status_filter_validation(ws):
    r = await ws.request("GET", LEADS, params={"status": "pending"})
    assert_error(r, 400, "validation_error", "status")


async def test_filters_combine(ws):
    hit = await create(
        ws, source="bayut", status="qualified", assigned_to="sara@agency.ae", budget_aed=4_000_000
    )
    await create(
        ws, source="PF", status="qualified", assigned_to="sara@agency.ae", budget_aed=4_000_000
    )
    await create(
        ws, source="bayut", status="new", assigned_to="sara@agency.ae", budget_aed=4_000_000
    )
    await create(
        ws, source="bayut", status="qualified", assigned_to="omar@agency.ae", budget_aed=4_000_000
    )
    await create(ws, source="bayut", status="qualified", assigned_to="sara@agency.ae")
    got = await list_ids(
        ws, source="Bayut", status="qualified", assigned_to="sara@agency.ae", score_min=hit["score"]
    )
    assert got == [hit["id"]]


async def test_list_is_newest_first(ws):
    base = clock.now() + timedelta(seconds=30)
    made = []
    try:
        for i in range(4):
            at = base + timedelta(milliseconds=7 * i)
            clock.set_clock(lambda at=at: at)
            made.append(await create(ws))
    finally:
        clock.set_clock(None)
    assert await list_ids(ws) == [m["id"] for m in reversed(made)]


async def test_unknown_query_parameter_is_refused(ws):
    r = await ws.request("GET", LEADS, params={"sauce": "bayut"})
    assert_error(r, 400, "validation_error", "sauce")


# --- field validation -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ready", "off_plan_2027", "off_plan_2030"])
async def test_handover_horizon_accepted(ws, value):
    lead = await create(ws, handover_horizon=value)
    assert lead["handover_horizon"] == value
    assert "handover" in {f["factor"] for f in lead["score_factors"]}


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "Ready",
        "off_plan",
        "off_plan_27",
        "off-plan-2027",
        "off_plan_2027x",
        "offplan_2027",
        "",
        "off_plan_1999",
    ],
)
async def test_handover_horizon_validation(ws, value):
    before = await count(ws)
    r = await ws.request("POST", LEADS, json=lead_body(handover_horizon=value))
    assert_error(r, 400, "validation_error", "lead.handover_horizon")
    assert await count(ws) == before


@pytest.mark.parametrize(
    "value", ["new", "contacted", "qualified", "viewing", "negotiating", "won", "lost"]
)
async def test_status_accepted(ws, value):
    assert (await create(ws, status=value))["status"] == value


@pytest.mark.parametrize("value", ["open", "NEW", "closed", "", 1])
async def test_status_validation(ws, value):
    before = await count(ws)
    r = await ws.request("POST", LEADS, json=lead_body(status=value))
    assert_error(r, 400, "validation_error", "lead.status")
    assert await count(ws) == before


async def test_utm_unknown_key_is_refused(ws):
    r = await ws.request("POST", LEADS, json=lead_body(utm={"gclid": "abc"}))
    assert_error(r, 400, "validation_error")
    assert r.json()["error"]["field"].startswith("lead.utm")


# The twins of the lead mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "leads.create": Twin(
        lambda ids: ("POST", "/api/v1/leads", {"name": "Parity", "phone": ids["phone"]}),
        lambda ids: (
            "mutation($i: LeadCreateInput!) { createLead(input: $i) { created lead { id } } }",
            {"i": {"name": "Parity", "phone": ids["phone"]}},
        ),
    ),
    "leads.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/leads/{ids['lead']}", {"area": "JBR"}),
        lambda ids: (
            'mutation($id: ID!) { updateLead(id: $id, input: {area: "JBR"}) { id area } }',
            {"id": ids["lead"]},
        ),
    ),
    "leads.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/leads/{ids['lead']}", None),
        lambda ids: (
            "mutation($id: ID!) { deleteLead(id: $id) { id deleted } }",
            {"id": ids["lead"]},
        ),
    ),
}
