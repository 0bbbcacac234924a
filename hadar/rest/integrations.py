"""REST routes for integrations (admin; PUT with live keys; fail-closed while Redis is down)."""

from __future__ import annotations

from typing import Any

from hadar.domain.scope import Operation
from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import Handler, RouteSpec
from hadar.services import integrations


def _put(kind: str) -> Handler:
    async def put(call: Call) -> tuple[int, Any]:
        row = await integrations.put_integration(scope=call.scope, kind=kind, data=call.body)
        return 200, integrations.present_integration(row)

    put.__name__ = f"put_{kind}"  # the OpenAPI operationId: integrations_put_whatsapp
    return put


async def list_(call: Call) -> tuple[int, Any]:
    page = await integrations.list_integrations(
        scope=call.scope, **call.query.model_dump(exclude_none=True)
    )
    return 200, page_body(page, integrations.present_integration)


async def retrieve(call: Call) -> tuple[int, Any]:
    row = await integrations.get_integration(scope=call.scope, kind=call.params["kind"])
    return 200, integrations.present_integration(row)


async def delete(call: Call) -> tuple[int, Any]:
    row_id = await integrations.delete_integration(scope=call.scope, kind=call.params["kind"])
    return 200, {"id": row_id, "object": "integration", "deleted": True}


TAG = "Integrations"
PUT_NOTE = (
    "Live keys only (test keys use sandboxes and get 403). Secrets are sealed at rest and shown "
    "back as last4; `webhook_url` (and `webhook_token`) is what to paste into the provider."
)
PUTS: list[tuple[str, Operation, type[Any], dict[str, Any]]] = [
    (
        "whatsapp",
        integrations.PUT_WHATSAPP,
        integrations.WhatsAppIntegrationIn,
        {"provider": "meta", "phone_number_id": "106540352242922", "access_token": "EAAG…"},
    ),
    (
        "stripe",
        integrations.PUT_STRIPE,
        integrations.StripeIntegrationIn,
        {"secret_key": "sk_live_…", "webhook_secret": "whsec_…"},
    ),
    (
        "vapi",
        integrations.PUT_VAPI,
        integrations.VapiIntegrationIn,
        {"api_key": "…", "phone_number_id": "…", "voice_id": "21m00Tcm4TlvDq8ikWAM"},
    ),
]
ROUTES = [
    *(
        RouteSpec(
            "PUT",
            f"/integrations/{kind}",
            _put(kind),
            op,
            f"Connect the {kind} account",
            TAG,
            body=body,
            response=integrations.IntegrationOut,
            description=PUT_NOTE,
            example=example,
        )
        for kind, op, body, example in PUTS
    ),
    RouteSpec(
        "GET",
        "/integrations",
        list_,
        integrations.LIST,
        "List integrations",
        TAG,
        query=integrations.IntegrationQuery,
        response=integrations.IntegrationListOut,
    ),
    RouteSpec(
        "GET",
        "/integrations/{kind}",
        retrieve,
        integrations.RETRIEVE,
        "Retrieve an integration",
        TAG,
        response=integrations.IntegrationOut,
    ),
    RouteSpec(
        "DELETE",
        "/integrations/{kind}",
        delete,
        integrations.DELETE,
        "Disconnect an integration",
        TAG,
        response=integrations.IntegrationDeletedOut,
    ),
]
