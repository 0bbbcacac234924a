"""Integrations: live admins connect the agency's own accounts; secrets are sealed at rest and
never shown, logged, audited or stored for a replay; test keys get the sandbox."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

import pytest
from tortoise import Tortoise

from hadar.domain.records import AuditEvent, IdempotencyRecord
from hadar.domain.scope import Scope
from hadar.domain.tenants import Tenant
from hadar.errors import Conflict
from hadar.services import integrations
from tests.api.parity import Twin, created
from tests.conftest import Workspace

TOKEN = "EAAGm0PX4ZCpsBAKZCZBmeta-access-token-9f3a"


def meta_body(**over: Any) -> dict[str, Any]:
    n = uuid.uuid4().int % 10**15
    return {"provider": "meta", "phone_number_id": f"{n}", "access_token": TOKEN, **over}


def gql_meta() -> dict[str, Any]:
    body = meta_body()
    return {"provider": "meta", "phoneNumberId": body["phone_number_id"], "accessToken": TOKEN}


def ultramsg_body() -> dict[str, Any]:
    n = uuid.uuid4().int % 10**6
    return {"provider": "ultramsg", "instance_id": f"instance{n}", "token": "ultra-token-7781xyz"}


async def put(ws: Workspace, kind: str, body: Any, env: str = "live", **kw: Any) -> Any:
    return await ws.request("PUT", f"/api/v1/integrations/{kind}", env=env, json=body, **kw)


async def raw_rows(table: str, column: str, value: str) -> list[dict[str, Any]]:
    conn = Tortoise.get_connection("default")
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    return await conn.execute_query_dict(f"SELECT * FROM {table} WHERE {column} = {mark}", [value])


async def scope_of(ws: Workspace, env: str) -> Scope:
    tenant = await Tenant.get(slug=ws.slug)
    return Scope(tenant_id=tenant.id, environment=env, role="admin")


async def test_a_live_admin_connects_meta_and_sees_only_last4(ws: Workspace) -> None:
    r = await put(ws, "whatsapp", meta_body())
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["id"].startswith("int_")
    assert (data["kind"], data["provider"], data["status"]) == ("whatsapp", "meta", "active")
    assert data["credentials"] == {"access_token": "…9f3a"}
    assert data["webhook_url"] == "http://127.0.0.1:8000/api/v1/whatsapp/inbound/meta"
    assert data["webhook_token"] is None  # Meta signs its posts with the app secret
    assert TOKEN not in r.text
    got = await ws.request("GET", "/api/v1/integrations/whatsapp", env="live")
    assert got.json()["data"] == data
    listed = await ws.request("GET", "/api/v1/integrations", env="live")
    assert [i["id"] for i in listed.json()["data"]["items"]] == [data["id"]]


async def test_ultramsg_gets_a_token_url_to_paste(ws: Workspace) -> None:
    r = await put(ws, "whatsapp", ultramsg_body())
    data = r.json()["data"]
    token = data["webhook_token"]
    assert token and len(token) >= 40
    assert data["webhook_url"] == (
        f"http://127.0.0.1:8000/api/v1/whatsapp/inbound/ultramsg/{data['id']}?token={token}"
    )
    # Replacing the credentials keeps the pasted URL valid.
    again = await put(ws, "whatsapp", {**ultramsg_body(), "token": "ultra-token-rotated-0001"})
    assert again.json()["data"]["webhook_token"] == token
    assert again.json()["data"]["credentials"] == {"token": "…0001"}


async def test_stripe_and_vapi_bodies(ws: Workspace) -> None:
    r = await put(
        ws,
        "stripe",
        {"secret_key": "sk_live_51abcdefSECRET", "webhook_secret": "whsec_abcdefghij12"},
    )
    data = r.json()["data"]
    assert data["credentials"] == {"secret_key": "…CRET", "webhook_secret": "…ij12"}
    assert data["webhook_url"].endswith(f"/api/v1/invoices/inbound/stripe/{data['id']}")
    assert data["webhook_token"] is None
    r = await put(
        ws,
        "vapi",
        {"api_key": "vapi-private-key-0042", "phone_number_id": "pn_1", "voice_id": "v1"},
    )
    data = r.json()["data"]
    assert data["webhook_url"].endswith(f"/api/v1/calls/inbound/vapi/{data['id']}")
    assert data["webhook_token"] and data["config"] == {"phone_number_id": "pn_1", "voice_id": "v1"}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"provider": "meta", "phone_number_id": "1"}, "integration.access_token"),
        (
            {
                "provider": "ultramsg",
                "instance_id": "instance1",
                "token": "t",
                "phone_number_id": "1",
            },
            "integration.phone_number_id",
        ),
        (
            {"provider": "ultramsg", "instance_id": "instance", "token": "t"},
            "integration.instance_id",
        ),
        ({"provider": "twilio"}, "integration.provider"),
        (
            {"provider": "meta", "phone_number_id": "1", "access_token": "x", "extra": 1},
            "integration.extra",
        ),
    ],
)
async def test_bodies_are_validated(ws: Workspace, body: dict[str, Any], field: str) -> None:
    r = await put(ws, "whatsapp", body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["field"] == field


async def test_test_keys_and_non_admins_may_not_connect(ws: Workspace) -> None:
    r = await put(ws, "whatsapp", meta_body(), env="test")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden")
    r = await ws.request(
        "PUT", "/api/v1/integrations/whatsapp", env="live", role="agent", json=meta_body()
    )
    assert r.status_code == 403
    r = await ws.request("GET", "/api/v1/integrations", env="live", role="viewer")
    assert r.status_code == 403
    r = await ws.request("GET", "/api/v1/integrations/fax", env="live")
    assert r.json()["error"]["code"] == "not_found"


async def test_a_number_belongs_to_one_workspace(ws: Workspace, client: Any) -> None:
    body = meta_body()
    assert (await put(ws, "whatsapp", body)).status_code == 200
    other = Workspace(client, f"t-{uuid.uuid4().hex[:12]}")
    r = await put(other, "whatsapp", body)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")


async def test_secrets_are_nowhere_in_clear(
    ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    key = str(uuid.uuid4())
    body = ultramsg_body() | {"token": "ultra-secret-zz-123456"}
    with caplog.at_level(logging.DEBUG):
        r = await put(ws, "whatsapp", body, headers={"Idempotency-Key": key})
        replay = await put(ws, "whatsapp", body, headers={"Idempotency-Key": key})
    data = r.json()["data"]
    (row,) = await raw_rows("integrations", "id", data["id"])
    assert "ultra-secret-zz-123456" not in str(row)
    assert data["webhook_token"] not in str(row)
    stored = bytes((await IdempotencyRecord.get(key=key)).body)
    assert b"ultra-secret" not in stored and data["webhook_token"].encode() not in stored
    assert replay.headers["idempotent-replayed"] == "true"
    assert b"ultra-secret" not in replay.content
    audits = await AuditEvent.filter(object_id=data["id"]).values_list("action", flat=True)
    assert list(audits) == ["integration.connected"]
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "ultra-secret" not in logged and data["webhook_token"] not in logged


async def test_replay_answers_the_first_outcome_without_the_token(ws: Workspace) -> None:
    key = str(uuid.uuid4())
    body = ultramsg_body()
    first = await put(ws, "whatsapp", body, headers={"Idempotency-Key": key})
    again = await put(ws, "whatsapp", body, headers={"Idempotency-Key": key})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert again.json()["data"]["webhook_token"] is None
    assert again.json()["data"]["webhook_url"] is None


async def test_delete_disconnects_and_connected_then_conflicts(ws: Workspace) -> None:
    data = (await put(ws, "whatsapp", meta_body())).json()["data"]
    live = await scope_of(ws, "live")
    account = await integrations.connected(scope=live, kind="whatsapp")
    assert (account.integration_id, account.provider) == (data["id"], "meta")
    assert account.credentials == {"access_token": TOKEN}
    assert TOKEN not in repr(account)
    r = await ws.request("DELETE", "/api/v1/integrations/whatsapp", env="live")
    assert r.json()["data"] == {"id": data["id"], "object": "integration", "deleted": True}
    assert (await ws.request("GET", "/api/v1/integrations/whatsapp", env="live")).status_code == 404
    with pytest.raises(Conflict, match="PUT /api/v1/integrations/whatsapp"):
        await integrations.connected(scope=live, kind="whatsapp")


async def test_test_keys_are_given_the_sandbox(ws: Workspace) -> None:
    await put(ws, "whatsapp", meta_body())
    account = await integrations.connected(scope=await scope_of(ws, "test"), kind="whatsapp")
    assert account.provider == "sandbox" and account.credentials == {}
    port = integrations.whatsapp_port(scope=await scope_of(ws, "test"), account=account)
    assert port.provider == "sandbox"


async def test_graphql_twin_connects_and_reads(ws: Workspace) -> None:
    doc = (
        "mutation($i: WhatsAppIntegrationInput!) { connectWhatsapp(input: $i) "
        "{ id kind provider credentials webhookUrl } }"
    )
    r = await ws.request(
        "POST", "/graphql", env="live", json={"query": doc, "variables": {"i": gql_meta()}}
    )
    body = r.json()
    assert "errors" not in body, body
    made = body["data"]["connectWhatsapp"]
    assert made["credentials"] == {"access_token": "…9f3a"}
    r = await ws.request(
        "POST", "/graphql", env="live", json={"query": '{ integration(kind: "whatsapp") { id } }'}
    )
    assert r.json()["data"]["integration"]["id"] == made["id"]
    r = await ws.request(
        "POST", "/graphql", env="test", json={"query": doc, "variables": {"i": gql_meta()}}
    )
    assert r.json()["errors"][0]["extensions"]["code"] == "forbidden"


PARITY_STRIPE = {"secret_key": "sk_live_parity_0000", "webhook_secret": "whsec_parity00"}
PARITY_VAPI = {"api_key": "vapi-parity-key-0000", "phone_number_id": "pn_parity"}


def _derived(ids: dict[str, str], digits: int) -> str:
    # Derived from the scenario's phone (so the twin reuses it), never the phone itself: the
    # suite's leak check refuses a test phone anywhere in the logs.
    return str(int(hashlib.sha256(ids["phone"].encode()).hexdigest(), 16))[:digits]


def _ultramsg(ids: dict[str, str], *, camel: bool = False) -> dict[str, str]:
    instance = "instance" + _derived(ids, 9)
    if camel:
        return {"provider": "ultramsg", "instanceId": instance, "token": "ultra-parity-0000"}
    return {"provider": "ultramsg", "instance_id": instance, "token": "ultra-parity-0000"}


async def _whatsapp_setup(ws: Workspace, ids: dict[str, str]) -> dict[str, str]:
    """A live Meta WhatsApp integration to disconnect (its missing twin: vapi, never connected)."""
    meta = {"provider": "meta", "phone_number_id": _derived(ids, 15), "access_token": "EAAG-p-0000"}
    await created(ws, "/api/v1/integrations/whatsapp", meta, method="PUT", env="live")
    return {"int_kind": "whatsapp"}


# The twins of the integration mutations, for tests/api/test_operation_parity.py.
PARITY = {
    "integrations.put_whatsapp": Twin(
        lambda ids: ("PUT", "/api/v1/integrations/whatsapp", _ultramsg(ids)),
        lambda ids: (
            "mutation($i: WhatsAppIntegrationInput!) { connectWhatsapp(input: $i) "
            "{ id webhook_url: webhookUrl webhook_token: webhookToken } }",
            {"i": _ultramsg(ids, camel=True)},
        ),
        env="live",
    ),
    "integrations.put_stripe": Twin(
        lambda ids: ("PUT", "/api/v1/integrations/stripe", PARITY_STRIPE),
        lambda ids: (
            "mutation($i: StripeIntegrationInput!) { connectStripe(input: $i) { id } }",
            {"i": {"secretKey": PARITY_STRIPE["secret_key"], "webhookSecret": "whsec_parity00"}},
        ),
        env="live",
    ),
    "integrations.put_vapi": Twin(
        lambda ids: ("PUT", "/api/v1/integrations/vapi", PARITY_VAPI),
        lambda ids: (
            "mutation($i: VapiIntegrationInput!) { connectVapi(input: $i) "
            "{ id webhook_token: webhookToken } }",
            {"i": {"apiKey": PARITY_VAPI["api_key"], "phoneNumberId": "pn_parity"}},
        ),
        env="live",
    ),
    "integrations.delete": Twin(
        lambda ids: ("DELETE", f"/api/v1/integrations/{ids['int_kind']}", None),
        lambda ids: (
            "mutation($k: String!) { deleteIntegration(kind: $k) { id deleted } }",
            {"k": ids["int_kind"]},
        ),
        env="live",
        setup=_whatsapp_setup,
        missing={"int_kind": "vapi"},
    ),
}
