"""A faster executor for the common case: plain fields read straight off the object.

graphql-core resolves every field through the same general machinery (resolve info, resolver,
awaitable checks, completion), several µs a field; a page of 25 leads is hundreds of fields.
For a field Strawberry itself would resolve with a bare `getattr` (no resolver, no arguments,
no field extensions) this executor computes what graphql-core would, without the machinery:
  - scalars and enums (or lists of them): the same `coerce_output_value`;
  - non-null objects (or non-null lists of non-null objects): their sub-selections, executed
    by this same executor (so relations resolved by DataLoaders below still batch).
Anything else, and any value that would be an error (a null where none is allowed, a failed
coercion, an object of the wrong type), takes the general path, so results and errors are the
same as the stock executor's.

It also leaves no reference cycle behind: graphql-core's context keeps its own bound methods in
`async_helpers`, so every request's context, loaders and rows stayed alive until the cyclic
collector ran (0.2-0.3 ms of collection a request, none on the REST list).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from hadar.graphql import presented

_GENERAL = object()  # "take graphql-core's general path for this field"


@dataclass(frozen=True)
class _Shape:
    attribute: str
    type_: Any  # the leaf type, or the object type
    is_object: bool
    non_null: bool
    is_list: bool
    items_non_null: bool


_shapes: dict[tuple[int, str], _Shape | None] = {}  # types live as long as the schema


def _shape(parent_type: GraphQLObjectType, field_name: str) -> _Shape | None:
    key = (id(parent_type), field_name)
    if key not in _shapes:
        field_def = parent_type.fields.get(field_name)
        backref = GraphQLCoreConverter.DEFINITION_BACKREF
        definition = field_def.extensions.get(backref) if field_def else None
        plain = (
            field_def is not None
            and not field_def.args
            and isinstance(definition, StrawberryField)
            and definition.is_basic_field
            and not definition.extensions
        )
        shape = _describe(definition.python_name, field_def.type) if plain else None  # type: ignore[union-attr]
        _shapes[key] = shape
    return _shapes[key]


def _describe(attribute: str, type_: GraphQLOutputType) -> _Shape | None:
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    is_list = isinstance(inner, GraphQLList)
    items_non_null = False
    if isinstance(inner, GraphQLList):
        items_non_null = isinstance(inner.of_type, GraphQLNonNull)
        inner = inner.of_type.of_type if items_non_null else inner.of_type
    if is_leaf_type(inner):
        return _Shape(attribute, inner, False, non_null, is_list, items_non_null)
    if isinstance(inner, GraphQLObjectType) and non_null and (items_non_null or not is_list):
        # Only non-null objects: a nullable one would turn a sub-field's error into null
        # here, which is the general path's job.
        return _Shape(attribute, inner, True, non_null, is_list, items_non_null)
    return None


def _leaf(leaf_type: Any, value: Any) -> Any:
    coerced = leaf_type.coerce_output_value(value)
    return _GENERAL if coerced is Undefined or coerced is None else coerced


_Leaf = tuple[str, str, Any, bool]  # response name, attribute, leaf type, non-null


def _leaf_plan(parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> list[_Leaf] | None:
    """The selection as plain leaves (no arguments, no lists), or None when any field is not."""
    plan: list[_Leaf] = []
    for name, details in grouped.items():
        node = details[0].node
        shape = None if node.arguments else _shape(parent_type, node.name.value)
        if shape is None or shape.is_object or shape.is_list:
            return None
        plan.append((name, shape.attribute, shape.type_, shape.non_null))
    return plan


class FastPathExecutionContext(StrawberryGraphQLCoreExecutionContext):
    _plans: dict[tuple[int, int], list[_Leaf] | None]
    _walks: dict[tuple[int, int], presented.Compiled | None]

    def __init__(self, *args: Any, walks: dict[Any, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A kept document's walks (hadar.graphql.documents), shared by its executions.
        self._kept_walks = walks
        # The same helpers resolvers see in `info.async_helpers`, without the cycle: gathering
        # needs no context, tracking reaches it weakly (it is alive while anything executes).
        context = weakref.ref(self)

        def track(values: Any) -> None:
            alive = context()
            if alive is not None:
                alive.track_async_work(values)

        self.async_helpers = GraphQLResolveInfoHelpers(gather=_gather, track=track)

    def _walk(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> Any:
        kept = self._kept_walks
        if kept is not None:
            # The document has no directive, so these nodes (kept alive with it) always
            # collect into the same selection: the walk compiled once serves every request.
            key: Any = (
                id(parent_type),
                tuple(
                    (name, *map(id, (d.node for d in details))) for name, details in grouped.items()
                ),
            )
            walks = kept
        else:
            walks = self.__dict__.get("_walks") or {}
            self._walks = walks
            key = (id(parent_type), id(grouped))  # stable for the request, as in _leaves
        if key not in walks:
            walks[key] = presented.compile_selection(
                parent_type, grouped, _shape, self._plain_subfields
            )
        return walks[key]

    def _plain_subfields(
        self, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> GroupedFieldSet | None:
        grouped, defers, _forbidden = self.collect_subfields(object_type, details)
        return None if defers else grouped

    def _leaves(self, parent_type: GraphQLObjectType, grouped: GroupedFieldSet) -> Any:
        # Per execution: graphql-core memoises each sub-selection's GroupedFieldSet for the
        # whole request (and keeps it alive), so its id is stable for every item of a list.
        plans = self.__dict__.get("_plans")
        if plans is None:
            plans = self._plans = {}
        key = (id(parent_type), id(grouped))
        if key not in plans:
            plans[key] = _leaf_plan(parent_type, grouped)
        return plans[key]

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:  # an extension wraps every resolver
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        body = getattr(source_value, presented.PRESENTED, None)
        if isinstance(body, dict):
            compiled = self._walk(parent_type, grouped_field_set)
            if compiled is not None:
                answer = presented.walk(compiled, body)
                if answer is not presented.GENERAL:
                    return answer  # type: ignore[no-any-return]
        leaves = self._leaves(parent_type, grouped_field_set)
        if leaves is not None:
            # An object of only plain leaves (a list's row): one loop, no Path, no per-field
            # shape lookup; any value the general path must judge sends the whole object there.
            row: dict[str, Any] = {}
            for name, attribute, leaf_type, non_null in leaves:
                value = getattr(source_value, attribute, Undefined)
                if value is None and not non_null:
                    row[name] = None
                    continue
                missing = value is None or value is Undefined
                coerced = _GENERAL if missing else _leaf(leaf_type, value)
                if coerced is _GENERAL:
                    break
                row[name] = coerced
            else:
                return row
        quick: dict[str, Any] = {}
        pending: list[str] = []
        rest: GroupedFieldSet = {}
        for name, details in grouped_field_set.items():
            node = details[0].node
            shape = None if node.arguments else _shape(parent_type, node.name.value)
            value = _GENERAL
            if shape is not None:
                value = self._value(
                    shape, source_value, details, Path(path, name, parent_type.name)
                )
            if value is _GENERAL:
                rest[name] = details
                continue
            quick[name] = value
            if self.is_awaitable(value):
                pending.append(name)
        general = (
            super().execute_fields(parent_type, source_value, path, rest, position_context)
            if rest
            else {}
        )
        if not pending and not self.is_awaitable(general):
            return _ordered(grouped_field_set, quick, general)  # type: ignore[arg-type]

        async def settle() -> dict[str, Any]:
            done = await gather_with_cancel(*(quick[n] for n in pending))
            quick.update(zip(pending, done, strict=True))
            resolved = await general if self.is_awaitable(general) else general  # type: ignore[misc]
            return _ordered(grouped_field_set, quick, resolved)  # type: ignore[arg-type]

        return settle()

    def _value(self, shape: _Shape, source: Any, details: FieldDetailsList, path: Path) -> Any:
        value: Any = getattr(source, shape.attribute, Undefined)
        if value is Undefined:
            return _GENERAL
        if value is None:
            return _GENERAL if shape.non_null else None
        items: list[Any] = value if shape.is_list else [value]
        if shape.is_list and not isinstance(value, list):
            return _GENERAL
        # Decide before executing anything, so a fallback never leaves work half-started.
        if shape.is_object and not all(_is_instance(shape.type_, item) for item in items):
            return _GENERAL
        if not shape.is_object:
            out: list[Any] = []
            for item in items:
                if item is None and not shape.items_non_null:
                    out.append(None)
                    continue
                coerced = _GENERAL if item is None else _leaf(shape.type_, item)
                if coerced is _GENERAL:
                    return _GENERAL
                out.append(coerced)
            return out if shape.is_list else out[0]
        grouped, defers, _forbidden = self.collect_subfields(shape.type_, details)

        def run(at: Path, item: Any) -> AwaitableOrValue[dict[str, Any]]:
            if defers:  # @defer: graphql-core's incremental delivery does the bookkeeping
                return self.collect_and_execute_subfields(shape.type_, details, at, item, None)
            # What execute_collected_subfields does without @defer, minus two calls an item.
            return self.execute_fields(shape.type_, item, at, grouped, None)

        if not shape.is_list:
            return run(path, value)
        done: list[Any] = [run(Path(path, index, None), item) for index, item in enumerate(items)]
        waiting = [i for i, v in enumerate(done) if self.is_awaitable(v)]
        if not waiting:
            return done

        async def settle() -> list[Any]:
            results = await gather_with_cancel(*(done[i] for i in waiting))
            for i, result in zip(waiting, results, strict=True):
                done[i] = result
            return done

        return settle()


def _gather(values: Any) -> Any:
    return gather_with_cancel(*values)  # what ExecutionContext.gather_async_work does


def _is_instance(object_type: GraphQLObjectType, value: Any) -> bool:
    """graphql-core's is_type_of check (Strawberry's is a synchronous isinstance test that
    ignores `info`); objects in a list must be non-null here."""
    if value is None:
        return False
    is_type_of: Any = object_type.is_type_of
    return is_type_of is None or is_type_of(value, None) is True


def _ordered(
    order: GroupedFieldSet, quick: dict[str, Any], general: dict[str, Any]
) -> dict[str, Any]:
    if not general:
        return quick
    both = {**quick, **general}
    return {name: both[name] for name in order if name in both}
