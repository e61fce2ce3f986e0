"""The lean execution of plain fields answers exactly as graphql-core does: what its tests share
(the whole story: tests/api/test_execution.py)."""

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension, ParserCache
from strawberry.permission import BasePermission

from schema.documents import DocumentCache
from schema.errors import MaskUnexpectedErrors
from schema.execution import DeskExecutionContext
from schema.schema import DeskSchema


class Deny(BasePermission):
    message = "Not for you"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Upper(FieldExtension):
    def resolve(self, next_, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs).upper()


@strawberry.type
class Note:
    text: str
    secret: str | None = strawberry.field(permission_classes=[Deny])
    shout: str = strawberry.field(extensions=[Upper()])


@strawberry.type
class Card:
    title: str
    held: str = strawberry.field(permission_classes=[Deny])  # non-null: the error propagates
    note: Note
    notes: list[Note]


def _card(title: str) -> Card:
    notes = [Note(text=f"{title} {i}", secret="the secret", shout=f"psst {i}") for i in (1, 2)]
    return Card(title=title, held="held back", note=notes[0], notes=notes)


@strawberry.type
class GuardedQuery:
    @strawberry.field
    def cards(self) -> list[Card]:
        return [_card("one"), _card("two")]

    @strawberry.field
    def maybe_cards(self) -> list[Card] | None:
        return [_card("three")]


GUARDED = {
    "denied and extended fields in a list": "{ cards { title notes { text secret shout } } }",
    "below a plain object": "{ cards { note { text shout secret } } }",
    "only guarded fields": "{ cards { notes { secret } note { shout } } }",
    "a denied non-null field nulls its parent": "{ maybeCards { title held } cards { title } }",
}


# As the desk's schema builds it (its execution context, its error masking, a parser cache so
# that a document sent twice shares its plans), but with fields the desk does not have.
guarded_lean = DeskSchema(
    query=GuardedQuery,
    execution_context_class=DeskExecutionContext,
    extensions=[MaskUnexpectedErrors, ParserCache],
)
guarded_lean.documents = DocumentCache(2**20)  # what the desk's HTTP edge reads documents with


guarded_core = DeskSchema(query=GuardedQuery)
guarded_core.documents = DocumentCache(2**20)
