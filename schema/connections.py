"""Relay's connections: a page of a list, its items with their cursors, and where it stands.

`Connection[Message]` is `MessageConnection` in the schema, its edges `MessageEdge`. Every field
answers the same for every caller of an account and role: what a page holds was decided when it
was read (for that caller), so pages may be shared in live answers like their items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from resolvers.pages import Page
from schema.sharing import SHARED, shared

T = TypeVar("T")
_Row = TypeVar("_Row")


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool = shared(description="Whether more follow this page.")
    end_cursor: str | None = shared(
        description="The last edge's cursor: pass it as `after` for the next page; null for an "
        "empty page."
    )
    has_previous_page: bool = shared(
        default=False,
        description="Whether the list holds items before this page (false from its start).",
    )
    start_cursor: str | None = shared(
        default=None,
        description="The first edge's cursor: lists that page backwards (last) take it as "
        "`before`; null for an empty page.",
    )

    @classmethod
    def of(cls, cursors: list[str], has_next_page: bool, has_previous_page: bool) -> PageInfo:
        return cls(
            has_next_page=has_next_page,
            end_cursor=cursors[-1] if cursors else None,
            has_previous_page=has_previous_page,
            start_cursor=cursors[0] if cursors else None,
        )


@strawberry.type(description="An item of a page, with its place in the list.")
class Edge(Generic[T]):
    cursor: str = shared(
        description="Its place: `after` it the page after, `before` it (with last) the page before."
    )
    node: T = shared(description="The item.")


@strawberry.type(
    description="A page of a list: `first` items (after a cursor), or the `last` ones (before "
    "one), in the list's order either way."
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = shared(description="The page, in order, with cursors.")
    page_info: PageInfo = shared(description="Where the page stands.")

    @strawberry.field(
        description="The page's items, in order (edges without cursors).", metadata=SHARED
    )
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(
        cls, page: Page[_Row], node: Callable[[_Row], T], cursor: Callable[[_Row], str]
    ) -> Connection[T]:
        edges = [Edge(cursor=cursor(row), node=node(row)) for row in page.items]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [e.cursor for e in edges], page.has_next_page, page.has_previous_page
            ),
        )
