"""The GraphQL half of the hostile-input table (tests/fuzz/hostile.py has the REST half): NUL
in every String argument and input field of every root field, sent as a variable and inline,
and the request as a whole malformed in every way REST's can be.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
)

from hadar.graphql.schema import root_operations, schema
from hadar.rest.routes import ROUTES
from hadar.rest.spec import RouteSpec
from tests.fuzz.hostile import (
    DEEP,
    FORM,
    JSON,
    NUL,
    Case,
    Case_build,
    Prepared,
    Request,
    base_body,
    missing_id,
)


def gql(document: str, variables: dict[str, Any] | None = None) -> Case_build:
    body = orjson.dumps({"query": document, "variables": variables or {}})
    return lambda ids: Request("POST", "/graphql", body, JSON)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def literal(value: Any) -> str:
    """`value` as a GraphQL input literal (strings escaped as JSON, which GraphQL shares)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return orjson.dumps(value).decode()


def _text_input_fields(arg: GraphQLArgument) -> list[str]:
    named = get_named_type(arg.type)
    if not isinstance(named, GraphQLInputObjectType):
        return []
    out = []
    for name, f in named.fields.items():
        inner = f.type.of_type if isinstance(f.type, GraphQLNonNull) else f.type
        if isinstance(inner, GraphQLList):
            continue
        if isinstance(inner, GraphQLScalarType) and inner.name in ("String", "ID"):
            out.append(name)
    return out


def _spec_of(kind: str, name: str) -> RouteSpec | None:
    op = root_operations().get((kind, name))
    return next((s for s in ROUTES if s.op is op), None)


def _selection(f: GraphQLField) -> str:
    return "" if is_leaf_type(get_named_type(f.type)) else " { __typename }"


def graphql_field_cases(kind: str, name: str, f: GraphQLField) -> list[Case]:
    """NUL in every String argument and input field of one root field, sent as a variable and
    inline in the document: a validation_error naming the field, nothing written."""
    spec = _spec_of(kind, name)
    base = {_camel(k): v for k, v in (base_body(spec) if spec else {}).items()}
    params = spec.path_params if spec else []
    out: list[Case] = []

    def param_of(arg_name: str) -> str | None:
        """The REST path parameter a GraphQL id argument stands for (`id`, `webhookId`)."""
        if _snake(arg_name) in params:
            return _snake(arg_name)
        return params[0] if arg_name == "id" and params else None

    def args_for(target: str, nul_in: str | None, inline: bool) -> tuple[str, str, dict[str, Any]]:
        decls, uses, variables = [], [], {}
        for arg_name, arg in f.args.items():
            if isinstance(get_named_type(arg.type), GraphQLInputObjectType):
                value: Any = dict(base)
                if arg_name == target and nul_in is not None:
                    value[nul_in] = NUL
            elif arg_name == target:
                value = NUL
            elif param_of(arg_name) is not None:
                value = f"${param_of(arg_name)}"  # the case builder puts the real id in
            elif isinstance(arg.type, GraphQLNonNull):
                value = "x"
            else:
                continue
            if inline:
                uses.append(f"{arg_name}: {literal(value)}")
            else:
                decls.append(f"${arg_name}: {arg.type}")
                uses.append(f"{arg_name}: ${arg_name}")
                variables[arg_name] = value
        head = f"({', '.join(decls)})" if decls else ""
        call = f"({', '.join(uses)})" if uses else ""
        return head, call, variables

    targets: list[tuple[str, str | None, str]] = []
    for arg_name, arg in f.args.items():
        fields = _text_input_fields(arg)
        targets += [(arg_name, sub, _snake(sub)) for sub in fields]
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLScalarType) and named.name in ("String", "ID"):
            targets.append((arg_name, None, _snake(arg_name)))
    for arg_name, sub, snake in targets:
        for inline in (False, True):
            head, call, variables = args_for(arg_name, sub, inline)
            document = f"{kind}{head} {{ {name}{call}{_selection(f)} }}"
            how = "inline" if inline else "variable"
            # `kind` names an integration the way an id names an object (a REST path segment).
            by_id = sub is None and (arg_name in ("id", "ids", "kind") or snake.endswith("_id"))
            snake = {"after": "cursor", "first": "limit"}.get(snake, snake)
            out.append(
                Case(
                    f"graphql {name} NUL in {sub or arg_name} ({how})",
                    "graphql",
                    _with_ids(document, variables, params),
                    # An id holding NUL is simply no such id (Relay's node answers null); any
                    # other text names its field.
                    code=None if by_id else "validation_error",
                    field=None if by_id else re.compile(rf"^([a-z_]+\.)?{re.escape(snake)}$"),
                    null_ok=by_id and kind == "query",
                )
            )
    return out


