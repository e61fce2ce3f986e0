"""A mutation's one `input` object, or, for a deprecation period, the loose arguments it took
before (issue 16): both are accepted, never both at once, and the rest of a resolver reads one
value, the input, whichever way the caller gave it.

The loose arguments are optional and `@deprecated` in the schema (a required argument cannot be
deprecated), and `input` is optional while they last; when they go, `input` becomes required.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from resolvers.errors import BadInput

T = TypeVar("T")

INPUT = "input"


def deprecated(description: str, field: str) -> Any:
    """A loose argument kept for old callers: said deprecated, pointing at its input field."""
    return strawberry.argument(
        description=description,
        deprecation_reason=f"Give input: {{ {field} }} instead; the loose arguments go in a "
        "later release.",
    )


def input_argument(description: str) -> Any:
    return strawberry.argument(
        description=f"{description} (Optional only while the deprecated arguments are "
        "accepted: give it.)"
    )


@dataclasses.dataclass(frozen=True)
class Given(Generic[T]):
    """What the caller gave, as the input object, and whether they sent it as one."""

    input: T
    as_input: bool

    def at(self, field: str) -> tuple[str, ...]:
        """Where the caller named `field` (a UserError's `field`): inside `input`, or the
        deprecated argument of that name."""
        return (INPUT, field) if self.as_input else (field,)

    def named(self, field: str) -> str:
        """`field` as the caller wrote it, for messages: `input.handoffId` or `handoffId`."""
        return ".".join(self.at(field))


def given(mutation: str, input: T | None, make: type[T], **loose: Any) -> Given[T]:
    """`input`, or the input object made of the deprecated `loose` arguments (Python names; None
    is not given). Both, or loose arguments short of a required field: BAD_USER_INPUT; neither
    too, unless every field of the input may be left out (then it was a call before: its
    defaults)."""
    definition = get_object_definition(make, strict=True)
    old = {name: value for name, value in loose.items() if value is not None}
    if input is not None:
        if old:
            raise BadInput(
                f"{mutation}: give input alone; the deprecated arguments "
                f"({_names(old)}) may not come with it"
            )
        return Given(input, as_input=True)
    required = [
        field.python_name
        for field in definition.fields
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    ]
    if not old and required:
        raise BadInput(f"{mutation} needs input: {definition.name}")
    missing = [name for name in required if name not in old]
    if missing:
        raise BadInput(
            f"{mutation}: {_names(missing)} missing (better: give input: {definition.name})"
        )
    return Given(make(**old), as_input=False)


def _names(python_names) -> str:
    return ", ".join(to_camel_case(name) for name in python_names)
