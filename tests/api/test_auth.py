"""Authentication and roles: every 401 outcome, role checks, and the API-key lifecycle
(mint, list, revoke, expiry) as promised by the reference and SPEC section 4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hadar import clock
from hadar.domain.records import AuditEvent, IdempotencyRecord
from hadar.domain.tenants import ApiKey, Tenant
from hadar.platform import tokens
from tests.conftest import Workspace, lead_body

LEADS = "/api/v1/leads"
KEYS = "/api/v1/api_keys"


def assert_error(r, status: int, code: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["data"] is None
    err = body["error"]
    assert err["code"] == code, body
    assert isinstance(err["message"], str) and err["message"]
    if field is not None:
        assert err.get("field") == field, body
    assert err["trace_id"] and r.headers["x-trace-id"] == err["trace_id"]
    return err


async def get_leads(client, authorization: str | None):
    headers = {} if authorization is None else {"Authorization": authorization}
    return await client.get(LEADS, headers=headers)


def flip(ch: str) -> str:
    return "a" if ch != "a" else "b"


# --- 401 unauthorized: missing or malformed -------------------------------------------------


async def test_missing_authorization_header_is_unauthorized(client):
    r = await get_leads(client, None)
    assert_error(r, 401, "unauthorized")


async def test_empty_authorization_header_is_unauthorized(client):
    r = await get_leads(client, "")
    assert_error(r, 401, "unauthorized")


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Digest", "Bearer:"])
async def test_non_bearer_scheme_is_unauthorized(ws, scheme):
    token = await ws.key()
    r = await get_leads(ws.client, f"{scheme} {token}")
    assert_error(r, 401, "unauthorized")


async def test_bare_token_without_scheme_is_unauthorized(ws):
    token = await ws.key()
    r = await get_leads(ws.client, token)
    assert_error(r, 401, "unauthorized")


async def test_bearer_without_token_is_unauthorized(client):
    for value in ("Bearer", "Bearer ", "Bearer    "):
        r = await get_leads(client, value)
        assert_error(r, 401, "unauthorized")


async def test_bearer_scheme_is_case_insensitive(ws):
    token = await ws.key()
    r = await get_leads(ws.client, f"bearer {token}")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("prefix", ["hdr_prod_", "hdr_", "sk_test_", "HDR_TEST_", "hdr-test-"])
async def test_wrong_prefix_is_unauthorized(ws, prefix):
    token = await ws.key()
    forged = prefix + token[len("hdr_test_") :]
    r = await get_leads(ws.client, f"Bearer {forged}")
    assert_error(r, 401, "unauthorized")


async def test_re_prefixed_token_is_unauthorized_not_invalid(ws):
    """A real test token re-prefixed as live fails the checksum: malformed, not unknown."""
    token = await ws.key("test")
    forged = "hdr_live_" + token[len("hdr_test_") :]
    r = await get_leads(ws.client, f"Bearer {forged}")
    assert_error(r, 401, "unauthorized")


async def test_wrong_length_is_unauthorized(ws):
    token = await ws.key()
    for forged in (token[:-1], token + "a", token[:20], token + token[-6:]):
        r = await get_leads(ws.client, f"Bearer {forged}")
        assert_error(r, 401, "unauthorized")


async def test_bad_checksum_is_unauthorized(ws):
    token = await ws.key()
    for index in (-1, -6, len("hdr_test_"), len("hdr_test_") + 10):
        forged = token[:index] + flip(token[index]) + (token[index + 1 :] if index != -1 else "")
        assert forged != token and len(forged) == len(token)
        r = await get_leads(ws.client, f"Bearer {forged}")
        assert_error(r, 401, "unauthorized")


async def test_non_base62_characters_are_unauthorized(ws):
    token = await ws.key()
    forged = token[:12] + "-" + token[13:]
    r = await get_leads(ws.client, f"Bearer {forged}")
    assert_error(r, 401, "unauthorized")


# --- 401 invalid_api_key: well-formed but unknown, revoked, expired ----------------------------


@pytest.mark.parametrize("env", ["test", "live"])
async def test_well_formed_unknown_token_is_invalid_api_key(client, env):
    token = tokens.generate(env)
    assert tokens.environment_of(token) == env
    r = await get_leads(client, f"Bearer {token}")
    assert_error(r, 401, "invalid_api_key")


async def test_revoked_key_is_invalid_api_key_on_the_very_next_request(ws):
    admin = await ws.key()
    r = await ws.client.post(
        KEYS, headers={"Authorization": f"Bearer {admin}"}, json={"role": "agent"}
    )
    assert r.status_code == 201, r.text
    minted = r.json()["data"]
    auth = {"Authorization": f"Bearer {minted['token']}"}
    assert (await ws.client.get(LEADS, headers=auth)).status_code == 200

    r = await ws.request("POST", f"{KEYS}/{minted['id']}/revoke")
    assert r.status_code == 200, r.text
    revoked = r.json()["data"]
    assert revoked["id"] == minted["id"]
    assert revoked["revoked_at"] is not None
    assert "token" not in revoked

    r = await ws.client.get(LEADS, headers=auth)
    assert_error(r, 401, "invalid_api_key")
    r = await ws.client.post(LEADS, headers=auth, json=lead_body())
    assert_error(r, 401, "invalid_api_key")
    # the revoking admin key keeps working
    assert (await ws.request("GET", LEADS)).status_code == 200


async def test_revoking_own_key_takes_effect_immediately(ws):
    token = await ws.key("test", "admin")
    key_id = ws.key_ids[("test", "admin")]
    r = await ws.request("POST", f"{KEYS}/{key_id}/revoke")
    assert r.status_code == 200, r.text
    r = await ws.request("GET", LEADS)
    assert_error(r, 401, "invalid_api_key")
    r = await ws.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        json={"query": "{ leads { edges { cursor } } }"},
    )
    assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "invalid_api_key"
    # The key is kept, revoked, for the record: another admin still lists it as it was.
    ws.tokens.pop(("test", "admin"))
    r = await ws.request("GET", KEYS, params={"limit": 100})
    listed = {k["id"]: k for k in r.json()["data"]["items"]}
    assert listed[key_id]["revoked_at"] is not None
    assert listed[key_id]["last4"] == token[-4:]


async def test_revoke_is_irreversible_and_repeatable(ws):
    r = await ws.request("POST", KEYS, json={"role": "viewer"})
    minted = r.json()["data"]
    first = await ws.request("POST", f"{KEYS}/{minted['id']}/revoke")
    second = await ws.request("POST", f"{KEYS}/{minted['id']}/revoke")
    assert first.status_code == 200 and second.status_code == 200, second.text
    assert second.json()["data"]["revoked_at"] == first.json()["data"]["revoked_at"]
    r = await get_leads(ws.client, f"Bearer {minted['token']}")
    assert_error(r, 401, "invalid_api_key")


async def test_revoke_unknown_key_is_not_found(ws):
    r = await ws.request("POST", f"{KEYS}/key_01HZZZZZZZZZZZZZZZZZZZZZZZ/revoke")
    assert_error(r, 404, "not_found")
    r = await ws.request("POST", f"{KEYS}/not-a-key/revoke")
    assert_error(r, 404, "not_found")


async def test_cannot_revoke_another_tenants_key(ws, client):
    other = Workspace(client, ws.slug + "-x")
    victim = await other.key("test", "admin")
    victim_id = other.key_ids[("test", "admin")]
    r = await ws.request("POST", f"{KEYS}/{victim_id}/revoke")
    assert_error(r, 404, "not_found")
    r = await get_leads(client, f"Bearer {victim}")
    assert r.status_code == 200, r.text
    assert (await ApiKey.get(id=victim_id)).revoked_at is None


async def test_default_key_expires_after_90_days(ws):
    token = await ws.key("test", "agent")
    key = await ApiKey.get(id=ws.key_ids[("test", "agent")])
    created = key.created_at
    try:
        clock.set_clock(lambda: created + timedelta(days=90) - timedelta(seconds=5))
        r = await get_leads(ws.client, f"Bearer {token}")
        assert r.status_code == 200, r.text
        clock.set_clock(lambda: created + timedelta(days=90, seconds=1))
        r = await get_leads(ws.client, f"Bearer {token}")
        assert_error(r, 401, "invalid_api_key")
        r = await ws.client.post(
            LEADS, headers={"Authorization": f"Bearer {token}"}, json=lead_body()
        )
        assert_error(r, 401, "invalid_api_key")
    finally:
        clock.set_clock(None)
    # back in the present the key works again (expiry is a function of time, nothing stored)
    assert (await get_leads(ws.client, f"Bearer {token}")).status_code == 200


async def test_minted_key_with_short_expiry_expires(ws):
    r = await ws.request("POST", KEYS, json={"role": "agent", "expires_in_seconds": 60})
    assert r.status_code == 201, r.text
    minted = r.json()["data"]
    created = datetime.fromisoformat(minted["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(minted["expires_at"].replace("Z", "+00:00"))
    assert expires - created == timedelta(seconds=60)
    auth = f"Bearer {minted['token']}"
    assert (await get_leads(ws.client, auth)).status_code == 200
    try:
        clock.set_clock(lambda: expires + timedelta(seconds=1))
        r = await get_leads(ws.client, auth)
        assert_error(r, 401, "invalid_api_key")
    finally:
        clock.set_clock(None)


async def test_minted_key_defaults_to_90_day_expiry(ws):
    r = await ws.request("POST", KEYS, json={"role": "agent"})
    assert r.status_code == 201, r.text
    minted = r.json()["data"]
    created = datetime.fromisoformat(minted["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(minted["expires_at"].replace("Z", "+00:00"))
    assert expires - created == timedelta(days=90)
    assert created.tzinfo is not None and abs(created - datetime.now(UTC)) < timedelta(minutes=5)


async def test_auth_errors_carry_trace_and_rate_limit_headers(client):
    r = await get_leads(client, "Bearer nope")
    assert_error(r, 401, "unauthorized")
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert r.headers[name].isdigit(), name


# --- roles ----------------------------------------------------------------------------------


async def _lead(ws) -> dict:
    r = await ws.request("POST", LEADS, json=lead_body())
    assert r.status_code == 201, r.text
    return r.json()["data"]


async def test_viewer_can_read_leads(ws):
    lead = await _lead(ws)
    r = await ws.request("GET", LEADS, role="viewer")
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["data"]["items"]] == [lead["id"]]
    r = await ws.request("GET", f"{LEADS}/{lead['id']}", role="viewer")
    assert r.status_code == 200, r.text


async def test_viewer_cannot_create_lead(ws):
    r = await ws.request("POST", LEADS, role="viewer", json=lead_body())
    assert_error(r, 403, "forbidden")
    r = await ws.request("GET", LEADS)
    assert r.json()["data"]["items"] == []


async def test_viewer_cannot_update_lead(ws):
    lead = await _lead(ws)
    r = await ws.request("PATCH", f"{LEADS}/{lead['id']}", role="viewer", json={"name": "Changed"})
    assert_error(r, 403, "forbidden")
    r = await ws.request("GET", f"{LEADS}/{lead['id']}")
    assert r.json()["data"]["name"] == lead["name"]


async def test_viewer_cannot_delete_lead(ws):
    lead = await _lead(ws)
    r = await ws.request("DELETE", f"{LEADS}/{lead['id']}", role="viewer")
    assert_error(r, 403, "forbidden")
    r = await ws.request("GET", f"{LEADS}/{lead['id']}")
    assert r.status_code == 200, r.text


async def test_agent_can_write_leads(ws):
    r = await ws.request("POST", LEADS, role="agent", json=lead_body())
    assert r.status_code == 201, r.text
    lead_id = r.json()["data"]["id"]
    r = await ws.request("PATCH", f"{LEADS}/{lead_id}", role="agent", json={"area": "JBR"})
    assert r.status_code == 200, r.text
    r = await ws.request("DELETE", f"{LEADS}/{lead_id}", role="agent")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("role", ["agent", "viewer"])
async def test_non_admin_cannot_use_api_keys(ws, role):
    await ws.key("test", role)
    tenant = await Tenant.get(slug=ws.slug)
    before = await ApiKey.filter(tenant_id=tenant.id).count()
    r = await ws.request("GET", KEYS, role=role)
    assert_error(r, 403, "forbidden")
    r = await ws.request("POST", KEYS, role=role, json={"role": "admin"})
    assert_error(r, 403, "forbidden")
    admin_id = ws.key_ids[("test", "admin")]
    r = await ws.request("POST", f"{KEYS}/{admin_id}/revoke", role=role)
    assert_error(r, 403, "forbidden")
    assert (await ApiKey.get(id=admin_id)).revoked_at is None
    assert await ApiKey.filter(tenant_id=tenant.id).count() == before


# --- minting, listing -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "agent", "viewer"])
async def test_admin_mints_a_working_key_with_that_role(ws, role):
    r = await ws.request("POST", KEYS, json={"role": role, "name": "CRM sync"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["error"] is None
    minted = body["data"]
    token = minted["token"]
    assert minted["id"].startswith("key_")
    assert minted["role"] == role
    assert minted["environment"] == "test"
    assert minted["name"] == "CRM sync"
    assert token.startswith("hdr_test_") and len(token) == len("hdr_test_") + 32
    assert tokens.environment_of(token) == "test"
    assert minted["last4"] == token[-4:]
    auth = {"Authorization": f"Bearer {token}"}
    # the key acts in the same tenant: it sees the admin's lead
    lead = await _lead(ws)
    r = await ws.client.get(LEADS, headers=auth)
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["data"]["items"]] == [lead["id"]]
    r = await ws.client.post(LEADS, headers=auth, json=lead_body())
    assert r.status_code == (403 if role == "viewer" else 201), r.text
    r = await ws.client.get(KEYS, headers=auth)
    assert r.status_code == (200 if role == "admin" else 403), r.text


async def test_token_shown_once_list_shows_last4_only(ws):
    r = await ws.request("POST", KEYS, json={"role": "agent"})
    assert r.status_code == 201, r.text
    minted = r.json()["data"]
    token = minted["token"]
    r = await ws.request("GET", KEYS)
    assert r.status_code == 200, r.text
    items = r.json()["data"]["items"]
    listed = [k for k in items if k["id"] == minted["id"]]
    assert len(listed) == 1
    assert listed[0]["last4"] == token[-4:]
    assert listed[0]["role"] == "agent"
    for item in items:
        assert "token" not in item
        assert "token_hash" not in item
    assert token not in r.text
    assert token[:-4] not in r.text
    # reading the key again (revoke answers the key) never shows the token either
    r = await ws.request("POST", f"{KEYS}/{minted['id']}/revoke")
    assert token not in r.text and "token" not in r.json()["data"]


async def test_key_list_is_tenant_and_environment_scoped(ws, client):
    other = Workspace(client, ws.slug + "-o")
    await other.key("test", "admin")
    await ws.key("live", "admin")
    r = await ws.request("GET", KEYS)
    ids = {k["id"] for k in r.json()["data"]["items"]}
    assert ws.key_ids[("test", "admin")] in ids
    assert other.key_ids[("test", "admin")] not in ids
    assert ws.key_ids[("live", "admin")] not in ids
    assert {k["environment"] for k in r.json()["data"]["items"]} == {"test"}


async def test_test_key_cannot_mint_live_key(ws):
    r = await ws.request("POST", KEYS, json={"role": "admin", "environment": "live"})
    assert_error(r, 403, "forbidden")
    r = await ws.request("POST", KEYS, json={"role": "viewer", "environment": "live"})
    assert_error(r, 403, "forbidden")
    tenant = await Tenant.get(slug=ws.slug)
    assert await ApiKey.filter(tenant_id=tenant.id, environment="live").count() == 0


async def test_live_admin_mints_live_key_by_default(ws):
    r = await ws.request("POST", KEYS, env="live", json={"role": "agent"})
    assert r.status_code == 201, r.text
    minted = r.json()["data"]
    assert minted["environment"] == "live"
    assert minted["token"].startswith("hdr_live_")
    r = await ws.client.get(LEADS, headers={"Authorization": f"Bearer {minted['token']}"})
    assert r.status_code == 200, r.text


async def test_mint_validates_body(ws):
    r = await ws.request("POST", KEYS, json={"role": "owner"})
    assert_error(r, 400, "validation_error", "api_key.role")
    r = await ws.request("POST", KEYS, json={"role": "agent", "scopes": ["all"]})
    assert_error(r, 400, "validation_error", "api_key.scopes")
    r = await ws.request("POST", KEYS, json={"role": "agent", "environment": "prod"})
    assert_error(r, 400, "validation_error", "api_key.environment")


# --- storage of tokens ----------------------------------------------------------------------


def _columns(row) -> dict:
    return {name: getattr(row, name) for name in row._meta.db_fields}


async def test_token_is_not_stored_in_api_keys_table(ws):
    r = await ws.request("POST", KEYS, json={"role": "agent"})
    token = r.json()["data"]["token"]
    key_id = r.json()["data"]["id"]
    fixture_token = await ws.key()
    tenant = await Tenant.get(slug=ws.slug)
    rows = await ApiKey.filter(tenant_id=tenant.id)
    assert {row.id for row in rows} >= {key_id, ws.key_ids[("test", "admin")]}
    for row in rows:
        assert row.token_hash not in (token, fixture_token)
        assert len(row.token_hash) == 64
        for name, value in _columns(row).items():
            text = str(value)
            for secret in (token, fixture_token):
                assert secret not in text, name
                assert secret[len("hdr_test_") :] not in text, name
    minted_row = await ApiKey.get(id=key_id)
    assert minted_row.last4 == token[-4:]


async def test_token_is_not_stored_anywhere_even_when_minted_with_idempotency_key(ws):
    """SPEC 4: only a keyed hash and last4 are stored; the full token is shown once.
    Minting under an Idempotency-Key must not leave the token in any table."""
    r = await ws.request(
        "POST", KEYS, json={"role": "admin"}, headers={"Idempotency-Key": f"mint-{ws.slug}"}
    )
    assert r.status_code == 201, r.text
    token = r.json()["data"]["token"]
    tenant = await Tenant.get(slug=ws.slug)
    leaks = []
    for model in (ApiKey, IdempotencyRecord, AuditEvent):
        for row in await model.filter(tenant_id=tenant.id):
            for name, value in _columns(row).items():
                raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None
                if token in str(value) or (raw is not None and token.encode() in raw):
                    leaks.append(f"{model.__name__}.{name}")
    assert leaks == []