def _with_ids(document: str, variables: dict[str, Any], params: list[str]) -> Case_build:
    def build(ids: Prepared) -> Request:
        text, values = document, dict(variables)
        for param in params:
            real = ids.get(param, missing_id(param))
            text = text.replace(f'"${param}"', orjson.dumps(real).decode())
            values = {k: (real if v == f"${param}" else v) for k, v in values.items()}
        return Request("POST", "/graphql", orjson.dumps({"query": text, "variables": values}), JSON)

    return build


def _post(raw: bytes, headers: dict[str, str] | None = None) -> Case_build:
    return lambda ids: Request("POST", "/graphql", raw, {**JSON, **(headers or {})})


def _get(params: list[tuple[str, str]] | bytes) -> Case_build:
    return lambda ids: Request("GET", "/graphql", None, {}, params)


def graphql_request_cases() -> list[Case]:
    """The request as a whole: its JSON, its document, its headers, its method."""
    lead = "mutation($i: LeadCreateInput!) { createLead(input: $i) { created } }"
    key = orjson.dumps({"query": 'mutation { createApiKey(input: {role: "agent"}) { token } }'})
    phone = b'"phone": "+971501234567"'
    # The variables of `lead` written by hand, for what orjson would refuse to write.
    raw = b'{"query": ' + orjson.dumps(lead) + b', "variables": {"i": {'

    def variables(fields: bytes) -> Case_build:
        return _post(raw + fields + b", " + phone + b"}}}")

    deep = b'"name": ' + b"[" * DEEP + b"]" * DEEP
    inline = 'mutation { createLead(input: {name: "\\ud800", phone: "+971501234567"}) { created } }'
    leads = "leads { __typename } "
    table: list[tuple[str, Case_build, str | None]] = [
        ("deep variables", variables(deep), "body"),
        ("deep array body", _post(b"[" * DEEP + b"]" * DEEP), "body"),
        ("deep document", gql("{" + " leads {" * DEEP + "}" * DEEP + "}"), None),
        ("lone surrogate in variables", variables(b'"name": "\\ud800"'), "body"),
        ("lone surrogate inline", gql(inline), None),
        ("bad utf-8", variables(b'"name": "\xff\xfe"'), "body"),
        ("int > 64 bits", variables(b'"name": "a", "budgetAed": 9223372036854775808'), "body"),
        ("2**64 for BigInt", variables(b'"name": "a", "budgetAed": 18446744073709551616'), None),
        ("float for BigInt", variables(b'"name": "a", "budgetAed": 1.5'), None),
        ("float for Int", variables(b'"name": "a", "bedrooms": 2.5'), None),
        ("duplicate keys", variables(b'"name": "a", "name": "b"'), "body.variables.i.name"),
        ("array body", _post(b"[" + key + b"]"), None),
        ("empty body", _post(b""), None),
        ("text/plain", _post(key, {"Content-Type": "text/plain"}), "Content-Type"),
        ("form-encoded", _post(b"query=x", {"Content-Type": FORM}), "Content-Type"),
        ("variables not an object", _post(key[:-1] + b', "variables": [1]}'), None),
        ("NUL Idempotency-Key", _post(key, {"Idempotency-Key": "k\x00"}), "Idempotency-Key"),
        ("huge Idempotency-Key", _post(key, {"Idempotency-Key": "k" * 20_000}), "Idempotency-Key"),
        ("huge document", gql("{ " + leads * 40_000 + "}"), None),
        (
            "GET NUL parameter",
            _get([("query", "{ leads { __typename } }"), ("operationName", NUL)]),
            "operationName",
        ),
        ("GET bad utf-8 parameter", _get(b"query=%ff%fe"), "query"),
        ("GET mutation", _get([("query", orjson.loads(key)["query"])]), None),
    ]
    cases = [Case(f"graphql {name}", "graphql", build, field=f) for name, build, f in table]
    auth = {"Authorization": "Bearer " + "a" * 20_000}
    cases.append(Case("graphql huge Authorization", "graphql", _post(key, auth), "unauthorized"))
    big = _post(b'"' + b"x" * 2_000_000 + b'"')
    cases.append(Case("graphql 2 MB body", "graphql", big, status=413))
    return cases


def cases() -> list[Case]:
    """Every GraphQL case: the request-level ones and each root field's."""
    out = graphql_request_cases()
    core = schema._schema
    for kind, root in (("query", core.query_type), ("mutation", core.mutation_type)):
        for name, f in (root.fields if root else {}).items():
            out += graphql_field_cases(kind, name, f)
    return out
