"""Building blocks of the output models every resource declares beside its service.

An output model is the one declaration of a resource's public shape: the OpenAPI document
renders it, the GraphQL schema derives its object type from it (hadar.graphql.derive), and
tests/api/test_openapi.py checks real answers of every route against the document. Markers
below tell those readers what plain pydantic types cannot say (a 64-bit integer, an id, a
timestamp).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

import pydantic

from hadar.pagination import MAX_LIMIT


class Marker:
    """Annotated metadata naming a GraphQL scalar for a field (read by hadar.graphql.derive)."""

    def __init__(self, scalar: str) -> None:
        self.scalar = scalar

    def __repr__(self) -> str:
        return f"Marker({self.scalar!r})"


BIGINT = Marker("BigInt")
DATETIME = Marker("DateTime")
ID = Marker("ID")
JSON = Marker("JSON")

Timestamp = Annotated[
    str,
    pydantic.Field(
        pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
        examples=["2026-05-15T08:42:11.103Z"],
        json_schema_extra={
            "format": "date-time",
            "description": "ISO 8601 UTC with milliseconds and Z.",
        },
    ),
    DATETIME,
]
Json = Annotated[Any, JSON]


class Out(pydantic.BaseModel):
    """Base of output models: `extra="forbid"` makes every field a promise (schemathesis and
    the presenter tests fail when a presenter and its model drift apart)."""

    model_config = pydantic.ConfigDict(extra="forbid")


@cache
def id_of(prefix: str) -> Any:
    """An id field: `prefix_` + a ULID."""
    return Annotated[
        str,
        pydantic.Field(
            pattern=f"^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$",
            examples=[f"{prefix}_01HMNZ8G7Q3V5X2T4R6Y9W0K1B"],
        ),
        ID,
    ]


class PaginationOut(Out):
    next_cursor: str | None = pydantic.Field(description="null when has_more is false")
    has_more: bool
    limit: int = pydantic.Field(ge=1, le=MAX_LIMIT)


@cache
def list_of(model: type[Out]) -> type[Out]:
    """The `data` of a list answer: `{items: [model], pagination}`."""
    name = model.__name__.removesuffix("Out") + "ListOut"
    return pydantic.create_model(  # type: ignore[no-any-return, call-overload]
        name,
        __base__=Out,
        items=(list[model], ...),  # type: ignore[valid-type]
        pagination=(PaginationOut, ...),
    )


@cache
def deleted(prefix: str, object_name: str) -> type[Out]:
    """The `data` of a DELETE: `{id, object, deleted: true}`."""
    name = "".join(part.title() for part in object_name.split("_")) + "DeletedOut"
    return pydantic.create_model(  # type: ignore[no-any-return, call-overload]
        name,
        __base__=Out,
        id=(id_of(prefix), ...),
        object=(Literal[object_name], ...),  # type: ignore[valid-type, arg-type]
        deleted=(Literal[True], ...),
    )


def schema_name(model: type[pydantic.BaseModel]) -> str:
    """The public name of a model in OpenAPI and GraphQL: its class name without `Out`."""
    return model.__name__.removesuffix("Out")
