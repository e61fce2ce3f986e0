"""Shared subscriptions: each distinct live subscription is resolved once per process.

Two thousand seniors watching one account's queue ask the same thing. Resolving each event once
per subscriber (and encoding it once per subscriber) costs the server per subscriber what it
needs to do once. Here, subscribers are grouped by what decides their answer: the document, its
operation and variables, the account and role, and, when the document selects a field that
depends on who is asking (`unread`, the caller's visible handoffs), the user. Each group runs
one ordinary Strawberry subscription stream; each of its results is encoded once and the same
text is queued to every member.

Only live subscriptions share (no `after`): a subscriber that replays from a sequence number
has its own stream, as do the legacy `graphql-ws` protocol and anything whose first answer is
an error (each member then runs the ordinary path, which answers it exactly as it always has).

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
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from resolvers.auth import Standing, Viewer, still_allowed
from schema.context import ACCESS_ENDED_CLOSE_CODE, Context
from schema.subscription import ACCESS_CHANGED_REASON, TOO_SLOW_CLOSE_CODE, TOO_SLOW_REASON

log = logging.getLogger(__name__)

SHAREABLE_ROOTS = frozenset({"handoffCreated", "assessmentReady", "handoffClaimed"})

# Fields whose value is the same for every user of an account (and role). A field not listed
# here makes its document per user: correct, only less shared. `unread` (the caller's own mark),
# `Session.handoffs` and `Session.escalationPackage` (filtered by what the caller may see) are
# deliberately absent.
VIEWER_INDEPENDENT_FIELDS = frozenset(
    {
        "__typename",
        # subscription payloads
        "seq", "kind", "occurredAt", "handoff", "actor",
        # Handoff
        "id", "intent", "priority", "engineerNotes", "createdAt", "claimedAt", "assessment",
        "session", "createdBy", "claimedBy", "snapshot", "history",
        # Session and its snapshot
        "problemSummary", "intakeType", "intakeContent", "status", "confidenceTier",
        "handoffCount", "updatedAt", "owner", "assignee", "messages", "takenAt",
        "role", "content",
        # User
        "name", "email", "active",
        # Assessment
        "summary", "likelyCause", "suggestedSteps", "confidence",
    }
)  # fmt: skip

_DONE = object()
_TOO_SLOW = object()
_FALLBACK = object()


class _Unshareable(Exception):
    pass


@lru_cache(maxsize=512)
def _shape(query: str, operation_name: str | None) -> tuple[str, str | None, bool] | None:
    """(root field, name of the variable holding `after` or None, per user) for a document
    that may share; None for any other (the ordinary path answers it, errors included)."""
    try:
        document = parse(query)
        return _shape_of(document, operation_name)
    except (GraphQLError, _Unshareable, RecursionError):
        return None
    except Exception:  # whatever it is, the ordinary path answers it as it always has
        log.exception("could not tell whether a subscription may share; running it alone")
        return None


def _shape_of(document: DocumentNode, operation_name: str | None) -> tuple[str, str | None, bool]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.SUBSCRIPTION:
        raise _Unshareable
    operation = operations[0]
    roots = operation.selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or operation.directives:
        raise _Unshareable
    root = roots[0]
    if root.name.value not in SHAREABLE_ROOTS or root.directives:
        raise _Unshareable
    after_variable = None
    for argument in root.arguments or ():
        if argument.name.value != "after":
            continue
        if isinstance(argument.value, VariableNode):
            after_variable = argument.value.name.value
        elif not isinstance(argument.value, NullValueNode):
            raise _Unshareable  # a replay: its own stream
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names = _field_names(root.selection_set, fragments, set())
    return root.name.value, after_variable, not names <= VIEWER_INDEPENDENT_FIELDS


def _field_names(selection_set, fragments: dict, seen: set[str]) -> set[str]:
    names: set[str] = set()
    if selection_set is None:
        return names
    for selection in selection_set.selections:
        if selection.directives:
            raise _Unshareable  # @include/@skip per variables: keep it simple, run it alone
        if isinstance(selection, FieldNode):
            names.add(selection.name.value)
            names |= _field_names(selection.selection_set, fragments, seen)
        elif hasattr(selection, "type_condition"):  # inline fragment
            names |= _field_names(selection.selection_set, fragments, seen)
        else:  # fragment spread
            name = selection.name.value
            if name in seen or name not in fragments:
                raise _Unshareable
            names |= _field_names(fragments[name].selection_set, fragments, seen | {name})
    return names


def share_key(payload: dict, viewer: Viewer) -> tuple | None:
    """What decides a subscriber's answers, or None if this subscription runs alone."""
    query, variables = payload.get("query"), payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    shape = _shape(query, operation_name)
    if shape is None:
        return None
    _, after_variable, per_user = shape
    if after_variable is not None and (variables or {}).get(after_variable) is not None:
        return None
    try:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return (
        query,
        operation_name,
        canonical,
        viewer.account_id,
        viewer.role,
        viewer.user_id if per_user else None,
    )


