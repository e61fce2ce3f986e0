"""The only code of ours that reaches into a library's internals: one module per library.

Each module names the private (or internal, undocumented) names it uses, why, and the release
range it was checked against (`TESTED`, the same bound as in pyproject.toml). Everything else
calls these modules, never the names themselves. tests/unit/test_vendor_internals.py checks that
each name is still there with the shape relied on, and fails naming the module when an upgrade
moves one: an upgrade breaks that test, not, silently, the lean executor's speed or a security
switch.

- `vendor_internals.strawberry`: Strawberry (the graphql-core schema a Strawberry schema wraps,
a field's Strawberry definition, the exception handlers that apply to a field, validation). -
`vendor_internals.graphql_core`: graphql-core (hiding "Did you mean …?" during validation). -
`vendor_internals.uvicorn`: uvicorn (hooks after startup and at the start of shutdown).

broadcaster needs none: its backend interface is public (`broadcaster.BroadcastBackend`).
Imports nothing of ours, so any layer may use it."""
