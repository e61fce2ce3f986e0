"""Shared subscriptions: each distinct live subscription is resolved once per process.

Two thousand seniors watching one account's queue ask the same thing. Resolving each event once
per subscriber (and encoding it once per subscriber) costs the server per subscriber what it
needs to do once. Here, subscribers are grouped by what decides their answer: the document, its
operation and variables, the account and role, and, when the document selects a field that
depends on who is asking (`unread`, the caller's visible handoffs), the user. Each group runs
one ordinary Strawberry subscription stream; each of its results is encoded once and the same
text is queued to every member.

Whether a field depends on who asks is declared on the field (schema/sharing.py) and read by
type and field; a document with any field not declared viewer-independent is shared only by the
sockets of one user. Only live subscriptions share (no `after`, given or defaulted): a subscriber
that replays from a sequence number has its own stream, as do the legacy `graphql-ws` protocol
and anything whose first answer is an error (each member then runs the ordinary path, which
answers it exactly as it always has).

A member's queue is bounded: a member that falls too far behind is closed with 1013 and catches
up from the log with `after`, as on the ordinary path; it never holds the others back.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLField,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from handoff_desk.live.queues import BoundedQueue, FellBehind
from resolvers.auth import Standing, Viewer, still_allowed
from schema.context import ACCESS_ENDED_CLOSE_CODE, Context
from schema.documents import BoundedCache, digest
from schema.schema import DeskSchema
from schema.sharing import declared, graphql_schema, per_user
from schema.subscription import ACCESS_CHANGED_REASON, TOO_SLOW_CLOSE_CODE, TOO_SLOW_REASON

log = logging.getLogger(__name__)

_DONE = object()
_FALLBACK = object()

# Shapes of the documents subscribers send, by digest, bounded by the bytes they hold.
_SHAPES = BoundedCache("subscription shapes", max_bytes=4 * 2**20, max_entry_bytes=2**18)


@dataclass(frozen=True)
class _Shape:
    """What sharing needs of a document: its one root field, and whether it is per user."""

    operation: OperationDefinitionNode
    root: FieldNode
    root_field: GraphQLField
    per_user: bool
    size: int  # bytes held, about


def _shape_of(schema: DeskSchema, query: str, operation_name: str | None) -> _Shape | None:
    key = digest(query, operation_name, id(schema))  # each app's schema decides for itself
    shape: _Shape | None = _SHAPES.get(key, _UNKNOWN)
    if shape is _UNKNOWN:
        shape = _shape(schema, query, operation_name)
        _SHAPES.put(key, shape, shape.size if shape is not None else 0)
    return shape


_UNKNOWN = object()
# What decides a subscriber's answers (see `share_key`): subscribers with equal keys share.
ShareKey = tuple[object, ...]


def _shape(schema: DeskSchema, query: str, operation_name: str | None) -> _Shape | None:
    """The shape of a live subscription that may share; None for any other document (the
    ordinary path answers it, errors included)."""
    document = schema.documents.read(query)  # the parse execution runs, read once
    operation = document.select(operation_name)
    if document.ast is None or not isinstance(operation, OperationDefinitionNode):
        return None
    if operation.operation != OperationType.SUBSCRIPTION:
        return None
    roots = operation.selection_set.selections
    subscription_type = graphql_schema(schema).subscription_type
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or subscription_type is None:
        return None
    root = roots[0]
    root_field = subscription_type.fields.get(root.name.value)
    if root_field is None or declared(root_field) != "independent":
        return None
    per_user_ = per_user(graphql_schema(schema), document.ast)
    return _Shape(operation, root, root_field, per_user_, document.size)


def share_key(payload: dict[str, Any], viewer: Viewer, schema: DeskSchema) -> ShareKey | None:
    """What decides a subscriber's answers, or None if this subscription runs alone."""
    query, variables = payload.get("query"), payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    shape = _shape_of(schema, query, operation_name)
    if shape is None:
        return None
    # Defaults count like values given: `after: $a = 0` replays for every subscriber.
    coerced = get_variable_values(
        graphql_schema(schema), shape.operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):
        return None  # variables that do not coerce: the ordinary path answers the errors
    try:
        arguments = get_argument_values(shape.root_field, shape.root, coerced)
    except GraphQLError:
        return None
    if arguments.get("after") is not None:
        return None  # a replay: its own stream
    try:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None
    return (
        digest(query, operation_name, canonical),
        viewer.account_id,
        viewer.role,
        viewer.user_id if shape.per_user else None,
    )


@dataclass(frozen=True)
class _AccessCheck:
    """The account's users' access changed: each member checks its own caller."""

    standing: Mapping[uuid.UUID, Standing]


class Member(BoundedQueue[Any]):
    """One subscriber of a group: its caller, and the frames waiting to be sent to it, bounded
    (see live/queues.py)."""

    __slots__ = ("viewer",)

    def __init__(self, limit: int, viewer: Viewer) -> None:
        super().__init__(limit)
        self.viewer = viewer