@dataclass(frozen=True)
class _AccessCheck:
    """The account's users' access changed: each member checks its own caller."""

    standing: Mapping[uuid.UUID, Standing]


class Member:
    """One subscriber of a group: its caller, and the frames waiting to be sent to it, bounded."""

    __slots__ = ("_frames", "_limit", "_waiter", "viewer")

    def __init__(self, limit: int, viewer: Viewer) -> None:
        self._frames: deque = deque()
        self._limit = limit
        self._waiter: asyncio.Future | None = None
        self.viewer = viewer

    def offer(self, item: Any) -> None:
        if len(self._frames) >= self._limit and item is not _DONE and item is not _FALLBACK:
            # Drop what it has not sent (it catches up from the log) and tell it to go.
            self._frames.clear()
            item = _TOO_SLOW
        self._frames.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self) -> Any:
        while not self._frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()


class GroupContext(Context):
    """The context a group's stream runs with: its first member's viewer, and no socket of its
    own (a group that falls behind sends all its members away)."""

    def __init__(self, template: Context, viewer: Viewer, group: Group) -> None:
        super().__init__(template.desk, template._events, None, None)
        self._viewer = viewer
        self._group = group

    async def close_connection(self, code: int, reason: str) -> None:
        self._group.send_everyone(_TOO_SLOW)

    def on_access_change(self, standing: Mapping[uuid.UUID, Standing]) -> None:
        self._group.send_everyone(_AccessCheck(standing))


class Group:
    def __init__(self, registry: SharedSubscriptions, key: tuple, view: Any, payload: dict):
        self.registry = registry
        self.key = key
        self.view = view
        self.payload = payload
        self.members: set[Member] = set()
        self.task: asyncio.Task | None = None

    def start(self, template: Context, viewer: Viewer) -> None:
        context = GroupContext(template, viewer, self)
        # A fresh context: the group outlives the request of the member that started it, and
        # must not log with that member's request id.
        self.task = asyncio.create_task(
            self._run(context), name="shared subscription", context=contextvars.Context()
        )

    def send_everyone(self, item: Any) -> None:
        for member in list(self.members):
            member.offer(item)

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


def _next_payload(result: ExecutionResult) -> dict:
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
        self._groups: dict[tuple, Group] = {}

    @property
    def open_members(self) -> int:
        return sum(len(group.members) for group in self._groups.values())

    @property
    def open_groups(self) -> int:
        return len(self._groups)

    def join(self, key: tuple, view: Any, payload: dict, context: Context, viewer: Viewer):
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


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws, with live subscriptions served from their group."""

    async def run_operation(self, operation) -> None:
        shared = getattr(self.view, "shared", None)
        payload = {
            "query": operation.query,
            "variables": operation.variables,
            "operationName": operation.operation_name,
        }
        context = self.context.for_operation()  # authenticated now, as every operation is
        viewer = await _viewer(context)
        key = share_key(payload, viewer) if shared is not None and viewer is not None else None
        if key is None:
            return await super().run_operation(operation)
        group, member = shared.join(key, self.view, payload, context, viewer)
        try:
            fallback = await self._send_frames(operation, member)
        finally:
            shared.leave(group, member)
        if fallback:
            return await super().run_operation(operation)
        return None

    async def _send_frames(self, operation, member: Member) -> bool:
        """Sends the group's frames until it ends; True if this operation must run alone."""
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        socket = self.websocket
        while True:
            item = await member.take()
            if item is _FALLBACK:
                return True
            if item is _DONE:
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
                return False
            if item is _TOO_SLOW:
                with contextlib.suppress(Exception):
                    await socket.close(TOO_SLOW_CLOSE_CODE, TOO_SLOW_REASON)
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
                await socket.ws.send_text(prefix + item + "}")
            except Exception:
                return False  # the socket is gone; the handler's shutdown cleans up


async def _viewer(context: Context) -> Viewer | None:
    try:
        return await context.viewer()
    except Exception:
        return None  # the ordinary path answers it
