"""One OpenAPI operation per RouteSpec: parameters with their limits, body, responses."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic

from hadar.domain.normalise import CANONICAL_SOURCES
from hadar.openapi import resources, webhooks
from hadar.openapi.responses import error_response, statuses_of, success_response
from hadar.pagination import DEFAULT_LIMIT, MAX_LIMIT
from hadar.rest.spec import RouteSpec
from hadar.services.leads import STATUSES

PREFIX = "/api/v1"
# Path parameter name -> id prefix (SPEC section 3), so ids are generated and shown in shape.
ID_PREFIXES = {
    "lead_id": "lead",
    "key_id": "key",
    "conversation_id": "conv",
    "message_id": "msg",
    "property_id": "prop",
    "booking_id": "bkg",
    "invoice_id": "inv",
    "webhook_id": "whk",
    "delivery_id": "dlv",
    "event_id": "evt",
    "template_id": "tpl",
}
# What a converter cannot say about itself: ranges and vocabularies the services enforce.
QUERY_NOTES: dict[str, dict[str, Any]] = {
    "limit": {
        "schema": {"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "description": f"Page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    },
    "cursor": {"description": "Opaque cursor from `pagination.next_cursor` of the same list."},
    "score_min": {
        "schema": {"minimum": 0, "maximum": 100},
        "description": "Only leads scoring at least this (0-100).",
    },
    "status": {"schema": {"enum": list(STATUSES)}, "description": "Pipeline stage."},
    "source": {
        "description": "Normalised like a lead's source (e.g. `Bayut` or `bayut.com` is "
        f"`bayut`); canonical values: {', '.join(CANONICAL_SOURCES)}."
    },
    "created_after": {"description": "Only leads created strictly after this instant."},
    "assigned_to": {"description": "The agent's name or e-mail, exactly as assigned."},
}


@dataclass(frozen=True)
class Doc:
    """What the route table does not carry: the response model and prose."""

    response: type[pydantic.BaseModel] | None
    description: str = ""
    example: dict[str, Any] | None = None  # a request body "Try it out" starts from
    statuses: tuple[tuple[int, str], ...] = ()


TEMPORARY_KEY = (
    "Set `expires_in_seconds` (60 s to 90 days) to mint a short-lived key, e.g. a temporary "
    'test key for these docs: `{"role": "admin", "environment": "test", '
    '"expires_in_seconds": 3600}`. The full `token` is in this response only.'
)
UNDESCRIBED = "Not described yet: add the route's response model to hadar.openapi DOCS."
WEBHOOK_URLS = (
    "Live endpoints must be `https` and must not resolve to private addresses; test "
    "endpoints may be `http`."
)
DOCS: dict[tuple[str, str], Doc] = {
    ("POST", "/leads"): Doc(
        resources.Lead,
        "Required: `name` and at least one of `phone` or `email`. Phones are normalised to "
        "E.164 (region AE), sources to their canonical name. A lead whose phone or e-mail "
        "matches an existing one is merged into it (200, the new source added to `sources`).",
        statuses=((201, "The lead was created."), (200, "Merged into the existing lead.")),
        example=resources.LEAD_EXAMPLE,
    ),
    ("GET", "/leads"): Doc(resources.LeadList, "Newest first, keyset-paginated."),
    ("GET", "/leads/{lead_id}"): Doc(resources.Lead),
    ("PATCH", "/leads/{lead_id}"): Doc(
        resources.Lead,
        "Changes the given fields; `null` clears an optional one.",
        example={"status": "qualified", "assigned_to": "sara@agency.ae", "budget_aed": 2000000},
    ),
    ("DELETE", "/leads/{lead_id}"): Doc(resources.LeadDeleted),
    ("POST", "/api_keys"): Doc(
        resources.NewApiKey,
        TEMPORARY_KEY,
        example={"role": "admin", "environment": "test", "expires_in_seconds": 3600},
    ),
    ("GET", "/api_keys"): Doc(resources.ApiKeyList, "Keys of the caller's environment."),
    ("POST", "/api_keys/{key_id}/revoke"): Doc(
        resources.ApiKey, "Effective on the very next request; revoking twice is harmless."
    ),
    ("POST", "/webhooks"): Doc(
        webhooks.WebhookEndpointWithSecret,
        WEBHOOK_URLS,
        example={"url": "https://crm.example.com/hooks/hadar", "events": ["lead.created"]},
    ),
    ("GET", "/webhooks"): Doc(webhooks.WebhookEndpointList),
    ("GET", "/webhooks/{webhook_id}"): Doc(webhooks.WebhookEndpoint),
    ("PATCH", "/webhooks/{webhook_id}"): Doc(webhooks.WebhookEndpoint, WEBHOOK_URLS),
    ("DELETE", "/webhooks/{webhook_id}"): Doc(webhooks.WebhookEndpointDeleted),
    ("POST", "/webhooks/{webhook_id}/rotate_secret"): Doc(webhooks.WebhookEndpointWithSecret),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Doc(webhooks.WebhookDeliveryList),
    ("POST", "/webhook_deliveries/{delivery_id}/retry"): Doc(webhooks.WebhookDelivery),
    ("GET", "/audit_events"): Doc(
        resources.AuditEventList, "Every mutation of the caller's environment, newest first."
    ),
}


def query_schema(convert: Callable[[str], Any]) -> dict[str, Any]:
    """A query converter's schema, read from the converter itself (its kind and limits)."""
    kind = convert.__qualname__.split(".")[0]
    bound = inspect.getclosurevars(convert).nonlocals
    if kind == "as_int":
        return {"type": "integer"}
    if kind == "as_datetime":
        return {"type": "string", "format": "date-time"}
    if kind == "as_str":
        return {"type": "string", "minLength": 1, "maxLength": bound["max_length"]}
    return {"type": "string"}


def parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", spec.path):
        prefix = ID_PREFIXES.get(name)
        schema: dict[str, Any] = {"type": "string"}
        if prefix:
            schema["pattern"] = f"^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$"
            schema["examples"] = [f"{prefix}_01HMNZ8G7Q3V5X2T4R6Y9W0K1B"]
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    for name, convert in spec.query.items():
        notes = QUERY_NOTES.get(name, {})
        param = {
            "name": name,
            "in": "query",
            "required": False,
            "schema": query_schema(convert) | notes.get("schema", {}),
        }
        if "description" in notes:
            param["description"] = notes["description"]
        out.append(param)
    if spec.mutation:
        out.append({"$ref": "#/components/parameters/Idempotency-Key"})
    return out


def operation_id(spec: RouteSpec) -> str:
    module = spec.handler.__module__.rsplit(".", 1)[-1]
    return f"{module}_{spec.handler.__name__.rstrip('_')}"


def operation(spec: RouteSpec, shared: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI operation object for `spec`; its error responses are put in `shared`."""
    # A route missing from DOCS is still served (the docs page must not break) with an
    # open `data`; test_openapi fails until its model is added.
    doc = DOCS.get((spec.method, spec.path)) or Doc(None)
    data: dict[str, Any] = {"description": UNDESCRIBED}
    if doc.response is not None:
        data = {"$ref": f"#/components/schemas/{doc.response.__name__}"}
    op: dict[str, Any] = {
        "operationId": operation_id(spec),
        "summary": spec.summary,
        "tags": [spec.tag],
    }
    notes = [doc.description] if doc.description else []
    if spec.mutation:
        notes.append("Send an `Idempotency-Key` so a retry never repeats the effect.")
    if spec.fail_closed:
        notes.append("Fail-closed: 503 `service_unavailable` when the shared store is down.")
    if notes:
        op["description"] = "\n\n".join(notes)
    op["parameters"] = parameters(spec)
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"},
                    **({"example": doc.example} if doc.example is not None else {}),
                }
            },
        }
    described = dict(doc.statuses)
    responses: dict[str, Any] = {}
    for status in (spec.status, *spec.extra_statuses):
        responses[str(status)] = success_response(
            described.get(status, "OK"),
            data,
            mutation=spec.mutation,
            status=status,
        )
    by_status: dict[int, list[str]] = {}
    for code in spec.errors:
        for status in statuses_of(code, mutation=spec.mutation):
            by_status.setdefault(status, []).append(code)
    for status in sorted(by_status):
        response = error_response(status, by_status[status], mutation=spec.mutation)
        name = "-".join([str(status), *by_status[status]])
        if "Idempotent-Replayed" in response["headers"]:
            name += "-replayable"
        shared[name] = response
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    op["responses"] = responses
    return op
