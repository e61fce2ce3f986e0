"""graphql-core's internals: the only place the desk uses them.

Checked against graphql-core 3.3 (`TESTED`, the bound in pyproject.toml);
tests/unit/test_vendor_internals.py fails, naming this module, if an upgrade moves any of them.

- `ValidationContext._hide_suggestions`: the attribute behind the read-only `hide_suggestions`
  property. graphql-core takes `hide_suggestions=True` in `validate`, but Strawberry does not
  pass it, and a validation rule only gets the context Strawberry's validation made: a rule of
  ours turns it on there (schema/suggestions.py). Were it moved, setting it would change
  nothing, and errors would suggest names again ("Did you mean …?") with introspection off.
- `graphql.type.scalars.serialize_string`, `serialize_id`, `serialize_boolean`: the output
  coercions of String, ID and Boolean (not in the module's `__all__`). The lean executor
  (schema/execution.py) compares a scalar's `serialize` with them to know that a value of
  exactly `str` or `bool` is its own answer and needs no call. Were they renamed, the import
  fails; were they no longer the scalars' coercions, every value would take the call (slower,
  never wrong): the test checks they still are.
"""

from __future__ import annotations

from graphql import ValidationContext
from graphql.type.scalars import serialize_boolean, serialize_id, serialize_string

TESTED = "graphql-core>=3.3.2,<3.4"


def hide_suggestions(context: ValidationContext) -> None:
    """No "Did you mean …?" in the errors of this validation."""
    context._hide_suggestions = True


__all__ = ["TESTED", "hide_suggestions", "serialize_boolean", "serialize_id", "serialize_string"]
