"""Batched reads: a list of N handoffs costs the same few statements as a list of one.

The GraphQL adapter wraps each in a DataLoader per request (schema/loaders.py). Every batch is
scoped to the viewer's account.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Executable, Select, and_, func, or_
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel, col, select

from db.enums import EventKind
from db.models import (
    AccountEvent,
    AssessmentRating,
    AssessmentVersion,
    Handoff,
    HandoffNote,
    SessionMessage,
    TroubleshootingSession,
    User,
)
from resolvers import pages
from resolvers.assessments import assessments_of, ratings_of
from resolvers.auth import Viewer
from resolvers.caps import Window
from resolvers.desk import Desk
from resolvers.handoff_views import HandoffView, handoff_views, to_views, viewer_params
from resolvers.pages import Page, PageAsk
from resolvers.tenancy import in_account
from resolvers.visibility import notes_visible_to, visible_to

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class Batches:
    """Each method loads a batch of keys for one viewer, answering in the keys' order (None, or
    an empty list, where the viewer may see nothing): what the adapter's DataLoaders call."""

    def __init__(self, desk: Desk, viewer: Viewer) -> None:
        self._desk = desk
        self._viewer = viewer

    async def _rows(self, stmt: Executable, params: dict[str, Any] | None = None) -> list[Any]:
        async with self._desk.db.read() as db:
            # (SQLModel types exec() for its own selects; it runs SQLAlchemy's just the same.)
            return list((await db.exec(stmt, params=params or {})).all())  # type: ignore[call-overload]

    async def users(self, ids: Sequence[uuid.UUID]) -> list[User | None]:
        rows = await self._rows(
            select(User).where(col(User.id).in_(ids), in_account(User, self._viewer))
        )
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]

    async def sessions(self, ids: Sequence[uuid.UUID]) -> list[TroubleshootingSession | None]:
        rows = await self._rows(
            select(TroubleshootingSession).where(
                col(TroubleshootingSession.id).in_(ids),
                in_account(TroubleshootingSession, self._viewer),
            )
        )
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]

    async def messages(
        self, keys: Sequence[tuple[uuid.UUID, Window]], *beyond: ColumnElement[bool]
    ) -> list[list[SessionMessage]]:
        # Callers pass ids of sessions they already loaded through the account-scoped loader.
        numbered = _numbered(
            select(SessionMessage.id, col(SessionMessage.session_id).label("key")),
            col(SessionMessage.session_id),
            col(SessionMessage.position),
        ).where(col(SessionMessage.session_id).in_({k for k, _ in keys}), *beyond)
        return await self._windows(SessionMessage, numbered, keys, col(SessionMessage.id))

    async def message_pages(
        self, keys: Sequence[tuple[uuid.UUID, PageAsk[int]]]
    ) -> list[Page[SessionMessage]]:
        """Each session's conversation a page at a time, its cursors the messages' positions."""

        async def read(cursor: int | None, before: bool, windows: list[Any]) -> list[list[Any]]:
            position = col(SessionMessage.position)
            if cursor is None:
                return await self.messages(windows)
            return await self.messages(windows, position < cursor if before else position > cursor)

        return await _paged(keys, read)

    async def snapshot_messages(
        self, keys: Sequence[tuple[uuid.UUID, Window]]
    ) -> list[list[SessionMessage]]:
        """Each handoff's snapshot conversation: its session's messages up to the position the
        handoff kept, numbered per handoff (two handoffs of one session see different ones)."""
        numbered = (
            _numbered(
                select(SessionMessage.id, col(Handoff.id).label("key")),
                col(Handoff.id),
                col(SessionMessage.position),
            )
            .select_from(Handoff)
            .join(
                SessionMessage,
                and_(
                    col(SessionMessage.session_id) == col(Handoff.session_id),
                    col(SessionMessage.position) <= col(Handoff.snapshot_through),
                ),
            )
            .where(col(Handoff.id).in_({k for k, _ in keys}), visible_to(self._viewer))
        )
        return await self._windows(SessionMessage, numbered, keys, col(SessionMessage.id))

    async def _windows(
        self,
        entity: type[SQLModel],
        numbered: Select[*tuple[Any, ...]],
        keys: Sequence[tuple[uuid.UUID, Window]],
        id_column: Mapped[uuid.UUID],
    ) -> list[list[Any]]:
        """One statement for every key's window: rows numbered from both ends within their key,
        kept if some key's window takes them, then picked per key."""
        inner = numbered.subquery()
        most_first = max((w.size for _, w in keys if not w.from_end), default=0)
        most_last = max((w.size for _, w in keys if w.from_end), default=0)
        rows = await self._rows(
            select(entity, inner.c.key, inner.c.from_start, inner.c.from_end)
            .join(inner, inner.c.id == id_column)
            .where(or_(inner.c.from_start <= most_first, inner.c.from_end <= most_last))
            .order_by(inner.c.key, inner.c.from_start)
        )
        return _picked(rows, keys)

    async def history(
        self, keys: Sequence[tuple[uuid.UUID, Window]], *beyond: ColumnElement[bool]
    ) -> list[list[AccountEvent]]:
        numbered = _numbered(
            select(col(AccountEvent.seq).label("id"), col(AccountEvent.handoff_id).label("key")),
            col(AccountEvent.handoff_id),
            col(AccountEvent.seq),
        ).where(
            in_account(AccountEvent, self._viewer),
            col(AccountEvent.handoff_id).in_({k for k, _ in keys}),
            # A note's entry only for those who read notes.
            (col(AccountEvent.kind) != EventKind.NOTE_ADDED) | notes_visible_to(self._viewer),
            *beyond,
        )
        inner = numbered.subquery()
        most_first = max((w.size for _, w in keys if not w.from_end), default=0)
        most_last = max((w.size for _, w in keys if w.from_end), default=0)
        rows = await self._rows(
            select(AccountEvent, inner.c.key, inner.c.from_start, inner.c.from_end)
            .join(
                inner,
                and_(
                    in_account(AccountEvent, self._viewer),
                    inner.c.id == AccountEvent.seq,
                ),
            )
            .where(or_(inner.c.from_start <= most_first, inner.c.from_end <= most_last))
            .order_by(inner.c.key, inner.c.from_start)
        )
        return _picked(rows, keys)

    async def history_pages(
        self, keys: Sequence[tuple[uuid.UUID, PageAsk[int]]]
    ) -> list[Page[AccountEvent]]:
        """Each handoff's history a page at a time, its cursors the events' seqs."""

        async def read(cursor: int | None, before: bool, windows: list[Any]) -> list[list[Any]]:
            seq = col(AccountEvent.seq)
            if cursor is None:
                return await self.history(windows)
            return await self.history(windows, seq < cursor if before else seq > cursor)

        return await _paged(keys, read)

    async def notes(
        self, keys: Sequence[tuple[uuid.UUID, Window]], *beyond: ColumnElement[bool]
    ) -> list[list[HandoffNote]]:
        """Each handoff's notes, oldest first (none where the caller reads no notes)."""
        numbered = (
            _numbered(
                select(HandoffNote.id, col(HandoffNote.handoff_id).label("key")),
                col(HandoffNote.handoff_id),
                col(HandoffNote.created_at),
                col(HandoffNote.id),
            )
            .join(Handoff, col(Handoff.id) == col(HandoffNote.handoff_id))
            .where(
                col(HandoffNote.handoff_id).in_({k for k, _ in keys}),
                in_account(HandoffNote, self._viewer),
                visible_to(self._viewer),
                notes_visible_to(self._viewer),
                *beyond,
            )
        )
        return await self._windows(HandoffNote, numbered, keys, col(HandoffNote.id))

    async def note_pages(
        self, keys: Sequence[tuple[uuid.UUID, PageAsk[uuid.UUID]]]
    ) -> list[Page[HandoffNote]]:
        """Each handoff's notes a page at a time, its cursors the notes' ids (oldest first: by
        when they were added, then by id)."""

        async def read(
            cursor: uuid.UUID | None, before: bool, windows: list[Any]
        ) -> list[list[Any]]:
            if cursor is None:
                return await self.notes(windows)
            added = select(HandoffNote.created_at).where(
                HandoffNote.id == cursor, in_account(HandoffNote, self._viewer)
            )
            at = (added.correlate(None).scalar_subquery(), cursor)
            columns = (col(HandoffNote.created_at), col(HandoffNote.id))
            return await self.notes(
                windows, pages.beyond(columns, at, descending=False, before=before)
            )

        return await _paged(keys, read)

    async def notes_by_id(self, ids: Sequence[uuid.UUID]) -> list[HandoffNote | None]:
        rows = await self._rows(
            select(HandoffNote).where(
                col(HandoffNote.id).in_(ids),
                in_account(HandoffNote, self._viewer),
                notes_visible_to(self._viewer),
            )
        )
        by_id = {row.id: row for row in rows}
        return [by_id.get(i) for i in ids]

    async def session_handoffs(
        self, keys: Sequence[tuple[uuid.UUID, Window]], *beyond: ColumnElement[bool]
    ) -> list[list[HandoffView]]:
        # Each session's window (visible ones only), numbered in one statement.
        inner = (
            _numbered(
                select(Handoff.id, col(Handoff.session_id).label("key")),
                col(Handoff.session_id),
                col(Handoff.created_at),
                col(Handoff.id),
            )
            .where(
                col(Handoff.session_id).in_({k for k, _ in keys}),
                visible_to(self._viewer),
                *beyond,
            )
            .subquery()
        )
        most_first = max((w.size for _, w in keys if not w.from_end), default=0)
        most_last = max((w.size for _, w in keys if w.from_end), default=0)
        rows = await self._rows(
            handoff_views()
            .join(inner, inner.c.id == Handoff.id)
            .where(or_(inner.c.from_start <= most_first, inner.c.from_end <= most_last))
            .order_by(col(Handoff.session_id), inner.c.from_start),
            viewer_params(self._viewer),
        )
        groups = _grouped(to_views(rows), [k for k, _ in keys], lambda h: h.session_id)
        # A group holds its session's first most_first and last most_last: each window is in it.
        return [w.pick(group) for group, (_, w) in zip(groups, keys, strict=True)]

    async def session_handoff_pages(
        self, keys: Sequence[tuple[uuid.UUID, PageAsk[uuid.UUID]]]
    ) -> list[Page[HandoffView]]:
        """Each session's handoffs a page at a time, its cursors the handoffs' ids (oldest
        first: by when they were made, then by id)."""

        async def read(cursor: uuid.UUID | None, before: bool, windows: list[Any]) -> list[Any]:
            if cursor is None:
                return await self.session_handoffs(windows)
            made = select(Handoff.created_at).where(
                Handoff.id == cursor, in_account(Handoff, self._viewer)
            )
            at = (made.correlate(None).scalar_subquery(), cursor)
            columns = (col(Handoff.created_at), col(Handoff.id))
            return await self.session_handoffs(
                windows, pages.beyond(columns, at, descending=False, before=before)
            )

        return await _paged(keys, read)

    async def handoff_views(self, ids: Sequence[uuid.UUID]) -> list[HandoffView | None]:
        views = to_views(
            await self._rows(
                handoff_views().where(col(Handoff.id).in_(ids), visible_to(self._viewer)),
                viewer_params(self._viewer),
            )
        )
        by_id = {view.id: view for view in views}
        return [by_id.get(i) for i in ids]

    async def assessments(self, handoff_ids: Sequence[uuid.UUID]) -> list[list[AssessmentVersion]]:
        """Each handoff's assessments, oldest first: few each (limits.ASSESSMENTS_MAX)."""
        async with self._desk.db.read() as db:
            found = await assessments_of(db, self._viewer, handoff_ids)
        return [found.get(i, []) for i in handoff_ids]

    async def ratings(self, assessment_ids: Sequence[uuid.UUID]) -> list[list[AssessmentRating]]:
        async with self._desk.db.read() as db:
            found = await ratings_of(db, self._viewer, assessment_ids)
        return [found.get(i, []) for i in assessment_ids]

    async def snapshots(self, handoff_ids: Sequence[uuid.UUID]) -> list[dict[str, Any] | None]:
        rows = await self._rows(
            select(Handoff.id, Handoff.snapshot).where(
                col(Handoff.id).in_(handoff_ids), visible_to(self._viewer)
            )
        )
        by_id = dict(rows)
        return [by_id.get(i) for i in handoff_ids]

    async def escalation_packages(
        self, session_ids: Sequence[uuid.UUID]
    ) -> list[dict[str, Any] | None]:
        rows = await self._rows(
            select(TroubleshootingSession.id, TroubleshootingSession.escalation_package).where(
                col(TroubleshootingSession.id).in_(session_ids),
                in_account(TroubleshootingSession, self._viewer),
            )
        )
        by_id = dict(rows)
        return [by_id.get(i) for i in session_ids]


