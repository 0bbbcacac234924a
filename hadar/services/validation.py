"""Input validation with pydantic, reported as one ValidationError with a dotted field path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

import pydantic

from hadar import clock
from hadar.errors import ValidationError
from hadar.pagination import DEFAULT_LIMIT, MAX_LIMIT

M = TypeVar("M", bound=pydantic.BaseModel)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


class _NoNul(pydantic.BaseModel):
    @pydantic.field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # No database column may store NUL (PostgreSQL refuses it outright): refused on input,
        # naming the field, whichever surface it came through.
        if _holds_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class Strict(_NoNul):
    """Base for inputs: unknown fields rejected, no silent type coercion, no NUL."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class Query(_NoNul):
    """Base for query-parameter models: unknown parameters refused, text converted (lax)."""

    model_config = pydantic.ConfigDict(extra="forbid")


def _utc(value: datetime) -> datetime:
    return clock.as_utc(value)


def _offset_plus(value: Any) -> Any:
    # An unencoded `+` of a query string's offset arrives as a space: 10:00:00 04:00.
    if isinstance(value, str) and len(value) > 19 and value[-6] == " ":
        return value[:-6] + "+" + value[-5:]
    return value


UtcDatetime = Annotated[
    datetime,
    pydantic.BeforeValidator(_offset_plus),
    pydantic.AfterValidator(_utc),
    pydantic.Field(description="ISO 8601; any offset, none means UTC."),
]


class PageQuery(Query):
    """The parameters every list takes."""

    limit: int | None = pydantic.Field(
        default=None,
        ge=1,
        le=MAX_LIMIT,
        description=f"Page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    )
    cursor: str | None = pydantic.Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Opaque cursor from `pagination.next_cursor` of the same list.",
    )


def field_path(root: str, loc: tuple[int | str, ...]) -> str:
    """('line_items', 0, 'quantity') under 'invoice' -> 'invoice.line_items[0].quantity'."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _phrase(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    phrases = {
        "missing": "is required",
        "extra_forbidden": "is not a recognised field",
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "bool_type": "must be a boolean",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "list_type": "must be a list",
        "string_too_short": f"must be at least {ctx.get('min_length')} characters",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
        "too_short": f"must have at least {ctx.get('min_length')} items",
        "too_long": f"must have at most {ctx.get('max_length')} items",
        "greater_than_equal": f"must be greater than or equal to {ctx.get('ge')}",
        "less_than_equal": f"must be less than or equal to {ctx.get('le')}",
        "greater_than": f"must be greater than {ctx.get('gt')}",
        "literal_error": f"must be one of {ctx.get('expected')}",
        "string_pattern_mismatch": "has an invalid format",
        "datetime_type": "must be an ISO 8601 date-time",
        "datetime_parsing": "must be an ISO 8601 date-time",
        "datetime_from_date_parsing": "must be an ISO 8601 date-time",
        "date_type": "must be an ISO 8601 date",
        "date_parsing": "must be an ISO 8601 date",
        "date_from_datetime_parsing": "must be an ISO 8601 date",
        "int_from_float": "must be an integer",
        "int_parsing": "must be an integer",
        "url_parsing": "must be a valid URL",
        "url_scheme": "must be a valid URL",
    }
    if kind == "value_error":
        return str(ctx.get("error", "is invalid"))
    return phrases.get(kind, "is invalid")


def parse(model: type[M], data: Any, *, root: str) -> M:
    """Validate `data` against `model`; raise ValidationError naming the first bad field."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"{root} must be a JSON object", field=root)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = field_path(root, tuple(first["loc"]))
        raise ValidationError(f"{path} {_phrase(first)}", field=path) from None


def parse_query(model: type[M], items: Sequence[tuple[str, str]]) -> M:
    """Query parameters as `model`: unknown or repeated ones refused, each error naming the
    parameter."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in values:
            raise ValidationError(f"{name} may be given only once", field=name)
        if "\x00" in value or "\x00" in name:
            raise ValidationError(f"{name} must not contain NUL characters", field=name)
        values[name] = value
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = field_path("", tuple(first["loc"]))
        if first["type"] == "extra_forbidden":
            raise ValidationError(
                f"{path} is not a recognised query parameter", field=path
            ) from None
        raise ValidationError(f"{path} {_phrase(first)}", field=path) from None
