"""Documents parsed and validated once per query text, for the life of the process.

Parsing and validation depend only on the text and the schema (never on variables, the caller
or the operation name), so a document that parsed and passed every rule (hadar.graphql.schema
RULES) is kept, bounded, and executed again without either step. Only such documents are kept:
one that does not parse or breaks a rule is answered by Strawberry's own path each time it is
sent (with its own caches), so its errors are exactly what they always were. The cost budget
(hadar.graphql.limits) is not checked here: the planner refuses a document past it on every
sending, before anything executes.

A kept document also carries the compiled walks of its selections (hadar.graphql.presented)
when it uses no directive: its selections then collect the same way on every execution, so the
walk compiled for one request serves the next. Their keys name the document's own nodes, which
the entry keeps alive, so an evicted document takes its walks with it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import DirectiveNode, DocumentNode, GraphQLError, GraphQLSchema, Node, parse
from graphql.language import Visitor, visit
from graphql.validation import ASTValidationRule
from strawberry.schema.schema import validate_document

MAX_DOCUMENTS = 256  # distinct texts kept; the least recently used goes first
MAX_TEXT = 10_000  # longer texts are never kept (the planner's own cache bound)


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    plain: bool  # no directive anywhere: every execution collects the same selections
    walks: dict[Any, Any] = field(default_factory=dict)  # hadar.graphql.execution's


class Documents:
    """A bounded cache of the valid documents of one schema under one set of rules."""

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: tuple[type[ASTValidationRule], ...],
        maxsize: int = MAX_DOCUMENTS,
    ) -> None:
        self.schema = schema
        self.rules = rules
        self.maxsize = maxsize
        self._kept: OrderedDict[str, Prepared] = OrderedDict()
        self._refused: OrderedDict[str, None] = OrderedDict()  # texts the stock path answers

    def __len__(self) -> int:
        return len(self._kept)

    def prepared(self, query: Any) -> Prepared | None:
        """The valid document of `query`, or None when the stock path must answer it (not a
        string, too long, does not parse, breaks a validation rule)."""
        if not isinstance(query, str) or len(query) > MAX_TEXT:
            return None
        found = self._kept.get(query)
        if found is not None:
            self._kept.move_to_end(query)
            return found
        if query in self._refused:
            return None
        made = self._prepare(query)
        kept: OrderedDict[str, Any] = self._refused if made is None else self._kept
        kept[query] = made
        if len(kept) > self.maxsize:
            kept.popitem(last=False)
        return made

    def _prepare(self, query: str) -> Prepared | None:
        try:
            document = parse(query)
        except (GraphQLError, RecursionError):
            return None
        try:
            # Strawberry's validation: these rules plus its own (Maybe nulls, @oneOf inputs).
            errors = validate_document(self.schema, document, self.rules)
        except RecursionError:
            return None
        if errors:
            return None
        return Prepared(document=document, plain=not _has_directive(document))


class _Directives(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
        self.found = True
        return self.BREAK


def _has_directive(document: Node) -> bool:
    seen = _Directives()
    visit(document, seen)
    return seen.found
