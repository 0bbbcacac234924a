"""Shapes every feature module shares: the Node interface, Relay connections over a service
page, the deleted marker and the field declaration that names an Operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry

from hadar.domain.scope import Operation, Resource
from hadar.pagination import Page

T = TypeVar("T")
OPERATION = "hadar_operation"  # field metadata key: the Operation a root field performs


def query(op: Operation, description: str) -> Any:
    """A Query field that performs `op` (the plan reads its role rule and fail-closed-ness)."""
    return strawberry.field(description=description, metadata={OPERATION: op})


def mutation(op: Operation, description: str) -> Any:
    """A Mutation field that performs `op` (the same declaration as its REST twin)."""
    return strawberry.mutation(description=description, metadata={OPERATION: op})


@strawberry.interface(description="An object with a prefixed, globally unique id (lead_…, key_…).")
class Node:
    id: strawberry.ID


@dataclass(frozen=True)
class NodeKind:
    """One kind of object `node(id:)` finds, declared in its feature module's `NODES`: the id
    prefix, its GraphQL type (registered with the schema from here), the resource whose rules
    apply (fail-closed ones refuse while the shared store is down) and how to fetch one by id
    for the caller's context (raising NotFound, or None, when it is not there)."""

    prefix: str
    type: Any
    resource: Resource
    fetch: Callable[[Any, str], Awaitable[Any]]


@strawberry.type(description="Relay page info, from the same signed cursors as REST lists.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null when hasNextPage is false."
    )


@strawberry.type
class Edge(Generic[T]):
    node: T
    page: strawberry.Private[Page[Any]]
    item_id: strawberry.Private[str]

    @strawberry.field(description="Pass as `after` to resume right after this node.")
    def cursor(self) -> str:
        # Signed only when asked for: most list views never read edge cursors.
        return self.page.cursor_after(self.item_id)


@strawberry.type(description="A Relay connection over one page of a REST list.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[Any], node: Callable[[Any], T], *, after: str | None) -> Connection[T]:
        return cls(
            edges=[Edge(node=node(item), page=page, item_id=item.id) for item in page.items],
            page_info=PageInfo(
                has_next_page=page.has_more,
                has_previous_page=after is not None,
                end_cursor=page.next_cursor,
            ),
        )


@strawberry.type
class DeletedObject:
    id: strawberry.ID
    deleted: bool
