"""Custom scalars: DateTime (the API's ISO 8601 UTC with milliseconds and Z) and JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from hadar import clock

DateTime = NewType("DateTime", str)
JSON = NewType("JSON", object)
BigInt = NewType("BigInt", int)


def _serialize_datetime(value: Any) -> str:
    return clock.isoformat(value) if isinstance(value, datetime) else str(value)


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string")
    try:
        return clock.as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise ValueError("DateTime must be an ISO 8601 date-time") from None


def _parse_bigint(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("BigInt must be an integer")
    return value


# Serializers that return a value of this Python type as it is (a DateTime already presented
# as its ISO string, a BigInt already an int): the compiled walk (hadar.graphql.presented)
# answers such a value without calling them.
UNCHANGED: dict[Any, type] = {_serialize_datetime: str, int: int}

SCALARS: dict[object, ScalarDefinition] = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description="ISO 8601 date-time; output is UTC with milliseconds and Z "
        "(2026-05-15T08:42:11.103Z), input accepts any offset.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
    BigInt: strawberry.scalar(
        name="BigInt",
        description="An integer beyond GraphQL Int's 32 bits (whole dirhams, e.g. budget_aed).",
        serialize=int,
        parse_value=_parse_bigint,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description="An arbitrary JSON value.",
        serialize=lambda v: v,
        parse_value=lambda v: v,
    ),
}
