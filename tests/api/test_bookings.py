"""Viewings (SPEC 8 Booking): the interval edges, time zones, the state machine, overlap by
agent and by property, the available-property rule, the lead's move to `viewing`, events,
audit, roles, isolation and the GraphQL twins."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.parity import Twin, created
from tests.api.test_properties import property_setup
from tests.conftest import Workspace, lead_body

BOOKINGS = "/api/v1/bookings"
DAY = "2026-06-01"


def at(hhmm: str, offset: str = "Z") -> str:
    return f"{DAY}T{hhmm}:00{offset}"


async def new_property(ws: Workspace, env: str = "test", **over: Any) -> str:
    body = {
        "title": "Marina Vista 2BR",
        "reference": f"BK-{uuid.uuid4().hex[:10]}",
        "type": "apartment",
        "price_aed": 1_850_000,
        "purpose": "sale",
        **over,
    }
    r = await ws.request("POST", "/api/v1/properties", env=env, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


async def new_lead(ws: Workspace, env: str = "test", **over: Any) -> str:
    r = await ws.request("POST", "/api/v1/leads", env=env, json=lead_body(**over))
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


async def book(ws: Workspace, env: str = "test", **body: Any) -> Any:
    return await ws.request("POST", BOOKINGS, env=env, json=body)


async def booked(ws: Workspace, **body: Any) -> dict[str, Any]:
    body.setdefault("lead_id", await new_lead(ws))
    body.setdefault("property_id", await new_property(ws))
    body.setdefault("agent", f"agent-{uuid.uuid4().hex[:6]}@agency.ae")
    body.setdefault("starts_at", at("10:00"))
    r = await book(ws, **body)
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def error_of(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None and body["error"]["code"] == code
    return dict(body["error"])


async def test_create_defaults_to_thirty_minutes_and_answers_utc(ws: Workspace) -> None:
    lead, prop = await new_lead(ws), await new_property(ws)
    r = await book(
        ws,
        lead_id=lead,
        property_id=prop,
        agent="sara@agency.ae",
        starts_at="2026-06-01T14:00:00+04:00",
        notes="high floor",
    )
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["id"].startswith("bkg_") and data["object"] == "booking"
    assert data["starts_at"] == "2026-06-01T10:00:00.000Z"
    assert data["ends_at"] == "2026-06-01T10:30:00.000Z"
    assert (data["lead_id"], data["property_id"], data["agent"]) == (lead, prop, "sara@agency.ae")
    assert (data["status"], data["notes"]) == ("scheduled", "high floor")
    got = await ws.request("GET", f"{BOOKINGS}/{data['id']}")
    assert got.json()["data"] == data


async def test_interval_edges(ws: Workspace) -> None:
    lead, prop = await new_lead(ws), await new_property(ws)
    base = {"lead_id": lead, "property_id": prop, "agent": "a@x.ae"}
    ok = await book(ws, **base, starts_at=at("00:00"), ends_at=at("08:00"))
    assert ok.status_code == 201, ok.text
    prop2 = await new_property(ws)
    over = {**base, "property_id": prop2, "agent": "b@x.ae"}
    err = error_of(
        await book(ws, **over, starts_at=at("00:00"), ends_at=f"{DAY}T08:00:00.001Z"),
        400,
        "validation_error",
    )
    assert err["field"] == "booking.ends_at"
    for end in (at("00:00"), f"{DAY}T00:00:00Z", "2026-05-31T23:00:00Z"):
        err = error_of(
            await book(ws, **over, starts_at=at("00:00"), ends_at=end), 400, "validation_error"
        )
        assert err["field"] == "booking.ends_at"


async def test_touching_bookings_both_stand_overlap_refused(ws: Workspace) -> None:
    lead, prop = await new_lead(ws), await new_property(ws)
    base = {"lead_id": lead, "property_id": prop, "agent": "sara@agency.ae"}
    first = await book(ws, **base, starts_at=at("10:00"), ends_at=at("11:00"))
    second = await book(ws, **base, starts_at=at("11:00"), ends_at=at("11:30"))
    before = await book(ws, **base, starts_at=at("09:30"), ends_at=at("10:00"))
    assert [r.status_code for r in (first, second, before)] == [201, 201, 201]
    # The same agent elsewhere, and the same property with another agent: both taken.
    other = await new_property(ws)
    same_agent = await book(ws, **{**base, "property_id": other}, starts_at=at("10:59"))
    error_of(same_agent, 409, "conflict")
    same_prop = await book(
        ws, **{**base, "agent": "omar@agency.ae"}, starts_at="2026-06-01T14:15:00+04:00"
    )
    error_of(same_prop, 409, "conflict")
    # Another agent at another property at the same time is free.
    free = await book(
        ws, **{**base, "property_id": other, "agent": "omar@agency.ae"}, starts_at=at("10:00")
    )
    assert free.status_code == 201, free.text


async def test_cancel_frees_the_slot(ws: Workspace) -> None:
    first = await booked(ws, starts_at=at("10:00"))
    again = {k: first[k] for k in ("lead_id", "property_id", "agent")}
    error_of(await book(ws, **again, starts_at=at("10:15")), 409, "conflict")
    r = await ws.request("POST", f"{BOOKINGS}/{first['id']}/cancel")
    assert r.status_code == 200 and r.json()["data"]["status"] == "cancelled", r.text
    assert (await book(ws, **again, starts_at=at("10:15"))).status_code == 201


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["confirmed"], True),
        (["completed"], True),
        (["no_show"], True),
        (["cancelled"], True),
        (["confirmed", "completed"], True),
        (["confirmed", "no_show"], True),
        (["confirmed", "cancelled"], True),
        (["confirmed", "scheduled"], False),
        (["completed", "scheduled"], False),
        (["completed", "cancelled"], False),
        (["cancelled", "confirmed"], False),
        (["cancelled", "scheduled"], False),
        (["no_show", "completed"], False),
        (["no_show", "confirmed"], False),
    ],
)
async def test_state_machine(ws: Workspace, path: list[str], allowed: bool) -> None:
    row = await booked(ws)
    *steps, last = path
    for step in steps:
        r = await ws.request("PATCH", f"{BOOKINGS}/{row['id']}", json={"status": step})
        assert r.status_code == 200, r.text
    r = await ws.request("PATCH", f"{BOOKINGS}/{row['id']}", json={"status": last})
    if allowed:
        assert r.status_code == 200 and r.json()["data"]["status"] == last, r.text
    else:
        current = steps[-1]
        assert current in error_of(r, 409, "conflict")["message"]
        got = await ws.request("GET", f"{BOOKINGS}/{row['id']}")
        assert got.json()["data"]["status"] == current


async def test_cancel_of_a_finished_booking_is_conflict(ws: Workspace) -> None:
    row = await booked(ws)
    await ws.request("PATCH", f"{BOOKINGS}/{row['id']}", json={"status": "completed"})
    err = error_of(await ws.request("POST", f"{BOOKINGS}/{row['id']}/cancel"), 409, "conflict")
    assert "completed" in err["message"]


async def test_moving_the_time_rechecks_overlap(ws: Workspace) -> None:
    first = await booked(ws, starts_at=at("10:00"))
    second = await booked(ws, agent=first["agent"], lead_id=first["lead_id"], starts_at=at("12:00"))
    url = f"{BOOKINGS}/{second['id']}"
    error_of(await ws.request("PATCH", url, json={"starts_at": at("10:20")}), 409, "conflict")
    r = await ws.request("PATCH", url, json={"starts_at": "2026-06-01T14:30:00+04:00"})
    assert r.status_code == 200, r.text
    # The booking keeps its 30-minute length; 10:30-11:00 touches 10:00-10:30.
    assert (r.json()["data"]["starts_at"], r.json()["data"]["ends_at"]) == (
        "2026-06-01T10:30:00.000Z",
        "2026-06-01T11:00:00.000Z",
    )
    err = error_of(
        await ws.request("PATCH", url, json={"ends_at": at("10:30")}), 400, "validation_error"
    )
    assert err["field"] == "booking.ends_at"
    r = await ws.request("PATCH", url, json={"notes": "bring keys", "agent": "new@agency.ae"})
    assert r.status_code == 200 and r.json()["data"]["notes"] == "bring keys"


async def test_property_not_available_is_conflict(ws: Workspace) -> None:
    prop = await new_property(ws, status="reserved")
    r = await book(
        ws, lead_id=await new_lead(ws), property_id=prop, agent="a", starts_at=at("10:00")
    )
    assert "reserved" in error_of(r, 409, "conflict")["message"]


async def test_unknown_lead_or_property_is_not_found(ws: Workspace) -> None:
    prop = await new_property(ws)
    r = await book(
        ws,
        lead_id="lead_01J0000000000000000000000A",
        property_id=prop,
        agent="a",
        starts_at=at("10:00"),
    )
    error_of(r, 404, "not_found")


async def test_booking_moves_an_early_lead_to_viewing(ws: Workspace) -> None:
    for status, after in (
        ("new", "viewing"),
        ("qualified", "viewing"),
        ("negotiating", "negotiating"),
    ):
        lead = await new_lead(ws)
        if status != "new":
            r = await ws.request("PATCH", f"/api/v1/leads/{lead}", json={"status": status})
            assert r.status_code == 200, r.text
        before = (await ws.request("GET", f"/api/v1/leads/{lead}")).json()["data"]
        await booked(ws, lead_id=lead)
        now = (await ws.request("GET", f"/api/v1/leads/{lead}")).json()["data"]
        assert now["status"] == after
        if after != status:
            assert (
                now["score"] != before["score"] or now["score_factors"] != before["score_factors"]
            )


async def test_events_and_audit(ws: Workspace) -> None:
    r = await ws.request(
        "POST",
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "events": ["booking.created", "booking.updated"]},
    )
    assert r.status_code == 201, r.text
    whk = r.json()["data"]["id"]
    row = await booked(ws)
    await ws.request("POST", f"{BOOKINGS}/{row['id']}/cancel")
    deliveries = (await ws.request("GET", f"/api/v1/webhooks/{whk}/deliveries")).json()["data"]
    assert len(deliveries["items"]) == 2
    audit = (await ws.request("GET", "/api/v1/audit_events", params={"limit": 100})).json()
    actions = [(e["action"], e["object_id"]) for e in audit["data"]["items"]]
    assert ("booking.created", row["id"]) in actions and ("booking.updated", row["id"]) in actions


async def test_filters_and_newest_first(ws: Workspace) -> None:
    a = await booked(ws, starts_at=at("09:00"))
    b = await booked(ws, starts_at=at("12:00"))
    c = await booked(ws, starts_at=at("15:00"), agent=b["agent"])
    await ws.request("POST", f"{BOOKINGS}/{c['id']}/cancel")

    async def ids(**params: Any) -> list[str]:
        r = await ws.request("GET", BOOKINGS, params={"limit": 100, **params})
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["data"]["items"]]

    assert await ids() == [c["id"], b["id"], a["id"]]
    assert await ids(agent=b["agent"]) == [c["id"], b["id"]]
    assert await ids(status="cancelled") == [c["id"]]
    assert await ids(lead_id=a["lead_id"]) == [a["id"]]
    assert await ids(property_id=b["property_id"]) == [b["id"]]
    assert await ids(starts_after=at("12:00")) == [c["id"], b["id"]]
    assert await ids(starts_before="2026-06-01T16:30:00+04:00") == [b["id"], a["id"]]
    assert await ids(starts_before=at("12:00")) == [a["id"]]
    page = await ws.request("GET", BOOKINGS, params={"limit": 2})
    cursor = page.json()["data"]["pagination"]["next_cursor"]
    rest = await ws.request("GET", BOOKINGS, params={"limit": 2, "cursor": cursor})
    assert [i["id"] for i in rest.json()["data"]["items"]] == [a["id"]]


async def test_isolation_between_tenants_and_environments(ws: Workspace, client: Any) -> None:
    row = await booked(ws)
    r = await ws.request("GET", f"{BOOKINGS}/{row['id']}", env="live")
    error_of(r, 404, "not_found")
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    error_of(await other.request("GET", f"{BOOKINGS}/{row['id']}"), 404, "not_found")
    error_of(await other.request("POST", f"{BOOKINGS}/{row['id']}/cancel"), 404, "not_found")
    listed = await other.request("GET", BOOKINGS)
    assert listed.json()["data"]["items"] == []
    # Another tenant's property cannot be booked, and its agent's slot is its own.
    r = await book(
        other,
        lead_id=await new_lead(other),
        property_id=row["property_id"],
        agent=row["agent"],
        starts_at=at("10:00"),
    )
    error_of(r, 404, "not_found")


async def test_roles(ws: Workspace) -> None:
    row = await booked(ws)
    assert (await ws.request("GET", BOOKINGS, role="viewer")).status_code == 200
    error_of(
        await ws.request("POST", f"{BOOKINGS}/{row['id']}/cancel", role="viewer"), 403, "forbidden"
    )
    r = await ws.request(
        "PATCH", f"{BOOKINGS}/{row['id']}", role="agent", json={"status": "confirmed"}
    )
    assert r.status_code == 200, r.text


async def gql(ws: Workspace, query: str, variables: dict[str, Any] | None = None) -> Any:
    r = await ws.request("POST", "/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


async def test_graphql_twins_relations_and_node(ws: Workspace) -> None:
    lead, prop = await new_lead(ws), await new_property(ws)
    made = await gql(
        ws,
        "mutation($i: BookingCreateInput!) { createBooking(input: $i) "
        "{ id startsAt endsAt status lead { id status } property { id } } }",
        {
            "i": {
                "leadId": lead,
                "propertyId": prop,
                "agent": "sara@agency.ae",
                "startsAt": "2026-06-01T14:00:00+04:00",
            }
        },
    )
    row = made["data"]["createBooking"]
    assert (row["startsAt"], row["endsAt"]) == (
        "2026-06-01T10:00:00.000Z",
        "2026-06-01T10:30:00.000Z",
    )
    assert row["lead"] == {"id": lead, "status": "viewing"} and row["property"] == {"id": prop}
    rest = (await ws.request("GET", f"{BOOKINGS}/{row['id']}")).json()["data"]
    assert rest["starts_at"] == row["startsAt"]
    clash = await gql(
        ws,
        "mutation($i: BookingCreateInput!) { createBooking(input: $i) { id } }",
        {
            "i": {
                "leadId": lead,
                "propertyId": prop,
                "agent": "x",
                "startsAt": "2026-06-01T10:10:00Z",
            }
        },
    )
    assert clash["errors"][0]["extensions"]["code"] == "conflict"
    moved = await gql(
        ws,
        'mutation($id: ID!) { updateBooking(id: $id, input: {status: "confirmed"}) { status } }',
        {"id": row["id"]},
    )
    assert moved["data"]["updateBooking"]["status"] == "confirmed"
    listed = await gql(
        ws,
        "query($l: ID!, $p: ID!, $b: ID!) { bookings(leadId: $l) { edges { node { id } } } "
        "lead(id: $l) { bookings { id } } property(id: $p) { bookings { id agent } } "
        "node(id: $b) { ... on Booking { id status } } }",
        {"l": lead, "p": prop, "b": row["id"]},
    )
    assert "errors" not in listed, listed
    data = listed["data"]
    assert [e["node"]["id"] for e in data["bookings"]["edges"]] == [row["id"]]
    assert data["lead"]["bookings"] == [{"id": row["id"]}]
    assert data["property"]["bookings"] == [{"id": row["id"], "agent": "sara@agency.ae"}]
    assert data["node"] == {"id": row["id"], "status": "confirmed"}
    gone = await gql(
        ws, "mutation($id: ID!) { cancelBooking(id: $id) { status } }", {"id": row["id"]}
    )
    assert gone["data"]["cancelBooking"]["status"] == "cancelled"
    again = await gql(
        ws, "mutation($id: ID!) { cancelBooking(id: $id) { status } }", {"id": row["id"]}
    )
    assert again["errors"][0]["extensions"]["code"] == "conflict"


async def test_cancel_twice_is_conflict_and_patch_repeating_status_is_no_move(
    ws: Workspace,
) -> None:
    row = await booked(ws)
    url = f"{BOOKINGS}/{row['id']}"
    assert (await ws.request("PATCH", url, json={"status": "scheduled"})).status_code == 200
    assert (await ws.request("POST", f"{url}/cancel")).status_code == 200
    err = error_of(await ws.request("POST", f"{url}/cancel"), 409, "conflict")
    assert "cancelled" in err["message"]


def _parity_booking(ids: dict[str, str], *, camel: bool = False) -> dict[str, str]:
    # The agent is unique per prepare, so the surfaces' bookings never overlap each other.
    lead, prop = ("leadId", "propertyId") if camel else ("lead_id", "property_id")
    starts = "startsAt" if camel else "starts_at"
    return {
        lead: ids["lead"],
        prop: ids["prop"],
        "agent": ids["ref"],
        starts: "2026-09-01T12:00:00Z",
    }


async def _booking_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    """A property to book, and a booking of it to change or cancel."""
    prop = (await property_setup(ws, ids))["prop"]
    body = {"lead_id": ids["lead"], "property_id": prop, "agent": ids["ref"]}
    booking = await created(ws, "/api/v1/bookings", {**body, "starts_at": "2026-09-01T09:00Z"})
    return {"prop": prop, "bkg": booking["id"]}


# The twins of the booking mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "bookings.create": Twin(
        lambda ids: ("POST", "/api/v1/bookings", _parity_booking(ids)),
        lambda ids: (
            "mutation($i: BookingCreateInput!) { createBooking(input: $i) { id status } }",
            {"i": _parity_booking(ids, camel=True)},
        ),
        setup=property_setup,
    ),
    "bookings.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/bookings/{ids['bkg']}", {"status": "confirmed"}),
        lambda ids: (
            'mutation($id: ID!) { updateBooking(id: $id, input: {status: "confirmed"}) '
            "{ id status } }",
            {"id": ids["bkg"]},
        ),
        setup=_booking_setup,
    ),
    "bookings.cancel": Twin(
        lambda ids: ("POST", f"/api/v1/bookings/{ids['bkg']}/cancel", None),
        lambda ids: (
            "mutation($id: ID!) { cancelBooking(id: $id) { id status } }",
            {"id": ids["bkg"]},
        ),
        setup=_booking_setup,
    ),
}
