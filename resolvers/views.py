"""Views of the desk: the handoffs a caller may see, filtered; and the escalator's own view, their
escalations and their parked sessions.

Every view is in the queue's order (unclaimed first, then by priority, newest first) and pages
with the queue's cursors, which carry the sort key and nothing of the filters: a cursor names
the same place in every view and under any filters, so one used with other filters is safe (the
page starts after that place in the order). A page and its counts (how many match, how many of
them the caller has read, whether any come before the cursor) cost two statements whatever the
page's size; the statements are built once per combination of filters and bound per request.

Search: on PostgreSQL, full-text (`websearch_to_tsquery` with the English configuration: words
are stemmed, "quoted phrases", `or` and `-word` work) against the GIN index of
`db.models.handoff_search_vector`. On SQLite, every word of the search must appear somewhere in
the same text (a substring; case-insensitive for ASCII letters), without an index.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, exists, func, select, text
from sqlalchemy.orm import aliased
from sqlmodel import col

from db.enums import HandoffIntent, Priority, SessionStatus
from db.models import SEARCH_CONFIG, Handoff, TroubleshootingSession, handoff_search_vector
from resolvers import limits
from resolvers.auth import Viewer
from resolvers.desk import Desk
from resolvers.errors import BadInput
from resolvers.parks import still_parked
from resolvers.queue import ACCOUNT_ID, QueuePage, counts_of, page_of, page_params, read_page
from resolvers.unread import VIEWER_ID
from resolvers.visibility import visible


class ClaimFilter(Enum):
    ANY = "any"
    UNCLAIMED = "unclaimed"
    MINE = "mine"  # claimed by the caller
    OTHERS = "others"  # claimed by someone else


class HandoffStatus(Enum):
    """A handoff's status is its session's: open until the session is resolved."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class HandoffFilter:
    """Which handoffs a view holds, of those the caller may see; every filter narrows it."""

    claim: ClaimFilter = ClaimFilter.ANY
    created_by_me: bool = False
    priorities: frozenset[Priority] | None = None  # None: any; empty: none
    intent: HandoffIntent | None = None  # None: escalations and the caller's own parks
    status: HandoffStatus | None = None
    search: str | None = None
    parked: bool = False  # only parks still holding their session (resolvers/parks.py)


@dataclass(frozen=True)
class _Shape:
    """What a view's statements depend on (the values it binds aside)."""

    claim: ClaimFilter
    created_by_me: bool
    ranks: tuple[int, ...] | None
    intent: HandoffIntent | None
    status: HandoffStatus | None
    parked: bool
    search_terms: int  # how many search parameters it binds
    sqlite: bool


async def handoff_view(
    desk: Desk, viewer: Viewer, filters: HandoffFilter, *, first: int, after: str | None
) -> QueuePage:
    params = page_params(viewer, first, after)
    terms = _search_terms(filters.search, sqlite=desk.db.is_sqlite)
    params.update((f"search_{n}", term) for n, term in enumerate(terms))
    shape = _Shape(
        claim=filters.claim,
        created_by_me=filters.created_by_me,
        ranks=None
        if filters.priorities is None
        else tuple(sorted(p.rank for p in filters.priorities)),
        intent=filters.intent,
        status=filters.status,
        parked=filters.parked,
        search_terms=len(terms),
        sqlite=desk.db.is_sqlite,
    )
    page, counts = _statements(shape, after is not None)
    return await read_page(desk, page, counts, params, first)


async def my_escalations(
    desk: Desk,
    viewer: Viewer,
    *,
    first: int,
    after: str | None,
    status: HandoffStatus | None = None,
) -> QueuePage:
    """The caller's escalations, whoever holds them now."""
    filters = HandoffFilter(intent=HandoffIntent.ESCALATE, created_by_me=True, status=status)
    return await handoff_view(desk, viewer, filters, first=first, after=after)


async def my_parked_sessions(
    desk: Desk, viewer: Viewer, *, first: int, after: str | None
) -> QueuePage:
    """The caller's parks that still hold their session: what they may resume."""
    filters = HandoffFilter(intent=HandoffIntent.PARK, created_by_me=True, parked=True)
    return await handoff_view(desk, viewer, filters, first=first, after=after)


def _search_terms(search: str | None, *, sqlite: bool) -> list[str]:
    """What a search binds: the text itself on PostgreSQL, its words on SQLite; none for no
    search (null, or only spaces)."""
    if search is None:
        return []
    search = limits.check_text(search, "search", maximum=limits.SEARCH_MAX, required=False)
    words = search.split()
    if len(words) > limits.SEARCH_WORDS_MAX:
        raise BadInput(f"search has {len(words)} words; the limit is {limits.SEARCH_WORDS_MAX}")
    if not words:
        return []
    return words if sqlite else [search]


@functools.lru_cache(maxsize=512)
def _statements(shape: _Shape, after: bool) -> tuple[Select[Any], Select[Any]]:
    where = _where(shape)
    return page_of(where, after), counts_of(where, after)


_status_session = aliased(TroubleshootingSession, name="status_session")


def _where(shape: _Shape) -> list[ColumnElement[bool]]:
    claimer = col(Handoff.claimed_by_id)
    # A withdrawn escalation is history (readable by id), in no view, as in no queue.
    where = [visible(ACCOUNT_ID, VIEWER_ID), col(Handoff.withdrawn_at).is_(None)]
    if shape.intent is not None:
        where.append(col(Handoff.intent) == shape.intent)
    match shape.claim:
        case ClaimFilter.UNCLAIMED:
            where.append(claimer.is_(None))
        case ClaimFilter.MINE:
            where.append(claimer == VIEWER_ID)
        case ClaimFilter.OTHERS:
            where.append(claimer.is_not(None) & (claimer != VIEWER_ID))
    if shape.created_by_me:
        where.append(col(Handoff.created_by_id) == VIEWER_ID)
    if shape.ranks is not None:
        where.append(col(Handoff.priority_rank).in_(shape.ranks))
    if shape.status is not None:
        resolved = exists().where(
            col(_status_session.id) == col(Handoff.session_id),
            col(_status_session.status) == SessionStatus.RESOLVED,
        )
        where.append(resolved if shape.status is HandoffStatus.RESOLVED else ~resolved)
    if shape.parked:
        where.append(still_parked())
    if shape.search_terms:
        where.extend(_matches(shape.search_terms, shape.sqlite))
    return where


def _matches(terms: int, sqlite: bool) -> list[ColumnElement[bool]]:
    params = [bindparam(f"search_{n}", type_=String()) for n in range(terms)]
    if not sqlite:
        query = func.websearch_to_tsquery(text(f"'{SEARCH_CONFIG}'::regconfig"), params[0])
        return [handoff_search_vector().op("@@")(query)]
    searched = func.lower(_sqlite_search_text())
    return [func.instr(searched, func.lower(word)) > 0 for word in params]


def _sqlite_search_text() -> ColumnElement[str]:
    """The text PostgreSQL's index covers, as one string: the problem summary, the notes, the
    assessment's summary, likely cause and steps."""
    steps = func.json_each(col(Handoff.assessment_suggested_steps)).table_valued("value")
    parts = [
        func.json_extract(col(Handoff.snapshot), "$.problem_summary"),
        col(Handoff.engineer_notes),
        col(Handoff.assessment_summary),
        col(Handoff.assessment_likely_cause),
        select(func.group_concat(steps.c.value, " ")).scalar_subquery(),
    ]
    joined: ColumnElement[str] = func.coalesce(parts[0], "")
    for part in parts[1:]:
        joined = joined.op("||")(" ").op("||")(func.coalesce(part, ""))
    return joined