_Read = Callable[[Any, bool, list[tuple[uuid.UUID, Window]]], Awaitable[list[list[Any]]]]


async def _paged(keys: Sequence[tuple[uuid.UUID, PageAsk[Any]]], read: _Read) -> list[Page[Any]]:
    """Pages of several lists: one read for all those beyond the same cursor (every first page
    is beyond none), each list's rows and one more, then cut to its page."""
    groups: dict[tuple[Any, bool], list[int]] = defaultdict(list)
    for n, (_, ask) in enumerate(keys):
        groups[(ask.cursor, ask.from_end)].append(n)
    found: dict[int, Page[Any]] = {}
    for (cursor, before), members in groups.items():
        windows = [(keys[n][0], keys[n][1].window) for n in members]
        for n, rows in zip(members, await read(cursor, before, windows), strict=True):
            found[n] = pages.cut(rows, keys[n][1])
    return [found[n] for n in range(len(keys))]


def _numbered(
    stmt: Select[*tuple[Any, ...]], partition: Mapped[Any], *order: Mapped[Any]
) -> Select[*tuple[Any, ...]]:
    """`stmt` with each row's place in its partition counted from the start and from the end."""
    return stmt.add_columns(
        func.row_number().over(partition_by=partition, order_by=order).label("from_start"),
        func.row_number()
        .over(partition_by=partition, order_by=[o.desc() for o in order])
        .label("from_end"),
    )


def _picked(rows: list[Any], keys: Sequence[tuple[uuid.UUID, Window]]) -> list[list[Any]]:
    """Rows (entity, key, from_start, from_end) in order, picked per (key, window)."""
    groups: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        groups[row[1]].append(row)
    return [
        [r[0] for r in groups.get(key, []) if (r[3] if w.from_end else r[2]) <= w.size]
        for key, w in keys
    ]


def _grouped(rows: list[_V], keys: list[_K], key_of: Callable[[_V], _K]) -> list[list[_V]]:
    groups: dict[_K, list[_V]] = defaultdict(list)
    for row in rows:
        groups[key_of(row)].append(row)
    return [groups.get(k, []) for k in keys]
