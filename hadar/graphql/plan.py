"""What a GraphQL request will do, read from its document before anything runs: whether it
mutates (so it goes through idempotency) and whether it touches a fail-closed resource (API
keys: refused with 503 when the shared rate-limit store is down, exactly like REST)."""

from __future__ import annotations

from dataclasses import dataclass
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

from hadar.graphql.limits import MAX_TOKENS

FAIL_CLOSED_FIELDS = frozenset({"apiKeys", "createApiKey", "revokeApiKey"})
_CACHEABLE = 10_000  # longer documents are planned afresh, so the cache stays small


@dataclass(frozen=True)
class Plan:
    mutation: bool = False
    fail_closed: bool = False


UNKNOWN = Plan()


def plan_of(payload: Any) -> Plan:
    """The plan of a request payload; UNKNOWN when it is not one operation we can read (the
    executor then answers with the precise error)."""
    if not isinstance(payload, dict):
        return UNKNOWN
    query, name = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        return UNKNOWN
    if len(query) > _CACHEABLE:
        return _plan(query, name)
    return _cached_plan(query, name)


def _plan(query: str, operation_name: str | None) -> Plan:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return UNKNOWN
    operation = _operation(document, operation_name)
    if operation is None:
        return UNKNOWN
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    roots = _root_fields(operation.selection_set, fragments, set())
    return Plan(
        mutation=operation.operation == OperationType.MUTATION,
        fail_closed=not roots.isdisjoint(FAIL_CLOSED_FIELDS),
    )


_cached_plan = lru_cache(maxsize=512)(_plan)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def _root_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> set[str]:
    names: set[str] = set()
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            names |= _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in seen:
                seen.add(fragment.name.value)
                names |= _root_fields(fragment.selection_set, fragments, seen)
    return names
