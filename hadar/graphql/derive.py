"""GraphQL types derived from the services' pydantic models: a resource's fields are declared
once, in its output and input models, and the schema follows them.

    object_type(LeadOut)          -> type Lead { id: ID!, name: String!, … }
    input_type(LeadCreate, "LeadCreateInput")
                                  -> input LeadCreateInput { name: String!, phone: String, … }

Scalars come from the markers in hadar.services.models (BigInt, DateTime, ID, JSON); literals
are strings; nested models become nested types; the REST-only `object` field is left out.
Inputs default every optional field to UNSET, so `as_body` rebuilds exactly the REST body.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

import pydantic
import strawberry
from strawberry import UNSET

from hadar.graphql.scalars import JSON, BigInt, DateTime
from hadar.services.models import Marker, schema_name

Convert = Callable[[Any], Any]
_SCALARS: dict[str, Any] = {
    "BigInt": BigInt,
    "DateTime": DateTime,
    "ID": strawberry.ID,
    "JSON": JSON,
}
_PLAIN = {str: str, int: int, bool: bool, float: float}
_objects: dict[type[pydantic.BaseModel], type] = {}
_inputs: dict[tuple[type[pydantic.BaseModel], str], type] = {}
SKIP = frozenset({"object"})


def _same(value: Any) -> Any:
    return value


def _translate(annotation: Any, *, output: bool) -> tuple[Any, Convert]:
    """(the Strawberry annotation for `annotation`, how to convert a presenter's value)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        marker = next((e for e in extras if isinstance(e, Marker)), None)
        if marker is not None:
            return _SCALARS[marker.scalar], _same
        return _translate(base, output=output)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner, convert = _translate(options[0], output=output)
        if len(options) != len(typing.get_args(annotation)):
            return inner | None, lambda v: None if v is None else convert(v)
        return inner, convert
    if origin is typing.Literal:
        return str, _same
    if origin is list:
        (item,) = typing.get_args(annotation)
        inner, convert = _translate(item, output=output)
        return list[inner], lambda v: [convert(i) for i in v]  # type: ignore[valid-type]
    if origin is dict or annotation is dict or annotation is typing.Any:
        return JSON, _same
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if output:
            built = object_type(annotation)
            return built, built.from_dict  # type: ignore[attr-defined]
        nested = input_type(annotation, schema_name(annotation).removesuffix("In") + "Input")
        return nested, _same
    if annotation in _PLAIN:
        return _PLAIN[annotation], _same
    raise TypeError(f"no GraphQL type for {annotation!r}")


def _description(model: type[pydantic.BaseModel]) -> str | None:
    doc = model.__doc__
    if not doc or doc == pydantic.BaseModel.__doc__ or model.__module__.startswith("pydantic"):
        return None
    return " ".join(doc.split())


def object_type(
    model: type[pydantic.BaseModel],
    *,
    interfaces: tuple[type, ...] = (),
    name: str | None = None,
    relations: dict[str, Any] | None = None,
) -> type:
    """The GraphQL object type of an output model (built once per model). `relations` adds
    resolver fields (`strawberry.field(resolver=…)`) for what the model does not carry: a
    lead's matches, a booking's property, resolved through the per-request loaders."""
    if model in _objects:
        return _objects[model]
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__annotations__": annotations,
        **(relations or {}),
    }
    converters: dict[str, Convert] = {}
    for field_name, info in model.model_fields.items():
        if field_name in SKIP:
            continue
        annotation, convert = _translate(_annotation(info), output=True)
        annotations[field_name] = annotation
        converters[field_name] = convert
        if info.description:
            namespace[field_name] = strawberry.field(description=info.description)
    cls = types.new_class(
        name or schema_name(model), interfaces, {}, lambda ns: ns.update(namespace)
    )
    built = strawberry.type(cls, description=_description(model))

    def from_dict(data: dict[str, Any]) -> Any:
        return built(**{k: convert(data[k]) for k, convert in converters.items()})

    built.from_dict = staticmethod(from_dict)  # type: ignore[attr-defined]
    _objects[model] = built
    return built


def input_type(model: type[pydantic.BaseModel], name: str, *, optional: bool = False) -> type:
    """The GraphQL input type of an input model; every field not required is UNSET by
    default (`optional`: all of them, as for an update)."""
    key = (model, name)
    if key in _inputs:
        return _inputs[key]
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__, "__annotations__": annotations}
    for field_name, info in model.model_fields.items():
        annotation, _ = _translate(_annotation(info), output=False)
        required = info.is_required() and not optional
        annotations[field_name] = annotation if required else annotation | None
        if not required:
            namespace[field_name] = strawberry.field(default=UNSET, description=info.description)
        elif info.description:
            namespace[field_name] = strawberry.field(description=info.description)
    cls = types.new_class(name, (), {}, lambda ns: ns.update(namespace))
    built = strawberry.input(cls, description=_description(model))
    _inputs[key] = built
    return built


def _annotation(info: Any) -> Any:
    """A field's annotation with the markers pydantic lifted into `metadata` put back."""
    markers = [m for m in info.metadata if isinstance(m, Marker)]
    if markers:
        return typing.Annotated[info.annotation, markers[0]]
    return info.annotation


def as_body(value: Any) -> Any:
    """The REST-body equivalent of an input object: a dict of the fields that were given."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        if isinstance(value, list):
            return [as_body(v) for v in value]
        return value
    return {
        f.name: as_body(getattr(value, f.name))
        for f in dataclasses.fields(value)
        if getattr(value, f.name) is not UNSET
    }
