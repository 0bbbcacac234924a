"""The hostile-input table (REST half here, GraphQL in hostile_graphql.py), derived from the
route table and the GraphQL schema, never from a list kept here: a new route, body field or
GraphQL argument is covered the day it lands.

Each Case is one request with what it must answer: a 4xx status (GraphQL field errors answer
200 with the code in `extensions`), the documented code when one is certain, and the `field`
when the input names one. Requests are built on the ids the test prepared (real rows of its
tenant), so an id route is exercised past its lookup.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic

from hadar.rest.routes import ROUTES
from hadar.rest.spec import RouteSpec

NUL = "a\x00b"
DEEP = 1000
HUGE_TEXT = 900_000  # under the 1 MiB body limit, far over any field's bound
Prepared = dict[str, str]  # path parameter name -> a real id of the test tenant
Case_build = Callable[[Prepared], "Request"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content: bytes | None = None
    headers: dict[str, str | bytes] = field(default_factory=dict)
    params: list[tuple[str, str]] | bytes | None = None  # bytes: a raw query string


@dataclass(frozen=True)
class Case:
    id: str
    surface: str  # "rest" or "graphql"
    build: Callable[[Prepared], Request]
    code: str | None = "validation_error"  # None: any 4xx code
    field: str | re.Pattern[str] | None = None
    status: int | None = None  # None: any 4xx (REST) / any (GraphQL)
    null_ok: bool = False  # GraphQL: a null answer without errors is right too (Relay's node)


# ------------------------------------------------------------------------------ REST ----


def rest_path(spec: RouteSpec, ids: Prepared, **over: str) -> str:
    path = "/api/v1" + spec.path
    for name in spec.path_params:
        path = path.replace("{" + name + "}", over.get(name, ids.get(name, missing_id(name))))
    return path


def missing_id(param: str) -> str:
    """A well-formed id nobody holds, for a path parameter no fixture prepares."""
    return param.removesuffix("_id")[:4] + "_01HMNZ0000000000000000000Z"


JSON = {"Content-Type": "application/json"}
FORM = "application/x-www-form-urlencoded"


def _body(spec: RouteSpec, raw: bytes, headers: dict[str, str] | None = None) -> Case_build:
    """The route called with `raw` as its body (on the prepared ids)."""
    return lambda ids: Request(spec.method, rest_path(spec, ids), raw, {**JSON, **(headers or {})})


def base_body(spec: RouteSpec) -> dict[str, Any]:
    """A body the route accepts, so a single hostile field is the only thing wrong."""
    return dict(spec.example or {})


def top_fields(model: type[pydantic.BaseModel]) -> list[tuple[str, Any]]:
    return [(name, info.annotation) for name, info in model.model_fields.items()]


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_int(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    return bool(args) and typing.get_origin(annotation) is not list and any(map(_is_int, args))


def _field(name: str) -> re.Pattern[str]:
    return re.compile(rf"^[a-z_]+\.{re.escape(name)}$")  # <root>.<field>, e.g. lead.name


def rest_body_cases(spec: RouteSpec) -> list[Case]:
    """What a mutation must refuse in its body, and every field of its body model NUL'd."""
    label = f"{spec.method} {spec.path}"
    base = base_body(spec)
    plain = {"Content-Type": "text/plain"}
    table: list[tuple[str, bytes, dict[str, str] | None, str | None]] = [
        ("deep array", b"[" * DEEP + b"]" * DEEP, None, "body"),
        ("deep value", _deep_name(base), None, "body"),
        ("bad utf-8", b'{"name": "A\xff\xfe"}', None, "body"),
        ("lone surrogate", b'{"name": "\\ud800"}', None, "body"),
        ("int > 64 bits", b'{"n": 9223372036854775808}', None, "body"),
        ("duplicate keys", b'{"name": "a", "name": "b"}', None, "body.name"),
        ("array body", orjson.dumps([base]), None, None),
        ("text/plain", orjson.dumps(base), plain, "Content-Type"),
        ("form-encoded", b"name=a&phone=1", {"Content-Type": FORM}, "Content-Type"),
    ]
    # A route that takes no body refuses one rather than ignoring it; one that does, none.
    table.append(
        ("unexpected body", b'{"x": 1}', None, None)
        if spec.body is None
        else ("empty body", b"", None, None)
    )
    out = [Case(f"{label} {n}", "rest", _body(spec, raw, h), field=f) for n, raw, h, f in table]
    out.append(
        Case(f"{label} 2 MB body", "rest", _body(spec, b'"' + b"x" * 2_000_000 + b'"'), status=413)
    )
    for name, annotation in top_fields(spec.body) if spec.body is not None else ():
        values = [("NUL", orjson.dumps(NUL)), ("huge", orjson.dumps("x" * HUGE_TEXT))]
        if _is_int(annotation):
            values += [("float", b"1.5"), ("2**64", b"18446744073709551616")]
        for what, raw in values:
            body = _with_field(base, name, raw)
            out.append(
                Case(f"{label} {what} in {name}", "rest", _body(spec, body), field=_field(name))
            )
    return out


