"""Every websocket operation runs with a context of its own.

Strawberry builds one context per websocket connection and runs each of the socket's operations
with it. Rights decided once per socket would outlive a demotion or a deactivation, and loaders
kept per socket would answer a later mutation with what the database held earlier. Here the
handler's schema hands each operation `context.for_operation()`: the caller authenticated from
the database at that operation, and empty loaders.
"""

from __future__ import annotations

from typing import Any

from handoff_desk.ops.access_log import websocket_operation


class _PerOperationSchema:
    """The schema as a websocket handler sees it (the handlers call `stream` or `subscribe`)."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    async def stream(self, *args: Any, context_value: Any, **kwargs: Any) -> Any:
        return await self._schema.stream(
            *args, context_value=context_value.for_operation(), **kwargs
        )

    async def subscribe(self, *args: Any, context_value: Any, **kwargs: Any) -> Any:
        return await self._schema.subscribe(
            *args, context_value=context_value.for_operation(), **kwargs
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)


def per_operation(handler_class: type) -> type:
    """`handler_class` (either protocol's handler) running each operation with its own context."""

    # The wrapper of the schema last served, shared by its sockets: an idle subscription pays
    # for no wrapper of its own (several apps in one process still get their own, only slower).
    last: list[_PerOperationSchema] = []

    # (A base chosen at run time: mypy cannot type it, and takes it for Any.)
    class PerOperationHandler(handler_class):  # type: ignore[misc]
        schema: Any

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if not last or last[0]._schema is not self.schema:
                last[:] = [_PerOperationSchema(self.schema)]
            self.schema = last[0]

        # Each operation's access log lines (handoff_desk/ops/access_log.py): graphql-transport-ws
        # runs an operation in `run_operation`, the legacy graphql-ws in `handle_async_results`.
        async def run_operation(self, operation: Any) -> None:
            documents = self.schema.documents
            query, name = operation.query, operation.operation_name
            async with websocket_operation(self.context, documents, query, name):
                await super().run_operation(operation)

        async def handle_async_results(
            self, operation_id: str, query: str, operation_name: str | None, variables: Any
        ) -> None:
            documents = self.schema.documents
            async with websocket_operation(self.context, documents, query, operation_name):
                await super().handle_async_results(operation_id, query, operation_name, variables)

    PerOperationHandler.__name__ = PerOperationHandler.__qualname__ = handler_class.__name__
    return PerOperationHandler
