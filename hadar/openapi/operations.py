"""One OpenAPI operation per RouteSpec: parameters with their limits, body, responses. Every
part is read from the RouteSpec and the models it names; nothing here lists routes."""

from __future__ import annotations

from typing import Any

import pydantic

from hadar import ids
from hadar.openapi.responses import error_response, statuses_of, success_response
from hadar.rest.spec import JSON_MEDIA_TYPE, RouteSpec
from hadar.services.models import schema_name

PREFIX = "/api/v1"


def ref(model: type[pydantic.BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema_name(model)}"}


def query_parameters(model: type[pydantic.BaseModel]) -> list[dict[str, Any]]:
    """The query model's fields as parameters, with the limits the model enforces."""
    schema = model.model_json_schema(mode="validation")
    out: list[dict[str, Any]] = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        prop.pop("default", None)
        description = prop.pop("description", None)
        options = prop.pop("anyOf", None)
        if options:  # `X | None`: a query parameter is simply absent instead of null
            prop.update(next(o for o in options if o.get("type") != "null"))
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return out


def _id_params() -> dict[str, str]:
    """Path parameter name -> the id prefix it carries, as the models declare them."""
    return {param: prefix for prefix, param in ids.PREFIXES.items() if param}


def parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    id_params = _id_params()
    out: list[dict[str, Any]] = []
    for name in spec.path_params:
        prefix = id_params.get(name)
        schema: dict[str, Any] = {"type": "string"}
        if prefix:
            schema["pattern"] = f"^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$"
            schema["examples"] = [f"{prefix}_01HMNZ8G7Q3V5X2T4R6Y9W0K1B"]
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    if spec.query is not None:
        out.extend(query_parameters(spec.query))
    if spec.mutation:
        out.append({"$ref": "#/components/parameters/Idempotency-Key"})
    return out


def operation_id(spec: RouteSpec) -> str:
    module = spec.handler.__module__.rsplit(".", 1)[-1]
    return f"{module}_{spec.handler.__name__.rstrip('_')}"


def operation(spec: RouteSpec, shared: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI operation object for `spec`; its error responses are put in `shared`."""
    assert spec.response is not None, f"{spec.method} {spec.path} declares no response model"
    op: dict[str, Any] = {
        "operationId": operation_id(spec),
        "summary": spec.summary,
        "tags": [spec.tag],
    }
    notes = [spec.description] if spec.description else []
    if spec.mutation:
        notes.append("Send an `Idempotency-Key` so a retry never repeats the effect.")
    if spec.op.fail_closed:
        notes.append("Fail-closed: 503 `service_unavailable` when the shared store is down.")
    if notes:
        op["description"] = "\n\n".join(notes)
    op["parameters"] = parameters(spec)
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": ref(spec.body),
                    **({"example": spec.example} if spec.example is not None else {}),
                }
            },
        }
    responses: dict[str, Any] = {}
    successes = {spec.status: "OK", **spec.statuses}
    for status in sorted(successes, key=lambda s: (s != spec.status, s)):
        responses[str(status)] = success_response(
            successes[status], ref(spec.response), mutation=spec.mutation, status=status
        )
        if spec.media_type != JSON_MEDIA_TYPE:  # the bytes themselves, not an envelope
            binary = {"schema": {"type": "string", "contentMediaType": spec.media_type}}
            responses[str(status)]["content"] = {spec.media_type: binary}
    by_status: dict[int, list[str]] = {}
    for code in spec.error_codes:
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
