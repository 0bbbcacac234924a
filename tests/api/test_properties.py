"""Properties: every field and its validation, the unique reference, the live permit rule,
every filter's edges, newest-first pages, sandbox isolation, roles, audit and the GraphQL twins."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.parity import Twin, created
from tests.conftest import Workspace

PROPS = "/api/v1/properties"


def prop_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Marina Vista 2BR",
        "reference": f"REF-{uuid.uuid4().hex[:10]}",
        "type": "apartment",
        "price_aed": 1_850_000,
        "purpose": "sale",
    }
    body.update(over)
    return body


async def create(ws: Workspace, env: str = "test", **over: Any) -> dict[str, Any]:
    r = await ws.request("POST", PROPS, env=env, json=prop_body(**over))
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def listed(ws: Workspace, env: str = "test", **params: Any) -> list[str]:
    r = await ws.request("GET", PROPS, env=env, params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["data"]["items"]]


def error_of(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None and body["error"]["code"] == code
    assert r.headers["x-trace-id"] == body["error"]["trace_id"]
    return body["error"]


async def test_create_answers_every_field_and_retrieve_agrees(ws: Workspace) -> None:
    full = prop_body(
        area="Dubai Marina",
        building="Marina Vista Tower 1",
        bedrooms=2,
        bathrooms=3,
        size_sqft=1180,
        price_aed=3_500_000_000,  # beyond 32 bits: whole dirhams, BigInt in GraphQL
        handover="off_plan_2027",
        permit_number="7117209431",
        description="Sea view, high floor.",
        amenities=["pool", "gym"],
    )
    r = await ws.request("POST", PROPS, json=full)
    assert r.status_code == 201, r.text
    made = r.json()["data"]
    assert made["id"].startswith("prop_") and made["object"] == "property"
    assert {k: made[k] for k in full} == full
    assert made["status"] == "available"
    assert made["created_at"].endswith("Z") and made["created_at"] == made["updated_at"]
    r = await ws.request("GET", f"{PROPS}/{made['id']}", role="viewer")
    assert r.json()["data"] == made
    bare = await create(ws)
    assert (bare["handover"], bare["amenities"], bare["bedrooms"]) == ("ready", [], None)


@pytest.mark.parametrize(
    "over,field",
    [
        ({"title": ""}, "property.title"),
        ({"title": "x" * 201}, "property.title"),
        ({"title": "   "}, "property.title"),
        ({"reference": ""}, "property.reference"),
        ({"type": "castle"}, "property.type"),
        ({"purpose": "lease"}, "property.purpose"),
        ({"status": "gone"}, "property.status"),
        ({"bedrooms": -1}, "property.bedrooms"),
        ({"bedrooms": "2"}, "property.bedrooms"),
        ({"price_aed": 0}, "property.price_aed"),
        ({"price_aed": 1.5}, "property.price_aed"),
        ({"handover": "off_plan_27"}, "property.handover"),
        ({"amenities": ["pool", 3]}, "property.amenities[1]"),
        ({"amenities": "pool"}, "property.amenities"),
        ({"colour": "blue"}, "property.colour"),
    ],
)
async def test_invalid_fields_are_named(ws: Workspace, over: dict[str, Any], field: str) -> None:
    r = await ws.request("POST", PROPS, json=prop_body(**over))
    assert error_of(r, 400, "validation_error")["field"] == field


@pytest.mark.parametrize("missing", ["title", "reference", "type", "price_aed", "purpose"])
async def test_required_fields(ws: Workspace, missing: str) -> None:
    body = prop_body()
    del body[missing]
    r = await ws.request("POST", PROPS, json=body)
    assert error_of(r, 400, "validation_error")["field"] == f"property.{missing}"


async def test_reference_is_unique_per_tenant_and_environment(ws: Workspace, client: Any) -> None:
    first = await create(ws, reference="MV-1204")
    r = await ws.request("POST", PROPS, json=prop_body(reference="MV-1204"))
    err = error_of(r, 409, "conflict")
    assert err["field"] == "property.reference" and first["id"] in err["message"]
    # The same reference is free in the live sandbox and in another tenant.
    await create(ws, env="live", reference="MV-1204", permit_number="P-1")
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    await create(other, reference="MV-1204")
    # PATCH: taking another property's reference is a conflict; keeping one's own is not.
    second = await create(ws, reference="MV-1205")
    r = await ws.request("PATCH", f"{PROPS}/{second['id']}", json={"reference": "MV-1204"})
    assert error_of(r, 409, "conflict")["field"] == "property.reference"
    r = await ws.request("PATCH", f"{PROPS}/{second['id']}", json={"reference": "MV-1205"})
    assert r.status_code == 200, r.text
    r = await ws.request("GET", f"{PROPS}/{second['id']}")
    assert r.json()["data"]["reference"] == "MV-1205"


async def test_permit_is_required_for_available_listings_in_live_only(ws: Workspace) -> None:
    r = await ws.request("POST", PROPS, env="live", json=prop_body())
    assert error_of(r, 400, "validation_error")["field"] == "property.permit_number"
    assert await listed(ws, env="live") == []
    reserved = await create(ws, env="live", status="reserved")
    assert reserved["permit_number"] is None
    # Making it available, or clearing the permit of an available one, needs the permit.
    path = f"{PROPS}/{reserved['id']}"
    r = await ws.request("PATCH", path, env="live", json={"status": "available"})
    assert error_of(r, 400, "validation_error")["field"] == "property.permit_number"
    r = await ws.request(
        "PATCH", path, env="live", json={"status": "available", "permit_number": "71172"}
    )
    assert r.status_code == 200 and r.json()["data"]["status"] == "available"
    r = await ws.request("PATCH", path, env="live", json={"permit_number": None})
    assert error_of(r, 400, "validation_error")["field"] == "property.permit_number"
    # Test data may leave it out.
    assert (await create(ws))["permit_number"] is None


async def test_patch_changes_given_fields_and_clears_optional_ones(ws: Workspace) -> None:
    made = await create(ws, area="JVC", bedrooms=1, amenities=["gym"])
    path = f"{PROPS}/{made['id']}"
    r = await ws.request(
        "PATCH", path, json={"price_aed": 1_700_000, "area": None, "amenities": None}
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert (data["price_aed"], data["area"], data["amenities"], data["bedrooms"]) == (
        1_700_000,
        None,
        [],
        1,
    )
    assert data["updated_at"] >= made["updated_at"]
    for required in ("title", "type", "price_aed", "status"):
        r = await ws.request("PATCH", path, json={required: None})
        assert error_of(r, 400, "validation_error")["field"] == f"property.{required}"


async def test_filters_and_their_edges(ws: Workspace) -> None:
    studio = await create(ws, bedrooms=0, price_aed=900_000, area="JLT")
    low = await create(ws, bedrooms=1, price_aed=1_500_000, area="JVC", purpose="rent")
    mid = await create(ws, bedrooms=2, price_aed=2_000_000, area="Dubai Marina", type="villa")
    high = await create(ws, bedrooms=2, price_aed=2_000_001, area="Dubai Marina", status="sold")
    land = await create(ws, price_aed=1_500_000, type="land")  # no bedrooms at all
    everything = [land["id"], high["id"], mid["id"], low["id"], studio["id"]]
    assert await listed(ws) == everything  # newest first
    # Price bounds are inclusive, alone or together.
    assert await listed(ws, price_min=2_000_000) == [high["id"], mid["id"]]
    assert await listed(ws, price_max=1_500_000) == [land["id"], low["id"], studio["id"]]
    assert await listed(ws, price_min=1_500_000, price_max=1_500_000) == [land["id"], low["id"]]
    assert await listed(ws, price_min=2_000_000, price_max=2_000_000) == [mid["id"]]
    # Bedrooms exact: 0 is a studio, not "no bedrooms".
    assert await listed(ws, bedrooms=0) == [studio["id"]]
    assert await listed(ws, bedrooms=2) == [high["id"], mid["id"]]
    assert await listed(ws, area="Dubai Marina") == [high["id"], mid["id"]]
    assert await listed(ws, area="dubai marina") == []  # exact, as documented
    assert await listed(ws, status="sold") == [high["id"]]
    assert await listed(ws, status="available", bedrooms=2) == [mid["id"]]
    assert await listed(ws, purpose="rent") == [low["id"]]
    assert await listed(ws, type="villa") == [mid["id"]]
    assert await listed(ws, type="land", price_max=1_500_000) == [land["id"]]


@pytest.mark.parametrize(
    "params,field",
    [
        ({"bedrooms": "two"}, "bedrooms"),
        ({"bedrooms": "-1"}, "bedrooms"),
        ({"price_min": "-1"}, "price_min"),
        ({"price_min": "2000000", "price_max": "1999999"}, "price_max"),
        ({"status": "gone"}, "status"),
        ({"type": "castle"}, "type"),
        ({"purpose": "swap"}, "purpose"),
        ({"area": ""}, "area"),
        ({"colour": "blue"}, "colour"),
        ({"limit": "0"}, "limit"),
    ],
)
async def test_bad_filters_are_named(ws: Workspace, params: dict[str, str], field: str) -> None:
    r = await ws.request("GET", PROPS, params=params)
    assert error_of(r, 400, "validation_error")["field"] == field


async def test_pages_walk_newest_first_with_bound_cursors(ws: Workspace) -> None:
    made = [(await create(ws, bedrooms=1))["id"] for _ in range(5)]
    r = await ws.request("GET", PROPS, params={"limit": 2, "bedrooms": 1})
    page = r.json()["data"]
    assert [i["id"] for i in page["items"]] == made[::-1][:2]
    assert page["pagination"]["has_more"] and page["pagination"]["limit"] == 2
    cursor = page["pagination"]["next_cursor"]
    await create(ws, bedrooms=1)  # a newer row never shifts later pages
    r = await ws.request("GET", PROPS, params={"limit": 2, "bedrooms": 1, "cursor": cursor})
    assert [i["id"] for i in r.json()["data"]["items"]] == made[::-1][2:4]
    r = await ws.request("GET", PROPS, params={"limit": 2, "bedrooms": 2, "cursor": cursor})
    assert error_of(r, 400, "validation_error")["field"] == "cursor"


async def test_other_tenants_and_environments_see_404(ws: Workspace, client: Any) -> None:
    made = await create(ws)
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    path = f"{PROPS}/{made['id']}"
    for who, env in ((other, "test"), (ws, "live")):
        assert error_of(await who.request("GET", path, env=env), 404, "not_found")
        r = await who.request("PATCH", path, env=env, json={"title": "Mine now"})
        error_of(r, 404, "not_found")
        error_of(await who.request("DELETE", path, env=env), 404, "not_found")
        assert await listed(who, env=env) == []
    r = await ws.request("GET", path)
    assert r.json()["data"]["title"] == made["title"]


async def test_delete_answers_the_marker_then_404(ws: Workspace) -> None:
    made = await create(ws)
    r = await ws.request("DELETE", f"{PROPS}/{made['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"id": made["id"], "object": "property", "deleted": True}
    error_of(await ws.request("GET", f"{PROPS}/{made['id']}"), 404, "not_found")


async def test_admins_and_agents_write_viewers_read(ws: Workspace) -> None:
    made = await create(ws)
    r = await ws.request("POST", PROPS, role="agent", json=prop_body())
    assert r.status_code == 201, r.text
    r = await ws.request("PATCH", f"{PROPS}/{made['id']}", role="agent", json={"title": "New"})
    assert r.status_code == 200, r.text
    assert len(await listed(ws)) == 2
    for method, path, body in (
        ("POST", PROPS, prop_body()),
        ("PATCH", f"{PROPS}/{made['id']}", {"title": "Viewer"}),
        ("DELETE", f"{PROPS}/{made['id']}", None),
    ):
        r = await ws.request(method, path, role="viewer", json=body)
        error_of(r, 403, "forbidden")
    r = await ws.request("GET", f"{PROPS}/{made['id']}", role="viewer")
    assert r.json()["data"]["title"] == "New"


async def test_every_mutation_is_in_the_audit_log(ws: Workspace) -> None:
    made = await create(ws)
    await ws.request("PATCH", f"{PROPS}/{made['id']}", json={"status": "reserved"})
    await ws.request("DELETE", f"{PROPS}/{made['id']}")
    items = (await ws.request("GET", "/api/v1/audit_events")).json()["data"]["items"]
    assert [(i["action"], i["object_id"]) for i in items[:3]] == [
        ("property.deleted", made["id"]),
        ("property.updated", made["id"]),
        ("property.created", made["id"]),
    ]


GQL_FIELDS = """id title reference area building type bedrooms bathrooms sizeSqft priceAed
purpose status handover permitNumber description amenities createdAt updatedAt"""


async def gql(ws: Workspace, query: str, variables: dict[str, Any] | None = None) -> Any:
    r = await ws.request("POST", "/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


async def test_graphql_twins_agree_with_rest(ws: Workspace) -> None:
    body = {
        "title": "Palm Villa",
        "reference": "PV-7",
        "type": "villa",
        "priceAed": 35_000_000_000,
        "purpose": "sale",
        "bedrooms": 0,
        "area": "Palm Jumeirah",
        "amenities": ["beach"],
    }
    created = await gql(
        ws,
        f"mutation($i: PropertyCreateInput!) {{ createProperty(input: $i) {{ {GQL_FIELDS} }} }}",
        {"i": body},
    )
    node = created["data"]["createProperty"]
    rest = (await ws.request("GET", f"{PROPS}/{node['id']}")).json()["data"]
    assert (node["priceAed"], node["bedrooms"], node["createdAt"]) == (
        rest["price_aed"],
        0,
        rest["created_at"],
    )
    listed_ = await gql(
        ws,
        "query($min: BigInt) { properties(first: 5, priceMin: $min, bedrooms: 0) "
        "{ edges { node { id } } pageInfo { hasNextPage } } }",
        {"min": 35_000_000_000},
    )
    assert [e["node"]["id"] for e in listed_["data"]["properties"]["edges"]] == [node["id"]]
    fetched = await gql(
        ws,
        "query($id: ID!) { property(id: $id) { title } node(id: $id) "
        "{ id ... on Property { reference } } }",
        {"id": node["id"]},
    )
    assert fetched["data"] == {
        "property": {"title": "Palm Villa"},
        "node": {"id": node["id"], "reference": "PV-7"},
    }
    dup = await gql(
        ws,
        "mutation($i: PropertyCreateInput!) { createProperty(input: $i) { id } }",
        {"i": {**body, "title": "Again"}},
    )
    ext = dup["errors"][0]["extensions"]
    assert (ext["code"], ext["field"]) == ("conflict", "property.reference")
    updated = await gql(
        ws,
        'mutation($id: ID!) { updateProperty(id: $id, input: {status: "reserved"}) { status } }',
        {"id": node["id"]},
    )
    assert updated["data"]["updateProperty"] == {"status": "reserved"}
    gone = await gql(
        ws, "mutation($id: ID!) { deleteProperty(id: $id) { id deleted } }", {"id": node["id"]}
    )
    assert gone["data"]["deleteProperty"] == {"id": node["id"], "deleted": True}
    missing = await gql(ws, "query($id: ID!) { node(id: $id) { id } }", {"id": node["id"]})
    assert missing["data"] == {"node": None}


def _parity_property(ids: dict[str, str]) -> dict[str, Any]:
    return {"title": "Parity", "reference": ids["ref"], "type": "villa", "purpose": "sale"}


async def property_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    """A property to act on (its reference is not the one a create twin uses)."""
    body = {**_parity_property({"ref": ids["ref"] + "-x"}), "price_aed": 1}
    return {"prop": (await created(ws, "/api/v1/properties", body))["id"]}


# The twins of the property mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "properties.create": Twin(
        lambda ids: (
            "POST",
            "/api/v1/properties",
            {**_parity_property(ids), "price_aed": 4_000_000},
        ),
        lambda ids: (
            "mutation($i: PropertyCreateInput!) { createProperty(input: $i) { id reference } }",
            {"i": {**_parity_property(ids), "priceAed": 4_000_000}},
        ),
    ),
    "properties.update": Twin(
        lambda ids: ("PATCH", f"/api/v1/properties/{ids['prop']}", {"status": "reserved"}),
        lambda ids: (
            'mutation($id: ID!) { updateProperty(id: $id, input: {status: "reserved"}) '
            "{ id status } }",
            {"id": ids["prop"]},
        ),
        setup=property_setup,
    ),
    "properties.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/properties/{ids['prop']}", None),
        lambda ids: (
            "mutation($id: ID!) { deleteProperty(id: $id) { id deleted } }",
            {"id": ids["prop"]},
        ),
        setup=property_setup,
    ),
}