class GroupContext(Context):
    """The context a group's stream runs with: its first member's viewer, and no socket of its
    own (a group that falls behind sends all its members away)."""

    def __init__(self, template: Context, viewer: Viewer, group: Group) -> None:
        super().__init__(template.desk, template._events, None, None)
        self._viewer = viewer
        self._group = group

    async def close_connection(self, code: int, reason: str) -> None:
        for member in list(self._group.members):
            member.fall_behind()

    def on_access_change(self, standing: Mapping[uuid.UUID, Standing]) -> None:
        self._group.send_everyone(_AccessCheck(standing))


class Group:
    def __init__(
        self, registry: SharedSubscriptions, key: ShareKey, view: Any, payload: dict[str, Any]
    ) -> None:
        self.registry = registry
        self.key = key
        self.view = view
        self.payload = payload
        self.members: set[Member] = set()
        self.task: asyncio.Task[None] | None = None

    def start(self, template: Context, viewer: Viewer) -> None:
        context = GroupContext(template, viewer, self)
        # A fresh context: the group outlives the request of the member that started it, and
        # must not log with that member's request id.
        self.task = asyncio.create_task(
            self._run(context), name="shared subscription", context=contextvars.Context()
        )

    def send_everyone(self, item: Any) -> None:
        ends = item is _DONE or item is _FALLBACK  # queued past a member's limit
        for member in list(self.members):
            member.offer(item, always=ends)

    async def _run(self, context: GroupContext) -> None:
        try:
            stream = await self.view.schema.stream(
                self.payload["query"],
                variable_values=self.payload.get("variables"),
                context_value=context,
                operation_name=self.payload.get("operationName"),
            )
            first = True
            async with aclosing(stream):
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        self.send_everyone(_FALLBACK)  # each answers it the ordinary way
                        return
                    first = False
                    if not isinstance(result, ExecutionResult):
                        self.send_everyone(_FALLBACK)
                        return
                    encoded = self.view.encode_json(_next_payload(result))
                    self.send_everyone(encoded if isinstance(encoded, str) else encoded.decode())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("shared subscription failed")
        finally:
            self.registry.forget(self)
        self.send_everyone(_DONE)


def _next_payload(result: ExecutionResult) -> dict[str, Any]:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


class SharedSubscriptions:
    """This process's groups, by key."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self._groups: dict[ShareKey, Group] = {}

    @property
    def open_members(self) -> int:
        return sum(len(group.members) for group in self._groups.values())

    @property
    def open_groups(self) -> int:
        return len(self._groups)

    def join(
        self, key: ShareKey, view: Any, payload: dict[str, Any], context: Context, viewer: Viewer
    ) -> tuple[Group, Member]:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(self, key, view, payload)
            group.start(context, viewer)
        member = Member(self.max_queue, viewer)
        group.members.add(member)
        return group, member

    def leave(self, group: Group, member: Member) -> None:
        group.members.discard(member)
        if not group.members and self._groups.get(group.key) is group:
            del self._groups[group.key]
            if group.task is not None:
                group.task.cancel()

    def forget(self, group: Group) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, with live subscriptions served from their group."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        shared: SharedSubscriptions | None = getattr(self.view, "shared", None)
        joined = await self._join(shared, operation) if shared is not None else None
        if joined is None or shared is None:
            return await super().run_operation(operation)
        group, member = joined
        try:
            fallback = await self._send_frames(operation, member)
        finally:
            shared.leave(group, member)
        if fallback:
            return await super().run_operation(operation)
        return None

    async def _join(
        self, shared: SharedSubscriptions, operation: Operation[Context, None]
    ) -> tuple[Group, Member] | None:
        """This operation as a member of its group; None if it is not shared. (Apart from
        run_operation so that the operation's context is not kept while it waits for frames: the
        member keeps the viewer, and an idle subscription pays for nothing more.)"""
        payload = {
            "query": operation.query,
            "variables": operation.variables,
            "operationName": operation.operation_name,
        }
        context = self.context.for_operation()  # authenticated now, as every operation is
        viewer = await _viewer(context)
        if viewer is None:
            return None
        # (Strawberry types a view's schema as any BaseSchema; the desk's is a DeskSchema.)
        key = share_key(payload, viewer, self.view.schema)  # type: ignore[arg-type]
        if key is None:
            return None
        return shared.join(key, self.view, payload, context, viewer)

    async def _send_frames(self, operation: Operation[Context, None], member: Member) -> bool:
        """Sends the group's frames until it ends; True if this operation must run alone."""
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        socket = self.websocket
        while True:
            try:
                item = await member.take()
            except FellBehind:
                with contextlib.suppress(Exception):
                    await socket.close(TOO_SLOW_CLOSE_CODE, TOO_SLOW_REASON)
                return False
            if item is _FALLBACK:
                return True
            if item is _DONE:
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
                return False
            if isinstance(item, _AccessCheck):
                if still_allowed(member.viewer, item.standing):
                    continue
                with contextlib.suppress(Exception):
                    await socket.close(ACCESS_ENDED_CLOSE_CODE, ACCESS_CHANGED_REASON)
                return False
            if operation.completed:
                return False
            try:
                # (Strawberry types the socket as any framework's; under ASGI it has Starlette's.)
                await socket.ws.send_text(prefix + item + "}")  # type: ignore[attr-defined]
            except Exception:
                return False  # the socket is gone; the handler's shutdown cleans up


async def _viewer(context: Context) -> Viewer | None:
    try:
        return await context.viewer()
    except Exception:
        return None  # the ordinary path answers it
