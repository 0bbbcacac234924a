"""What a GraphQL request will do, read from its document before anything runs: which declared
Operations its root fields perform (role rules, fail-closed, shown-once fields), whether it
mutates, what it costs (one unit per root field) and whether it is within the cost budget
(hadar.graphql.limits). Planning parses the document once and measures it in linear time."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)

from hadar.domain.scope import Operation
from hadar.errors import ValidationError
from hadar.graphql.errors import DocumentError
from hadar.graphql.limits import MAX_TOKENS, measure
from hadar.platform.pipeline import Plan

_CACHEABLE = 10_000  # longer documents are planned afresh, so the cache stays small
Operations = dict[tuple[str, str], Operation]


def planner(operations: Operations) -> Callable[[str, Any], Plan]:
    """plan(method, payload) for a schema whose root fields perform `operations`."""

    def plan_document(query: str, name: str | None, method: str) -> Plan:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as err:
            return Plan(error=DocumentError(err.message))
        except RecursionError:
            return Plan(error=DocumentError("the document nests too deeply"))
        operation = _operation(document, name)
        if operation is None:
            return Plan()  # the executor answers with graphql-core's precise message
        mutation = operation.operation == OperationType.MUTATION
        if mutation and method != "POST":
            return Plan(error=ValidationError("mutations must be sent with POST", field="body"))
        try:
            cost = measure(document, operation)
        except RecursionError:
            return Plan(error=DocumentError("the document nests too deeply"))
        kind = "mutation" if mutation else "query"
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        names = _root_fields(operation.selection_set, fragments, set())
        ops = tuple(dict.fromkeys(operations[(kind, n)] for n in names if (kind, n) in operations))
        problem = cost.problem()
        return Plan(
            operations=ops,
            mutation=mutation,
            cost=max(1, min(cost.roots, 1000)),
            error=DocumentError(problem) if problem else None,
        )

    cached = lru_cache(maxsize=512)(plan_document)

    def plan(method: str, payload: Any) -> Plan:
        if not isinstance(payload, dict):
            return Plan()
        query, name = payload.get("query"), payload.get("operationName")
        if not isinstance(query, str) or not (name is None or isinstance(name, str)):
            return Plan()  # the executor reports the missing or malformed query
        if len(query) > _CACHEABLE:
            return plan_document(query, name, method)
        return cached(query, name, method)

    return plan


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation that will run: the one named, else the only one, else the first when it
    has a name (Strawberry then runs it); None when nothing runs (graphql-core refuses)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        alone = len(operations) == 1
        return operations[0] if alone or (operations and operations[0].name) else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def _root_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> list[str]:
    names: list[str] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in seen:
                seen.add(fragment.name.value)
                names += _root_fields(fragment.selection_set, fragments, seen)
    return names
