"""Reading the account's event log: what clients hear of, in order, with nothing missed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import col, select

from db.enums import EventKind
from db.models import Account, AccountEvent, Handoff
from resolvers.auth import Viewer
from resolvers.desk import Desk
from resolvers.errors import BadInput

CATCH_UP_PAGE = 500


@dataclass(frozen=True)
class LoggedEvent:
    """An event with the handoff it concerns, loaded once for every subscriber."""

    event: AccountEvent
    handoff: Handoff

    @property
    def seq(self) -> int:
        return self.event.seq


async def latest_seq(desk: Desk, account_id: uuid.UUID) -> int:
    async with desk.db.read() as db:
        account = await db.get(Account, account_id)
    return account.last_seq if account else 0


async def events_after(
    desk: Desk, account_id: uuid.UUID, after: int, limit: int = CATCH_UP_PAGE
) -> list[LoggedEvent]:
    """The account's events with seq > after, oldest first (one statement)."""
    stmt = (
        select(AccountEvent, Handoff)
        .join(Handoff, col(Handoff.id) == col(AccountEvent.handoff_id))
        .where(AccountEvent.account_id == account_id, AccountEvent.seq > after)
        .order_by(col(AccountEvent.seq))
        .limit(limit)
    )
    async with desk.db.read() as db:
        rows = (await db.exec(stmt)).all()
    return [LoggedEvent(event=e, handoff=h) for e, h in rows]


# What each subscription hears of. Park handoffs are never in the log, so never heard of.
HANDOFF_CREATED = frozenset({EventKind.ESCALATED})
ASSESSMENT_LANDED = frozenset({EventKind.ASSESSMENT_READY, EventKind.ASSESSMENT_FAILED})
CLAIM_CHANGED = frozenset({EventKind.CLAIMED, EventKind.RELEASED})


class EventSource(Protocol):
    def events(self, account_id: uuid.UUID, after: int | None) -> AsyncIterator[LoggedEvent]: ...


async def live_events(
    source: EventSource,
    viewer: Viewer,
    *,
    kinds: frozenset[EventKind],
    after: int | None,
    handoff_id: uuid.UUID | None = None,
) -> AsyncIterator[LoggedEvent]:
    """The caller's account's events of these kinds: those after `after` first, then live."""
    if after is not None and after < 0:
        raise BadInput("after must be a sequence number (0 or more)")
    async for logged in source.events(viewer.account_id, after):
        if logged.event.kind in kinds and (handoff_id is None or logged.handoff.id == handoff_id):
            yield logged
