"""Per-request DataLoaders: a list of N handoffs costs the same few statements as a list of one.

Built once per request (and per subscription event), never per connection: a loader caches
what it loaded for as long as it lives. Every loader is scoped to the viewer's account.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from db.models import (
    AccountEvent,
    Handoff,
    HandoffSeen,
    SessionMessage,
    TroubleshootingSession,
    User,
)
from resolvers.auth import Viewer
from resolvers.desk import Desk
from resolvers.handoff_views import HandoffView, handoff_views, to_views, viewer_params
from resolvers.visibility import visible_to


class Loaders:
    def __init__(self, desk: Desk, viewer: Viewer) -> None:
        self._desk = desk
        self._viewer = viewer
        self.user = DataLoader(self._users)
        self.session = DataLoader(self._sessions)
        self.messages = DataLoader(self._messages)
        self.seen = DataLoader(self._seen)
        self.history = DataLoader(self._history)
        self.session_handoffs = DataLoader(self._session_handoffs)
        self.handoff_view = DataLoader(self._handoff_views)
        self.snapshot = DataLoader(self._snapshots)
        self.escalation_package = DataLoader(self._escalation_packages)

    async def _rows(self, stmt, params: dict | None = None):
        async with self._desk.db.read() as db:
            return list((await db.exec(stmt, params=params or {})).all())

    async def _users(self, ids: Sequence[uuid.UUID]) -> list[User | None]:
        rows = await self._rows(
            select(User).where(col(User.id).in_(ids), User.account_id == self._viewer.account_id)
        )
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]

    async def _sessions(self, ids: Sequence[uuid.UUID]) -> list[TroubleshootingSession | None]:
        rows = await self._rows(
            select(TroubleshootingSession).where(
                col(TroubleshootingSession.id).in_(ids),
                TroubleshootingSession.account_id == self._viewer.account_id,
            )
        )
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]

    async def _messages(self, session_ids: Sequence[uuid.UUID]) -> list[list[SessionMessage]]:
        # Callers pass ids of sessions they already loaded through the account-scoped loader.
        rows = await self._rows(
            select(SessionMessage)
            .where(col(SessionMessage.session_id).in_(session_ids))
            .order_by(col(SessionMessage.position))
        )
        return _grouped(rows, session_ids, lambda m: m.session_id)

    async def _seen(self, handoff_ids: Sequence[uuid.UUID]) -> list[bool]:
        rows = await self._rows(
            select(HandoffSeen.handoff_id).where(
                HandoffSeen.user_id == self._viewer.user_id,
                col(HandoffSeen.handoff_id).in_(handoff_ids),
            )
        )
        seen = set(rows)
        return [i in seen for i in handoff_ids]

    async def _history(self, handoff_ids: Sequence[uuid.UUID]) -> list[list[AccountEvent]]:
        rows = await self._rows(
            select(AccountEvent)
            .where(
                AccountEvent.account_id == self._viewer.account_id,
                col(AccountEvent.handoff_id).in_(handoff_ids),
            )
            .order_by(col(AccountEvent.seq))
        )
        return _grouped(rows, handoff_ids, lambda e: e.handoff_id)

    async def _session_handoffs(self, session_ids: Sequence[uuid.UUID]) -> list[list[HandoffView]]:
        views = to_views(
            await self._rows(
                handoff_views()
                .where(col(Handoff.session_id).in_(session_ids), visible_to(self._viewer))
                .order_by(col(Handoff.created_at)),
                viewer_params(self._viewer),
            )
        )
        return _grouped(views, session_ids, lambda h: h.session_id)

    async def _handoff_views(self, ids: Sequence[uuid.UUID]) -> list[HandoffView | None]:
        views = to_views(
            await self._rows(
                handoff_views().where(col(Handoff.id).in_(ids), visible_to(self._viewer)),
                viewer_params(self._viewer),
            )
        )
        by_id = {view.id: view for view in views}
        return [by_id.get(i) for i in ids]

    async def _snapshots(self, handoff_ids: Sequence[uuid.UUID]) -> list[dict | None]:
        rows = await self._rows(
            select(Handoff.id, Handoff.snapshot).where(
                col(Handoff.id).in_(handoff_ids), visible_to(self._viewer)
            )
        )
        by_id = dict(rows)
        return [by_id.get(i) for i in handoff_ids]

    async def _escalation_packages(self, session_ids: Sequence[uuid.UUID]) -> list[dict | None]:
        rows = await self._rows(
            select(TroubleshootingSession.id, TroubleshootingSession.escalation_package).where(
                col(TroubleshootingSession.id).in_(session_ids),
                TroubleshootingSession.account_id == self._viewer.account_id,
            )
        )
        by_id = dict(rows)
        return [by_id.get(i) for i in session_ids]


def _grouped(rows, keys, key_of) -> list[list]:
    groups: dict = defaultdict(list)
    for row in rows:
        groups[key_of(row)].append(row)
    return [groups.get(k, []) for k in keys]
