"""The response contract: `{data, error}` envelope, X-Trace-Id, traceparent, unknown routes,
URL aliases, request-body validation (field paths, nothing written) and rate-limit headers."""

from __future__ import annotations

import json
import time
import unicodedata
import uuid

import pytest

from tests.conftest import lead_body

LEADS = "/api/v1/leads"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def assert_error(r, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"data", "error"}
    assert body["data"] is None
    err = body["error"]
    assert isinstance(err, dict)
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, body
    if field is not None:
        assert err.get("field") == field, body
    assert err["trace_id"]
    assert r.headers["x-trace-id"] == err["trace_id"]
    return err


def assert_rate_headers(r) -> None:
    for name in RATE_HEADERS:
        assert name in r.headers, (name, r.status_code)
        assert r.headers[name].isdigit(), (name, r.headers[name])
    limit = int(r.headers["x-ratelimit-limit"])
    remaining = int(r.headers["x-ratelimit-remaining"])
    assert limit >= 1
    assert 0 <= remaining <= limit
    assert int(r.headers["x-ratelimit-reset"]) >= int(time.time())


async def lead_ids(ws) -> list[str]:
    r = await ws.request("GET", LEADS, params={"limit": 100})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]["items"]]


# --- envelope and trace id ------------------------------------------------------------------


async def test_success_envelope_has_data_and_null_error(ws):
    r = await ws.request("POST", LEADS, json=lead_body())
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"data", "error"}
    assert body["error"] is None and body["data"]["id"].startswith("lead_")
    assert r.headers["x-trace-id"]
    r = await ws.request("GET", LEADS)
    assert r.json()["error"] is None and isinstance(r.json()["data"]["items"], list)
    assert r.headers["x-trace-id"]


async def test_each_request_gets_its_own_trace_id(ws):
    seen = set()
    for _ in range(3):
        r = await ws.request("GET", f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ")
        seen.add(assert_error(r, 404, "not_found")["trace_id"])
        r = await ws.request("GET", LEADS)
        seen.add(r.headers["x-trace-id"])
    assert len(seen) == 6


@pytest.mark.parametrize(
    ("method", "path", "auth", "status"),
    [
        ("GET", LEADS, False, 401),
        ("GET", "/api/v1/nope", False, 404),
        ("GET", f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ", True, 404),
        ("POST", LEADS, True, 400),
    ],
)
async def test_traceparent_sets_trace_id(ws, method, path, auth, status):
    headers = {"traceparent": TRACEPARENT}
    if auth:
        r = await ws.request(method, path, headers=headers, content=b"{}")
    else:
        r = await ws.client.request(method, path, headers=headers)
    err = assert_error(r, status)
    assert err["trace_id"] == TRACE
    assert r.headers["x-trace-id"] == TRACE


async def test_traceparent_sets_trace_id_on_success(ws):
    r = await ws.request("GET", LEADS, headers={"traceparent": TRACEPARENT})
    assert r.status_code == 200
    assert r.headers["x-trace-id"] == TRACE


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id is invalid
        f"00-{TRACE[:-1]}-00f067aa0ba902b7-01",  # too short
        f"00-{TRACE}zz-00f067aa0ba902b7-01",
    ],
)
async def test_invalid_traceparent_is_ignored(client, value):
    r = await client.get("/api/v1/nope", headers={"traceparent": value})
    err = assert_error(r, 404, "not_found")
    assert "0" * 32 not in err["trace_id"]
    assert err["trace_id"] not in value


# --- routes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/nope", "/v1/nope", "/api/nope", "/api/v2/leads", "/api/v1/leads/x/y"]
)
async def test_unknown_route_is_404_envelope(client, path):
    r = await client.get(path)
    assert_error(r, 404, "not_found")
    assert_rate_headers(r)


async def test_unknown_route_is_404_even_when_authenticated(ws):
    r = await ws.request("POST", "/api/v1/nope", json={"a": 1})
    assert_error(r, 404, "not_found")
    assert_rate_headers(r)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", LEADS),
        ("DELETE", LEADS),
        ("PATCH", LEADS),
        ("POST", f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        ("PUT", f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        ("GET", "/api/v1/api_keys/key_01HZZZZZZZZZZZZZZZZZZZZZZZ/revoke"),
    ],
)
async def test_wrong_method_is_404_envelope(ws, method, path):
    r = await ws.request(method, path)
    assert_error(r, 404, "not_found")
    assert_rate_headers(r)


async def test_all_url_prefixes_answer(ws):
    created = []
    for prefix in ("/api/v1", "/v1", "/api"):
        r = await ws.request("POST", f"{prefix}/leads", json=lead_body())
        assert r.status_code == 201, (prefix, r.text)
        created.append(r.json()["data"]["id"])
    for prefix in ("/api/v1", "/v1", "/api"):
        r = await ws.request("GET", f"{prefix}/leads")
        assert r.status_code == 200, (prefix, r.text)
        assert sorted(i["id"] for i in r.json()["data"]["items"]) == sorted(created)
        r = await ws.request("GET", f"{prefix}/leads/{created[0]}")
        assert r.status_code == 200, (prefix, r.text)
        assert r.json()["data"]["id"] == created[0]
    r = await ws.request("PATCH", f"/v1/leads/{created[1]}", json={"area": "JBR"})
    assert r.status_code == 200 and r.json()["data"]["area"] == "JBR"
    r = await ws.request("DELETE", f"/api/leads/{created[2]}")
    assert r.status_code == 200 and r.json()["data"]["deleted"] is True
    assert sorted(await lead_ids(ws)) == sorted(created[:2])


