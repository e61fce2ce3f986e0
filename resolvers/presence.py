"""Presence: who else has an escalation open now.

Having it open is being subscribed: `handoff_viewers` counts its caller among the escalation's
viewers for as long as it is listened to, and answers who else is there, first as it stands, then
at each arrival and departure. `account_viewers` listens without viewing anything: every
escalation of the account someone else has open (the queue's cards say so).

Presence is nobody's record: it is never written to the database or the event log. Each process
tells the others of the viewers it serves on the account's own presence channel, and repeats it
periodically; a viewer not heard of for a while is gone (handoff_desk/live/presence.py). The
channel is the account's, the escalation is found in the caller's account before anything is
announced, and the users named are read in that account only: nothing crosses accounts.

A park is its creator's alone (resolvers/visibility.py): its creator may ask who views it, and
hears that nobody does; a park is never announced.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import col, select

from db.enums import HandoffIntent
from db.models import Handoff, User
from resolvers import caps
from resolvers.auth import AccessCheck, Viewer, recheck
from resolvers.desk import Desk
from resolvers.errors import NotFoundError
from resolvers.events import LoggedEvent
from resolvers.handoff_views import UserView
from resolvers.tenancy import in_account
from resolvers.visibility import visible_to

# The most viewers one escalation lists (and a process tracks): enough for "Dana, Sam and 3 others".
VIEWERS_PER_HANDOFF = caps.VIEWERS.maximum
# The most escalations one answer of accountViewers lists; a first answer with more goes on in
# the answers after it.
HANDOFFS_PER_ANSWER = caps.VIEWED.maximum


@dataclass(frozen=True)
class Viewing:
    """A subscriber that has the escalation open: it counts among its viewers while it listens."""

    handoff_id: uuid.UUID
    user: UserView


@dataclass(frozen=True)
class PresenceSnapshot:
    """Every escalation of the account someone has open, each with its viewers in the order they
    opened it."""

    viewers: Mapping[uuid.UUID, tuple[UserView, ...]]


@dataclass(frozen=True)
class PresenceChange:
    """Someone opened (joined) or closed an escalation."""

    handoff_id: uuid.UUID
    user: UserView
    joined: bool


class PresenceSource(Protocol):
    def presence(
        self, account_id: uuid.UUID, viewing: Viewing | None
    ) -> AsyncIterator[PresenceSnapshot | PresenceChange | LoggedEvent]:
        """The account's presence from now: first a snapshot (with `viewing` among it), then
        each change; the account's live events come with them (an access change is among them)."""
        ...


@dataclass(frozen=True)
class HandoffViewers:
    """Who else has the escalation open now; `user` joined or left (`joined`), or, in a first
    answer, neither."""

    handoff_id: uuid.UUID
    viewers: tuple[UserView, ...]
    user: UserView | None = None
    joined: bool | None = None


@dataclass(frozen=True)
class AccountViewers:
    """`snapshot`: the first answer, the escalations someone else has open as it stands
    (replacing whatever the client had); the answers after it add to it: the rest of a long
    first list, then each escalation whose viewers changed, each with its whole list."""

    snapshot: bool
    handoffs: tuple[HandoffViewers, ...]


async def users_in_account(
    desk: Desk, account_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, UserView]:
    """The account's users among these ids (another account's id names nobody)."""
    ids = list(user_ids)
    if not ids:
        return {}
    fields = [getattr(User, name) for name in UserView.__dataclass_fields__]
    stmt = select(*fields).where(col(User.id).in_(ids), in_account(User, account_id))
    async with desk.db.read() as db:
        return {row[0]: UserView(*row) for row in (await db.exec(stmt)).all()}


async def _viewing(desk: Desk, viewer: Viewer, handoff_id: uuid.UUID) -> Viewing | None:
    """The caller opening the escalation: NotFoundError unless it is one they may see; None for
    a park (nobody else may see it: it is not announced)."""
    fields = [getattr(User, name) for name in UserView.__dataclass_fields__]
    handoff = select(Handoff.intent).where(col(Handoff.id) == handoff_id, visible_to(viewer))
    me = select(*fields).where(col(User.id) == viewer.user_id, in_account(User, viewer))
    async with desk.db.read() as db:
        intent = (await db.exec(handoff)).first()
        row = (await db.exec(me)).first()
    if intent is None or row is None:
        raise NotFoundError("No escalation with this id is visible to you.")
    if intent != HandoffIntent.ESCALATE:
        return None
    return Viewing(handoff_id, UserView(*row))


async def handoff_viewers(
    desk: Desk,
    source: PresenceSource,
    viewer: Viewer,
    handoff_id: uuid.UUID,
    *,
    on_access_change: AccessCheck | None = None,
) -> AsyncIterator[HandoffViewers]:
    """The caller has the escalation open while this is listened to: who else has it open, at
    once, then at each arrival and departure. The caller is never listed, not even from another
    of their clients."""
    viewing = await _viewing(desk, viewer, handoff_id)
    others: dict[uuid.UUID, UserView] = {}
    async for item in source.presence(viewer.account_id, viewing):
        if isinstance(item, PresenceSnapshot):
            seen = item.viewers.get(handoff_id, ())
            others = {user.id: user for user in seen if user.id != viewer.user_id}
            yield HandoffViewers(handoff_id, tuple(others.values()))
        elif isinstance(item, PresenceChange):
            if item.handoff_id != handoff_id or item.user.id == viewer.user_id:
                continue
            if _applied(others, item):
                yield HandoffViewers(handoff_id, tuple(others.values()), item.user, item.joined)
        elif item.standing is not None:
            recheck(viewer, item.standing, on_access_change)


async def account_viewers(
    desk: Desk,
    source: PresenceSource,
    viewer: Viewer,
    *,
    on_access_change: AccessCheck | None = None,
) -> AsyncIterator[AccountViewers]:
    """Every escalation of the caller's account someone else has open: all of them at once (in
    answers of at most HANDOFFS_PER_ANSWER, the first with `snapshot` true), then each change.
    The caller views nothing by listening, and is never listed."""
    viewed: dict[uuid.UUID, dict[uuid.UUID, UserView]] = {}
    async for item in source.presence(viewer.account_id, None):
        if isinstance(item, PresenceSnapshot):
            viewed = {}
            for handoff_id, users in item.viewers.items():
                others = {user.id: user for user in users if user.id != viewer.user_id}
                if others:
                    viewed[handoff_id] = others
            listed = [HandoffViewers(h, tuple(users.values())) for h, users in viewed.items()]
            for start in range(0, max(len(listed), 1), HANDOFFS_PER_ANSWER):
                page = tuple(listed[start : start + HANDOFFS_PER_ANSWER])
                yield AccountViewers(snapshot=start == 0, handoffs=page)
        elif isinstance(item, PresenceChange):
            if item.user.id == viewer.user_id:
                continue
            others = viewed.setdefault(item.handoff_id, {})
            if _applied(others, item):
                changed = HandoffViewers(
                    item.handoff_id, tuple(others.values()), item.user, item.joined
                )
                yield AccountViewers(False, (changed,))
            if not others:
                del viewed[item.handoff_id]
        elif item.standing is not None:
            recheck(viewer, item.standing, on_access_change)


def _applied(viewers: dict[uuid.UUID, UserView], change: PresenceChange) -> bool:
    """Applies the change to one escalation's viewers; False if it changed nothing."""
    if change.joined:
        if change.user.id in viewers or len(viewers) >= VIEWERS_PER_HANDOFF:
            return False
        viewers[change.user.id] = change.user
        return True
    return viewers.pop(change.user.id, None) is not None
