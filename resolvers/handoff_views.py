"""Handoffs as a client sees them, loaded in one statement: each handoff joined with its session,
its creator, its claimer and the caller's read mark. Plain rows, not ORM entities: a page of 50
costs one round trip and no identity-map bookkeeping. The large JSON columns (snapshot,
escalation package) are left out; they load on demand."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Handoff, TroubleshootingSession, User
from resolvers.auth import Viewer
from resolvers.unread import seen_flag
from resolvers.visibility import visible_to


@dataclass(slots=True)
class UserView:
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    email: str
    role: str
    active: bool


@dataclass(slots=True)
class SessionView:
    id: uuid.UUID
    account_id: uuid.UUID
    owner_id: uuid.UUID
    assignee_id: uuid.UUID
    intake_type: str
    intake_content: str
    problem_summary: str
    status: str
    confidence_tier: str | None
    handoff_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class HandoffView:
    id: uuid.UUID
    account_id: uuid.UUID
    session_id: uuid.UUID
    intent: str
    engineer_notes: str
    priority: str
    priority_rank: int
    created_by_id: uuid.UUID
    created_at: datetime
    assessment_status: str
    assessment_summary: str | None
    assessment_likely_cause: str | None
    assessment_suggested_steps: list[str] | None
    assessment_confidence: str | None
    assessment_updated_at: datetime | None
    assessment_number: int
    claimed_by_id: uuid.UUID | None
    claimed_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_by_id: uuid.UUID | None
    unread: bool
    session: SessionView
    created_by: UserView
    claimed_by: UserView | None


_HANDOFF_FIELDS = (
    "id",
    "account_id",
    "session_id",
    "intent",
    "engineer_notes",
    "priority",
    "priority_rank",
    "created_by_id",
    "created_at",
    "assessment_status",
    "assessment_summary",
    "assessment_likely_cause",
    "assessment_suggested_steps",
    "assessment_confidence",
    "assessment_updated_at",
    "assessment_number",
    "claimed_by_id",
    "claimed_at",
    "withdrawn_at",
    "withdrawn_by_id",
)
_HANDOFF = [col(getattr(Handoff, name)) for name in _HANDOFF_FIELDS]
_SESSION_FIELDS = list(SessionView.__dataclass_fields__)
_USER_FIELDS = list(UserView.__dataclass_fields__)
_creator = aliased(User, name="creator")
_claimer = aliased(User, name="claimer")


def viewer_params(viewer: Viewer) -> dict[str, Any]:
    return {"viewer_id": viewer.user_id}


def handoff_views() -> Select[*tuple[Any, ...]]:
    """The joined select, built once; callers add WHERE, ORDER BY and LIMIT, and execute it with
    `viewer_params(viewer)`. Tenancy is the callers': every use filters `Handoff.account_id`
    (see `visible_to`)."""
    seen = seen_flag()
    columns = [
        *_HANDOFF,
        seen,
        *(getattr(TroubleshootingSession, f) for f in _SESSION_FIELDS),
        *(getattr(_creator, f) for f in _USER_FIELDS),
        *(getattr(_claimer, f) for f in _USER_FIELDS),
    ]
    return (
        select(*columns)
        .select_from(Handoff)
        .join(TroubleshootingSession, col(TroubleshootingSession.id) == col(Handoff.session_id))
        .join(_creator, col(_creator.id) == col(Handoff.created_by_id))
        .outerjoin(_claimer, col(_claimer.id) == col(Handoff.claimed_by_id))
    )


_N_HANDOFF = len(_HANDOFF)
_N_SESSION = len(_SESSION_FIELDS)
_N_USER = len(_USER_FIELDS)


def to_views(rows: Iterable[Sequence[Any]]) -> list[HandoffView]:
    views = []
    s0 = _N_HANDOFF + 1
    c0 = s0 + _N_SESSION
    k0 = c0 + _N_USER
    for row in rows:
        claimer = UserView(*row[k0 : k0 + _N_USER]) if row[k0] is not None else None
        views.append(
            # (mypy takes the starred row for every field, and counts the others as too many.)
            HandoffView(  # type: ignore[call-arg]
                *row[:_N_HANDOFF],
                not row[_N_HANDOFF],  # unread: no read mark
                SessionView(*row[s0:c0]),
                UserView(*row[c0:k0]),
                claimer,
            )
        )
    return views


async def views_by_id(
    db: AsyncSession, viewer: Viewer, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, HandoffView]:
    stmt = handoff_views().where(col(Handoff.id).in_(list(ids)), visible_to(viewer))
    # (SQLModel types exec() for its own selects; it runs SQLAlchemy's just the same.)
    rows = (await db.exec(stmt, params=viewer_params(viewer))).all()  # type: ignore[call-overload]
    return {view.id: view for view in to_views(rows)}