# --- request bodies: each refused with a named field and nothing written -------------------


async def _refused(ws, status: int, field: str | None, **kw) -> dict:
    before = await lead_ids(ws)
    r = await ws.request("POST", LEADS, **kw)
    err = assert_error(r, status, "validation_error" if status == 400 else None, field)
    assert_rate_headers(r)
    assert await lead_ids(ws) == before
    return err


async def test_invalid_json_is_refused(ws):
    err = await _refused(
        ws,
        400,
        None,
        content=b'{"name": "Aisha", "phone": ',
        headers={"Content-Type": "application/json"},
    )
    assert err.get("field")


async def test_trailing_garbage_json_is_refused(ws):
    body = json.dumps(lead_body()).encode() + b" x"
    err = await _refused(ws, 400, None, content=body, headers={"Content-Type": "application/json"})
    assert err.get("field")


async def test_non_utf8_body_is_refused(ws):
    raw = b'{"name": "A\xff\xfeisha", "phone": "' + lead_body()["phone"].encode() + b'"}'
    err = await _refused(ws, 400, None, content=raw, headers={"Content-Type": "application/json"})
    assert err.get("field")


async def test_json_array_body_is_refused(ws):
    await _refused(ws, 400, "lead", json=[lead_body()])


@pytest.mark.parametrize("body", [b"", b"null", b"42", b'"lead"'])
async def test_non_object_body_is_refused(ws, body):
    err = await _refused(ws, 400, None, content=body, headers={"Content-Type": "application/json"})
    assert err.get("field")


async def test_unknown_field_is_refused(ws):
    err = await _refused(ws, 400, "lead.foo", json=lead_body(foo="bar"))
    assert "lead.foo" in err["message"]


async def test_unknown_nested_field_is_refused(ws):
    await _refused(ws, 400, "lead.do_not_contact.sms", json=lead_body(do_not_contact={"sms": True}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget_aed", "abc"),
        ("budget_aed", "1800000"),
        ("budget_aed", 1800000.5),
        ("budget_aed", True),
        ("bedrooms", "2"),
        ("name", 42),
        ("phone", 971501234567),
        ("email", ["a@example.com"]),
        ("utm", "google"),
        ("do_not_contact", {"whatsapp": "yes"}),
    ],
)
async def test_wrong_type_names_the_field(ws, field, value):
    body = {**lead_body(email=f"{uuid.uuid4().hex[:8]}@example.com"), field: value}
    err = await _refused(ws, 400, None, json=body)
    assert err["field"] == f"lead.{field}" or err["field"].startswith(f"lead.{field}."), err


async def test_budget_abc_field_path(ws):
    await _refused(ws, 400, "lead.budget_aed", json=lead_body(budget_aed="abc"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("budget_aed", -1), ("bedrooms", -1), ("budget_aed", 10**13), ("bedrooms", 51)],
)
async def test_out_of_range_numbers_are_refused(ws, field, value):
    await _refused(ws, 400, f"lead.{field}", json=lead_body(**{field: value}))


async def test_name_of_201_characters_is_refused(ws):
    await _refused(ws, 400, "lead.name", json=lead_body(name="a" * 201))


async def test_name_of_200_characters_is_accepted(ws):
    name = "ع" * 200
    r = await ws.request("POST", LEADS, json=lead_body(name=name))
    assert r.status_code == 201, r.text
    assert r.json()["data"]["name"] == name


@pytest.mark.parametrize("name", ["", "   "])
async def test_empty_name_is_refused(ws, name):
    await _refused(ws, 400, "lead.name", json=lead_body(name=name))


async def test_missing_name_is_refused(ws):
    body = lead_body()
    del body["name"]
    await _refused(ws, 400, "lead.name", json=body)


async def test_null_name_is_refused(ws):
    await _refused(ws, 400, "lead.name", json=lead_body(name=None))


async def test_missing_phone_and_email_is_refused(ws):
    err = await _refused(ws, 400, None, json={"name": "No Contact", "source": "bayut"})
    assert err["field"] in ("lead.phone", "lead.email", "lead")


async def test_huge_body_is_413_envelope(ws):
    body = json.dumps(lead_body(area="x" * (1_100_000))).encode()
    assert len(body) > 1_048_576
    await _refused(ws, 413, None, content=body, headers={"Content-Type": "application/json"})


