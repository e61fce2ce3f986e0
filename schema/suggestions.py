"""No "Did you mean …?" in errors when introspection is off.

graphql-core's validation rules suggest field, argument, type and enum value names close to a
misspelled one, and so does the coercion of variables at execution: with introspection off,
that would let a client walk the schema anyway, one guess at a time. graphql-core 3.3 has the
switch (`hide_suggestions=True` for validate and execute), but Strawberry passes it to neither:
`HideSuggestions`, listed with the validation rules, turns it on for the validation it takes part
in (rules read it only when they report an error, after every rule of the run has been made, so
the order of the list does not matter); `without_suggestions` does it for the executor.
"""

from __future__ import annotations

from graphql import ValidationContext, ValidationRule
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from vendor_internals import graphql_core as graphql_internals


class HideSuggestions(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        graphql_internals.hide_suggestions(context)


def without_suggestions(executor_class: type | None) -> type:
    """The executor, hiding suggestions where it coerces variables ("Did you mean the enum
    value …?"), which happens after validation. None: Strawberry's default executor."""
    base = executor_class or StrawberryGraphQLCoreExecutionContext

    # (A base chosen at run time: mypy cannot type it.)
    class Quiet(base):  # type: ignore[valid-type, misc]
        @classmethod
        def build(cls, *args, **kwargs):
            return super().build(*args, **{**kwargs, "hide_suggestions": True})

    Quiet.__name__ = Quiet.__qualname__ = f"{base.__name__}WithoutSuggestions"
    return Quiet
