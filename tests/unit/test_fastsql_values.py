"""The hot paths' hand-written INSERTs convert every column exactly as the ORM's save() does:
the same stored value for every kind of input, or the same error."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise import Tortoise

from hadar.platform.fastsql import _converters, _insert_sql

SAMPLES: list[Any] = [
    None,
    "",
    "lead_01HZX",
    "x" * 41,
    "y" * 2049,
    0,
    7,
    -(2**40),
    True,
    1.5,
    Decimal("2.50"),
    datetime(2026, 12, 2, 8, 30, tzinfo=UTC),
    {"whatsapp": True},
    ["bayut"],
    b"body",
]


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "value", call()
    except Exception as exc:  # the same error type and text as the ORM's
        return type(exc).__name__, str(exc)


def test_every_column_of_every_model_converts_as_the_orm_does() -> None:
    checked = 0
    for model in Tortoise.apps["hadar"].values():  # initialised by the session's database
        _, columns = _insert_sql(model, False, False)
        fields = model._meta.fields_map
        for column, convert in zip(columns, _converters(model, columns), strict=True):
            limit = getattr(fields[column], "max_length", None)
            edges = ["z" * limit, "z" * (limit + 1)] if isinstance(limit, int) else []
            for sample in [*SAMPLES, *edges]:
                ours = _outcome(lambda: convert(sample))  # noqa: B023
                orm = _outcome(lambda: fields[column].to_db_value(sample, model))  # noqa: B023
                assert ours == orm, (model.__name__, column, sample)
                checked += 1
    assert len(Tortoise.apps["hadar"]) > 10 and checked > 1000  # every model took part
