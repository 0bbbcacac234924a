"""The schema: Query and Mutation merged from the feature modules, the validation rules (the
linear merge rule in place of graphql-core's quadratic one), the parse/validation caches, and
the SDL export that `schema/schema.graphql` is generated from (a test fails when it drifts).

A document already parsed and validated (hadar.graphql.documents) is executed straight by
graphql-core, as Strawberry's own path would after its extensions ran: those extensions only
choose the rules and cache parsing and validation, which the kept document has done once.
Anything else (a new, invalid or unparsable text, an operation the caller may not send)
takes Strawberry's path, so every answer, error and log line is the one it always was."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import strawberry
from graphql import ExecutionResult as CoreResult
from graphql import GraphQLError, MiddlewareManager, execute, specified_rules
from graphql.validation import OverlappingFieldsCanBeMergedRule
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe
from strawberry.utils.operation import get_first_operation, get_operation_type

from hadar.discovery import declaring, modules
from hadar.domain.scope import Operation
from hadar.graphql.documents import Documents
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
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = Documents(self._schema, RULES)
        # Kept documents skip the extensions, so only while they are the ones standing for
        # what the kept document already did: an extension added later turns this off.
        self.direct = all(isinstance(e, _STOOD_FOR) for e in self.get_extensions())

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        prepared = self.documents.prepared(query) if self.direct else None
        name = operation_name
        if prepared is not None and name is None:
            # As Strawberry: the first operation's name when the caller names none.
            first = get_first_operation(prepared.document)
            name = first.name.value if first and first.name else None
        kind = _operation_type(prepared.document, name) if prepared else None
        allowed = allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES
        if prepared is None or kind is None or kind not in allowed:
            return await super().execute(
                query,
                variable_values=variable_values,
                context_value=context_value,
                root_value=root_value,
                operation_name=operation_name,
                allowed_operation_types=allowed_operation_types,
                operation_extensions=operation_extensions,
            )
        # What Strawberry's _execute_operation and _handle_execution_result do for a valid
        # document when no extension wraps resolvers or adds results.
        try:
            result: CoreResult = await await_maybe(
                execute(
                    self._schema,
                    prepared.document,
                    root_value=root_value,
                    middleware=MiddlewareManager(),
                    variable_values=variable_values,
                    operation_name=name,
                    context_value=context_value,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                    executor_class=self.execution_context_class,
                    operation_extensions=operation_extensions,
                    walks=prepared.walks if prepared.plain else None,
                )
            )
        except Exception as exc:  # as Strawberry: an error of the whole answer, data null
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            self._process_errors([error])
            return ExecutionResult(data=None, errors=[error], extensions={})
        if result.errors:
            self._process_errors(result.errors)
        return ExecutionResult(data=result.data, errors=result.errors, extensions={})


def _operation_type(document: Any, name: str | None) -> OperationType | None:
    try:
        return get_operation_type(document, name)
    except RuntimeError:  # no such operation: Strawberry's path says so
        return None


_STOOD_FOR = (HadarRules, ParserCache, ValidationCache)


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