async def test_huge_streamed_body_without_length_is_413_envelope(ws):
    async def stream():
        yield b'{"name": "Aisha", "area": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}'

    before = await lead_ids(ws)
    r = await ws.request(
        "POST", LEADS, content=stream(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413)
    assert await lead_ids(ws) == before


async def test_body_of_just_under_one_mib_is_not_refused_as_too_large(ws):
    body = json.dumps(lead_body(area="x" * 199, utm={"campaign": "c"}, name="n" * 200)).encode()
    padded = body[:-1] + b" " * (1_048_576 - len(body)) + b"}"
    assert len(padded) == 1_048_576
    r = await ws.request(
        "POST", LEADS, content=padded, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text[:300]


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@",
        "@example.com",
        "a b@example.com",
        "aisha@example",
        "aisha@@example.com",
    ],
)
async def test_invalid_email_is_refused(ws, email):
    err = await _refused(ws, 400, "lead.email", json=lead_body(email=email))
    assert "valid email" in err["message"]


@pytest.mark.parametrize(
    "phone", ["12345", "not a phone", "+9715012", "+97150123456789", "050 123 45", "+1 555"]
)
async def test_invalid_phone_is_refused(ws, phone):
    await _refused(ws, 400, "lead.phone", json=lead_body(phone=phone))


async def test_invalid_email_with_valid_phone_writes_nothing(ws):
    """One bad field refuses the whole request; the good phone is not stored."""
    body = lead_body(email="broken@")
    await _refused(ws, 400, "lead.email", json=body)
    r = await ws.request("POST", LEADS, json={**body, "email": None})
    assert r.status_code == 201, r.text


# --- text kept exactly ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "عائشة خان",
        "Aisha 🏠🇦🇪 Khan",
        "👨‍👩‍👧‍👦",
        "محمد بن راشد 😀",
        unicodedata.normalize("NFD", "Zoë Müller"),
        'O\'Brien "Jr." <b>',
    ],
)
async def test_unicode_names_are_kept_exactly(ws, name):
    r = await ws.request("POST", LEADS, json=lead_body(name=name, area="نخلة جميرا"))
    assert r.status_code == 201, r.text
    lead = r.json()["data"]
    assert lead["name"] == name
    assert lead["area"] == "نخلة جميرا"
    r = await ws.request("GET", f"{LEADS}/{lead['id']}")
    assert r.json()["data"]["name"] == name
    r = await ws.request("GET", LEADS)
    assert r.json()["data"]["items"][0]["name"] == name


async def test_raw_utf8_body_is_decoded_correctly(ws):
    name = "فاطمة 🌴"
    raw = json.dumps(lead_body(name=name), ensure_ascii=False).encode("utf-8")
    r = await ws.request(
        "POST", LEADS, content=raw, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["data"]["name"] == name


# --- rate-limit headers on every kind of response -------------------------------------------


async def test_rate_limit_headers_on_2xx(ws):
    for _ in range(3):  # the pair may straddle a window's end (the count starts again)
        r = await ws.request("POST", LEADS, json=lead_body())
        assert r.status_code == 201
        assert_rate_headers(r)
        first, window = int(r.headers["x-ratelimit-remaining"]), r.headers["x-ratelimit-reset"]
        r = await ws.request("GET", LEADS)
        assert r.status_code == 200
        assert_rate_headers(r)
        if r.headers["x-ratelimit-reset"] == window:
            break
    assert int(r.headers["x-ratelimit-remaining"]) < first
    assert r.headers["x-ratelimit-limit"] == "1000"


async def test_rate_limit_headers_on_4xx(ws):
    responses = [
        await ws.request("POST", LEADS, json={"name": ""}),
        await ws.client.get(LEADS),
        await ws.client.get(LEADS, headers={"Authorization": "Bearer hdr_test_x"}),
        await ws.request("POST", LEADS, role="viewer", json=lead_body()),
        await ws.request("GET", LEADS, params={"limit": 0}),
    ]
    assert [r.status_code for r in responses] == [400, 401, 401, 403, 400]
    for r in responses:
        assert_rate_headers(r)
        assert_error(r, r.status_code)


async def test_rate_limit_headers_on_404(ws):
    for r in (
        await ws.request("GET", f"{LEADS}/lead_01HZZZZZZZZZZZZZZZZZZZZZZZ"),
        await ws.request("DELETE", f"{LEADS}/not-an-id"),
        await ws.client.get("/api/v1/nope"),
        await ws.client.get("/nope"),
    ):
        assert_error(r, 404, "not_found")
        assert_rate_headers(r)


async def test_rate_limit_is_per_key(ws):
    await ws.request("GET", LEADS)
    a = await ws.request("GET", LEADS)
    b = await ws.request("GET", LEADS, role="agent")
    # a fresh key starts with a (nearly) whole budget, not the admin key's remainder
    assert int(b.headers["x-ratelimit-remaining"]) > int(a.headers["x-ratelimit-remaining"])


async def test_idempotency_key_shares_envelope_rules(ws):
    key = str(uuid.uuid4())
    r = await ws.request("POST", LEADS, json=lead_body(), headers={"Idempotency-Key": key})
    assert r.status_code == 201
    assert_rate_headers(r)
    assert r.headers["x-trace-id"]