def _with_field(base: dict[str, Any], name: str, raw: bytes) -> bytes:
    """`base` as JSON with `name` set to the raw JSON `raw` (which orjson may not write)."""
    return orjson.dumps({**base, name: 0}).replace(
        f'"{name}":0'.encode(), f'"{name}":'.encode() + raw
    )


def _deep_name(base: dict[str, Any]) -> bytes:
    """`base` with `name` nested DEEP arrays down (built by hand: orjson refuses to write it)."""
    return _with_field(base, "name", b"[" * DEEP + b"]" * DEEP)


def _is_text(spec: RouteSpec, name: str) -> bool:
    if spec.query is None:
        return False
    annotation = spec.query.model_fields[name].annotation
    return annotation == str | None or annotation is str


def rest_request_cases(spec: RouteSpec) -> list[Case]:
    """What every route must refuse, whatever it does: hostile query strings, headers, ids."""
    label = f"{spec.method} {spec.path}"
    content = b"{}" if spec.body is not None else None  # (the body is not what is tested)

    def plain(
        params: list[tuple[str, str]] | bytes | None = None,
        headers: dict[str, str | bytes] | None = None,
        **path: str,
    ) -> Case_build:
        return lambda ids: Request(
            spec.method, rest_path(spec, ids, **path), content, {**JSON, **(headers or {})}, params
        )

    names = list(spec.query.model_fields) if spec.query is not None else ["x"]
    # Free text (a filter like `source`) is where a lossy decoding would slip through unseen.
    q = ([n for n in names if n != "cursor" and _is_text(spec, n)] or names)[0]
    out = [Case(f"{label} NUL in ?{n}", "rest", plain([(n, NUL)]), field=n) for n in names]
    out += [
        Case(f"{label} NUL in a parameter name", "rest", plain([("a\x00", "1")])),
        Case(f"{label} bad utf-8 in ?{q}", "rest", plain(f"{q}=%ff%fe".encode()), field=q),
        Case(f"{label} lone surrogate in ?{q}", "rest", plain(f"{q}=%ed%a0%80".encode()), field=q),
        Case(f"{label} huge ?{q}", "rest", plain([(q, "x" * 20_000)]), field=q),
    ]
    auth = {"Authorization": "Bearer " + "a" * 20_000}
    out.append(Case(f"{label} huge Authorization", "rest", plain(headers=auth), "unauthorized"))
    keys: list[tuple[str, str | bytes]] = [("NUL", "k\x00y"), ("huge", "k" * 20_000)]
    keys.append(("non-ASCII", "ключ".encode()))
    for what, key in keys if spec.mutation else ():
        build = plain(headers={"Idempotency-Key": key})
        out.append(Case(f"{label} {what} Idempotency-Key", "rest", build, field="Idempotency-Key"))
    # Under an Idempotency-Key, so a hostile id is never remembered (nor breaks the store).
    idem: dict[str, str | bytes] = {"Idempotency-Key": "hostile-path"} if spec.mutation else {}
    for param in spec.path_params:
        for what, value in (("NUL", "lead_%00"), ("huge", "x" * 5000), ("surrogate", "%ed%a0%80")):
            build = plain(headers=idem, **{param: value})
            out.append(
                Case(f"{label} {what} in {{{param}}}", "rest", build, "not_found", status=404)
            )
    return out


def cases() -> list[Case]:
    """Every REST case: each route's request, and each mutation's body."""
    out: list[Case] = []
    for spec in ROUTES:
        out += rest_request_cases(spec)
        if spec.mutation:
            out += rest_body_cases(spec)
    return out
