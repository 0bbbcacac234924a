"""The OpenAPI 3.1 document, generated from the route table and the models routes validate with."""

from __future__ import annotations

import json
from typing import Any

import pydantic
from pydantic.json_schema import models_json_schema

import hadar
from hadar.domain.tenants import PLAN_LIMITS
from hadar.openapi import operations, responses
from hadar.rest.routes import ROUTES
from hadar.rest.spec import RouteSpec
from hadar.services.models import schema_name

TITLE = "Hadar API"
_REF = "#/components/schemas/{model}"


def _public(node: Any) -> Any:
    """Component names as the public API calls them (`LeadOut` is `Lead`), refs included."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("$ref", "title") and isinstance(value, str) and value.endswith("Out"):
                value = value.removesuffix("Out")
            out[key] = _public(value)
        return out
    if isinstance(node, list):
        return [_public(v) for v in node]
    return node


def _description() -> str:
    limits = ", ".join(f"{plan.value} {n}/min" for plan, n in PLAN_LIMITS.items())
    errors = "\n".join(
        f"| `{cls.code}` | {cls.status} | {cls.default_message} |"
        for cls in responses.error_classes()
    )
    return f"""\
The REST API Hadar's dashboard uses: leads and API keys, one JSON envelope on every response.

## Authentication
Send a workspace API key as a Bearer token: `Authorization: Bearer hdr_live_…` (live data)
or `hdr_test_…` (an isolated sandbox that never sends, calls or charges for real).

**A key for trying these docs.** Click *Authorize* and paste a test key. To get one:
- `make run` prints a demo workspace's test key (role admin) when it starts the server;
- `hadar keys create --tenant demo --env test --role admin` prints a new one;
- with an admin key, `POST /api/v1/api_keys` with
  `{{"environment": "test", "role": "admin", "expires_in_seconds": 3600}}` mints a temporary
  test key that expires by itself after an hour.

## Envelope
Every response is `{{"data": …, "error": null}}` or `{{"data": null, "error": {{"code", "message",
"field"?, "trace_id"}}}}`; `X-Trace-Id` repeats the trace id on every response.

## Rate limits
Per key and minute ({limits}; negotiated overrides). `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset` are on every response; 429 `rate_limited`
carries `Retry-After`.

## Idempotency
Every POST, PATCH and DELETE accepts `Idempotency-Key` (1-255 printable characters, UUID v4
recommended, kept 24 h per tenant and environment). A retry with the same key returns the
first response with `Idempotent-Replayed: true` and no second effect; the same key with a
different method, path or body is 409 `conflict`.

## Lists
Newest first; `limit` 1-100 (default 25) and the opaque `cursor` from
`data.pagination.next_cursor`.

## Errors
| code | status | meaning |
|---|---|---|
{errors}

`validation_error` is 413 when a request body exceeds 1 MiB.
"""


def _error_schemas() -> dict[str, Any]:
    codes = sorted({cls.code for cls in responses.error_classes()})
    return {
        "Error": {
            "type": "object",
            "required": ["code", "message", "trace_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string", "description": "For humans; may change."},
                "field": {
                    "type": "string",
                    "description": "Dotted path of the offending input, e.g. `lead.email`, "
                    "`cursor` or `Idempotency-Key`.",
                },
                "trace_id": {"type": "string"},
            },
        },
        "ErrorEnvelope": {
            "type": "object",
            "required": ["data", "error"],
            "additionalProperties": False,
            "properties": {
                "data": {"type": "null"},
                "error": {"$ref": "#/components/schemas/Error"},
            },
        },
    }


def _model_schemas(routes: list[RouteSpec]) -> dict[str, Any]:
    """Request models as the routes validate them, response models as presenters emit them."""
    bodies = {spec.body for spec in routes if spec.body is not None}
    outputs = {spec.response for spec in routes if spec.response is not None}
    pairs: list[tuple[type[pydantic.BaseModel], Any]] = [
        *((model, "validation") for model in sorted(bodies, key=schema_name)),
        *((model, "serialization") for model in sorted(outputs, key=schema_name)),
    ]
    _, defs = models_json_schema(pairs, ref_template=_REF)
    named = {k.removesuffix("Out"): _public(v) for k, v in defs.get("$defs", {}).items()}
    return dict(sorted(named.items()))


def build_document(routes: list[RouteSpec] | None = None) -> dict[str, Any]:
    """The whole document for `routes` (default: every REST route)."""
    routes = ROUTES if routes is None else routes
    paths: dict[str, dict[str, Any]] = {}
    shared: dict[str, Any] = {}  # error responses, one per status, codes and headers
    for spec in routes:
        path = paths.setdefault(operations.PREFIX + spec.path, {})
        path[spec.method.lower()] = operations.operation(spec, shared)
    tags = list(dict.fromkeys(spec.tag for spec in routes))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": hadar.__version__,
            "description": _description(),
        },
        "servers": [{"url": "/", "description": "This server"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "hdr_live_… or hdr_test_… + 32 base62 characters",
                    "description": "A workspace API key. `hdr_live_` keys act on live data, "
                    "`hdr_test_` keys on the tenant's isolated test sandbox. Malformed: 401 "
                    "`unauthorized`; unknown, revoked or expired: 401 `invalid_api_key`.",
                }
            },
            "responses": dict(sorted(shared.items())),
            "headers": responses.header_components(),
            "parameters": {
                "Idempotency-Key": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Makes a retry safe: the first response is stored for 24 h "
                    "and replayed for the same key (UUID v4 recommended).",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": "^[!-~]([ -~]*[!-~])?$",
                    },
                    "example": "11111111-2222-3333-4444-555555555555",
                }
            },
            "schemas": {**_model_schemas(routes), **_error_schemas()},
        },
    }


def render(document: dict[str, Any] | None = None) -> str:
    """The document as committed in schema/openapi.json (stable key order, trailing newline)."""
    return json.dumps(document or build_document(), indent=2, ensure_ascii=False) + "\n"
