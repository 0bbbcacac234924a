"""What a GraphQL document may cost, measured in one pass over it before anything else runs.

Every fragment's cost is computed once (memoised), so measuring is linear in the document even
when fragments spread into fragments: `fragment L1 { ...L0 ...L0 } … fragment L30 { ...L29
...L29 }` is measured in 31 steps and refused because, expanded, it would select 2^30 fields.
A document within these limits is then validated by graphql-core's rules, with its quadratic
OverlappingFieldsCanBeMerged replaced by the linear `MergedFieldsRule` (hadar.graphql.merge).

The budget (README "GraphQL cost budget"):
    MAX_TOKENS       2,000 lexical tokens per document (refused while parsing)
    MAX_DEPTH        10 levels of selection (introspection fields excluded)
    MAX_ALIASES      30 aliases, fragments expanded
    MAX_FIELDS       300 selected fields, fragments expanded (introspection excluded)
    MAX_ROOT_FIELDS  30 root fields per operation; each costs one request of the key's
                     per-minute budget, and the whole document is refused with 429 when
                     they exceed what is left
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_TOKENS = 2_000
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_FIELDS = 300
MAX_ROOT_FIELDS = 30
_CAP = 10**9  # counts saturate here, so a fan-out never builds huge integers


@dataclass(frozen=True)
class Cost:
    depth: int = 0
    aliases: int = 0
    fields: int = 0
    roots: int = 0  # fields at the top of this selection set, fragments expanded

    def problem(self) -> str | None:
        """Why a document of this cost is refused, or None when it is within the budget."""
        if self.depth > MAX_DEPTH:
            return f"the document exceeds maximum operation depth of {MAX_DEPTH} ({self.depth})"
        if self.aliases > MAX_ALIASES:
            return f"the document uses {self.aliases} aliases; the maximum is {MAX_ALIASES}"
        if self.fields > MAX_FIELDS:
            shown = f"{self.fields:,}" if self.fields < _CAP else f"more than {_CAP:,}"
            return (
                f"the document selects {shown} fields once its fragments are expanded; "
                f"the maximum is {MAX_FIELDS:,}"
            )
        if self.roots > MAX_ROOT_FIELDS:
            return f"the operation has {self.roots} root fields; the maximum is {MAX_ROOT_FIELDS}"
        return None


def _add(a: int, b: int) -> int:
    return min(_CAP, a + b)


class _Meter:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, Cost] = {}
        self.active: set[str] = set()  # fragments being measured: a cycle (refused elsewhere)

    def fragment(self, name: str) -> Cost:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return Cost()  # unknown or cyclic: KnownFragmentNames / NoFragmentCycles refuse it
        self.active.add(name)
        cost = self.selection_set(definition.selection_set)
        self.active.discard(name)
        self.memo[name] = cost
        return cost

    def selection_set(self, node: SelectionSetNode) -> Cost:
        depth = aliases = fields = roots = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                sub = Cost()
                introspection = selection.name.value.startswith("__")
                if selection.selection_set is not None and not introspection:
                    sub = self.selection_set(selection.selection_set)
                depth = max(depth, 1 + sub.depth)
                aliases = _add(aliases, _add(int(selection.alias is not None), sub.aliases))
                fields = _add(fields, _add(1, sub.fields))
                roots = _add(roots, 1)
                continue
            if isinstance(selection, InlineFragmentNode):
                sub = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                sub = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            depth = max(depth, sub.depth)
            aliases = _add(aliases, sub.aliases)
            fields = _add(fields, sub.fields)
            roots = _add(roots, sub.roots)
        return Cost(depth=depth, aliases=aliases, fields=fields, roots=roots)


def measure(document: DocumentNode, operation: OperationDefinitionNode) -> Cost:
    """The cost of running `operation` of `document` (linear in the document's size)."""
    return _Meter(document).selection_set(operation.selection_set)
