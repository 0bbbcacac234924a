"""The schema: Query and Mutation merged from the feature modules, the validation rules (the
linear merge rule in place of graphql-core's quadratic one), the parse/validation caches, and
the SDL export that `schema/schema.graphql` is generated from (a test fails when it drifts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError, specified_rules
from graphql.validation import OverlappingFieldsCanBeMergedRule
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from hadar.discovery import declaring, modules
from hadar.domain.scope import Operation
from hadar.graphql.errors import log_unexpected
from hadar.graphql.execution import FastPathExecutionContext
from hadar.graphql.merge import MergedFieldsRule
from hadar.graphql.scalars import SCALARS
from hadar.graphql.types import OPERATION

SDL_PATH = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"
# Every module of hadar.graphql with a Query or Mutation of its own, merged in name order.
READERS = frozenset({"schema", "view"})  # they import the schema this module builds
FEATURES = tuple(
    m for m in modules("hadar.graphql", skip=READERS) if "Query" in vars(m) or "Mutation" in vars(m)
)
RULES = tuple(
    MergedFieldsRule if rule is OverlappingFieldsCanBeMergedRule else rule
    for rule in specified_rules
)


class HadarRules(SchemaExtension):
    """Validate with RULES (one tuple for the process, so ValidationCache hits)."""

    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = RULES
        yield


class HadarSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def _merged(kind: str) -> Any:
    parts = tuple(getattr(f, kind) for f in FEATURES if hasattr(f, kind))
    return merge_types(kind, parts)


def _types() -> list[Any]:
    """Types reached only through the Node interface: each feature's node kinds and TYPES."""
    found = [
        kind.type for m in declaring("hadar.graphql", "NODES", skip=READERS) for kind in m.NODES
    ]
    return found + [t for m in declaring("hadar.graphql", "TYPES", skip=READERS) for t in m.TYPES]


def _extensions() -> list[Any]:
    # Factories, so no extension instance is shared between concurrent requests.
    return [
        HadarRules,
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]


def build_schema() -> HadarSchema:
    return HadarSchema(
        query=_merged("Query"),
        mutation=_merged("Mutation"),
        types=_types(),
        extensions=_extensions(),
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=FastPathExecutionContext,
    )


schema = build_schema()


def root_operations() -> dict[tuple[str, str], Operation]:
    """(query|mutation, GraphQL root field name) -> the Operation it performs."""
    out: dict[tuple[str, str], Operation] = {}
    core = schema._schema
    for kind, root in (("query", core.query_type), ("mutation", core.mutation_type)):
        for name, field_def in (root.fields if root else {}).items():
            definition = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            op = (definition.metadata or {}).get(OPERATION) if definition else None
            if op is not None:
                out[(kind, name)] = op
    return out


def export_sdl() -> str:
    """The schema in SDL, as committed in schema/schema.graphql."""
    return schema.as_str() + "\n"


def write_sdl(path: Path = SDL_PATH) -> None:
    path.write_text(export_sdl(), encoding="utf-8")


if __name__ == "__main__":
    write_sdl()
