"""An escalation's AI assessments (issue 15 made them several): the first, asked by the
escalation itself, and each fresh one a senior asks for; landing, stored with its event or marked
failed for good; and the seniors' ratings of them, which the next assessment is given.

What a handoff shows (its assessment_* columns, and Handoff.assessment_number) is its latest
assessment that landed ready, else its first: a reassessment that is pending, or that failed,
leaves the earlier one in place. At most one assessment of a handoff is pending at a time.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import AssessmentStatus, Confidence, EventKind, HandoffIntent, JobKind, Rating
from db.models import AssessmentRating, AssessmentVersion, Handoff, HandoffNote
from resolvers import limits
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.outcomes import NotAssessable, NotFound, NotPermitted
from resolvers.permissions import Capability, requires
from resolvers.tenancy import in_account
from resolvers.visibility import visible_to

MAX_STEPS = 8
# What a reassessment is given of the seniors' feedback: the ratings of the latest earlier
# assessments that landed, these many of them, and of each at most these many ratings.
FEEDBACK_ASSESSMENTS = 3
FEEDBACK_RATINGS = 10
FEEDBACK_NOTES = 20  # and the team's latest internal notes
# The metrics' label for an assessment whose assessor was not recorded (made before it was).
UNKNOWN_ASSESSOR = "unknown"


@dataclass(frozen=True)
class AssessmentResult:
    summary: str
    likely_cause: str
    suggested_steps: list[str]
    confidence: Confidence


@dataclass(frozen=True)
class Feedback:
    """An earlier assessment of the same escalation, and how the seniors rated it."""

    number: int
    summary: str
    likely_cause: str
    ratings: tuple[tuple[Rating, str | None], ...]  # (rating, reason), oldest first


# --- asking ------------------------------------------------------------------------------------


async def ask_first(tx: Tx, handoff: Handoff) -> None:
    """The escalation's own assessment, number 1, due from a worker after the commit (written
    with the transaction's other rows, after the handoff's)."""
    handoff.assessment_number = 1
    tx.session.add(handoff)
    tx.insert_later(
        AssessmentVersion,
        {
            "id": uuid.uuid4(),
            "account_id": handoff.account_id,
            "handoff_id": handoff.id,
            "number": 1,
            "requested_by_id": None,
            "requested_at": handoff.created_at,
            "status": AssessmentStatus.PENDING,
            "assessor": None,
            "summary": None,
            "likely_cause": None,
            "suggested_steps": None,
            "confidence": None,
            "landed_at": None,
        },
    )
    tx.enqueue(JobKind.ASSESS, handoff.account_id, handoff.id)


@requires(Capability.JUDGE_ASSESSMENTS)
async def reassess_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | NotFound | NotPermitted | NotAssessable:
    """Ask for a fresh assessment of an escalation: a job, due after the commit, and a
    REASSESSMENT_REQUESTED event, in one transaction. The handoff shows its assessment until the
    new one lands ready. While one is pending (the first, or another reassessment), asking again
    is a harmless no-op: the one on its way is the fresh one."""
    async with transaction(desk) as tx:
        # Locked: two seniors asking at once make one assessment, not two of one number.
        stmt = (
            select(Handoff)
            .where(col(Handoff.id) == handoff_id, visible_to(viewer))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        handoff = (await tx.session.exec(stmt)).first()
        if handoff is None:
            return NotFound("handoff")
        if handoff.intent != HandoffIntent.ESCALATE:
            return NotAssessable("A park is not assessed: escalate the session for one.", None)
        latest = await _latest(tx.session, handoff.id)
        if latest is not None and latest.status == AssessmentStatus.PENDING:
            return handoff
        number = latest.number + 1 if latest is not None else 1
        if number > limits.ASSESSMENTS_MAX:
            return NotAssessable(
                f"This escalation was assessed {limits.ASSESSMENTS_MAX} times: no more.",
                handoff.assessment_status,
            )
        now = tx.now()
        tx.session.add(
            AssessmentVersion(
                account_id=handoff.account_id,
                handoff_id=handoff.id,
                number=number,
                requested_by_id=viewer.user_id,
                requested_at=now,
                status=AssessmentStatus.PENDING,
            )
        )
        await tx.session.flush()
        tx.enqueue(JobKind.ASSESS, handoff.account_id, handoff.id)
        await tx.record(
            handoff.account_id,
            EventKind.REASSESSMENT_REQUESTED,
            handoff_id=handoff.id,
            actor_id=viewer.user_id,
            at=now,
        )
        return handoff


async def _latest(db: AsyncSession, handoff_id: uuid.UUID) -> AssessmentVersion | None:
    stmt = (
        select(AssessmentVersion)
        .where(col(AssessmentVersion.handoff_id) == handoff_id)
        .order_by(col(AssessmentVersion.number).desc())
        .limit(1)
    )
    return (await db.exec(stmt)).first()


# --- rating ------------------------------------------------------------------------------------


@requires(Capability.JUDGE_ASSESSMENTS)
async def rate_assessment(
    desk: Desk,
    viewer: Viewer,
    assessment_id: uuid.UUID,
    rating: Rating,
    reason: str | None = None,
) -> AssessmentVersion | NotFound | NotPermitted | NotAssessable:
    """The caller's rating of an assessment that landed: one per user and assessment, rating
    again replaces it (the reason with it). A rating that is new, or says otherwise than the
    caller's last, is counted for the operators (by assessor)."""
    why = limits.check_text(
        reason or "", "reason", maximum=limits.RATING_REASON_MAX, required=False
    )
    async with transaction(desk) as tx:
        stmt = (
            select(AssessmentVersion)
            .join(Handoff, col(Handoff.id) == col(AssessmentVersion.handoff_id))
            .where(
                col(AssessmentVersion.id) == assessment_id,
                in_account(AssessmentVersion, viewer),
                visible_to(viewer),
            )
        )
        version = (await tx.session.exec(stmt)).first()
        if version is None:
            return NotFound("assessment")
        if version.status != AssessmentStatus.READY:
            said = "has not landed yet" if version.status == AssessmentStatus.PENDING else "failed"
            return NotAssessable(f"This assessment {said}: nothing to rate.", version.status)
        before = await _rating_of(tx, version.id, viewer.user_id)
        await _put_rating(tx, viewer, version.id, rating, why or None)
        tx.touch(viewer.account_id)  # answers showing the ratings move on
    if before != rating:
        desk.meter.assessment_rated(version.assessor or UNKNOWN_ASSESSOR, rating)
    return version


async def _rating_of(tx: Tx, assessment_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    stmt = select(AssessmentRating.rating).where(
        col(AssessmentRating.assessment_id) == assessment_id,
        col(AssessmentRating.user_id) == user_id,
    )
    return (await tx.session.exec(stmt.with_for_update())).first()


async def _put_rating(
    tx: Tx, viewer: Viewer, assessment_id: uuid.UUID, rating: Rating, reason: str | None
) -> None:
    """One row per user and assessment: a second rating (from another tab, at the same moment
    too) replaces the first."""
    insert = pg_insert if tx.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"rating": rating, "reason": reason, "rated_at": tx.now()}
    stmt = insert(AssessmentRating).values(
        assessment_id=assessment_id, user_id=viewer.user_id, account_id=viewer.account_id, **values
    )
    await tx.session.exec(
        stmt.on_conflict_do_update(index_elements=["assessment_id", "user_id"], set_=values)
    )


# --- what clients read (the adapter's loaders) -------------------------------------------------


async def assessments_of(
    db: AsyncSession, viewer: Viewer, handoff_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AssessmentVersion]]:
    """Each handoff's assessments, oldest first (at most ASSESSMENTS_MAX each), of those the
    viewer may see."""
    stmt = (
        select(AssessmentVersion)
        .join(Handoff, col(Handoff.id) == col(AssessmentVersion.handoff_id))
        .where(
            col(AssessmentVersion.handoff_id).in_(handoff_ids),
            in_account(AssessmentVersion, viewer),
            visible_to(viewer),
        )
        .order_by(col(AssessmentVersion.handoff_id), col(AssessmentVersion.number))
    )
    found: dict[uuid.UUID, list[AssessmentVersion]] = defaultdict(list)
    for version in (await db.exec(stmt)).all():
        found[version.handoff_id].append(version)
    return found


async def ratings_of(
    db: AsyncSession, viewer: Viewer, assessment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AssessmentRating]]:
    """Each assessment's ratings, oldest first (one per user of the account at most)."""
    stmt = (
        select(AssessmentRating)
        .where(
            col(AssessmentRating.assessment_id).in_(assessment_ids),
            in_account(AssessmentRating, viewer),
        )
        .order_by(col(AssessmentRating.assessment_id), col(AssessmentRating.rated_at))
    )
    found: dict[uuid.UUID, list[AssessmentRating]] = defaultdict(list)
    for rating in (await db.exec(stmt)).all():
        found[rating.assessment_id].append(rating)
    return found


def reassessment(versions: Sequence[AssessmentVersion], shown: int) -> AssessmentVersion | None:
    """The fresh assessment on its way, if one is: pending, and not the one the handoff shows
    (a first assessment still pending is the handoff's assessment, not a reassessment)."""
    return next(
        (v for v in versions if v.status == AssessmentStatus.PENDING and v.number != shown), None
    )


# --- landing (the assessment job, workers/assessments.py) ---------------------------------------


async def pending_handoff(session: AsyncSession, handoff_id: uuid.UUID) -> Handoff | None:
    """The escalation while an assessment of it is pending, or None (landed already, or
    gone)."""
    stmt = (
        select(Handoff)
        .join(AssessmentVersion, col(AssessmentVersion.handoff_id) == col(Handoff.id))
        .where(
            col(Handoff.id) == handoff_id,
            col(AssessmentVersion.status) == AssessmentStatus.PENDING,
        )
    )
    return (await session.exec(stmt)).first()


async def feedback_for(session: AsyncSession, handoff: Handoff) -> list[Feedback]:
    """What the seniors said of the escalation's latest assessments that landed ready, oldest
    first: what a fresh assessment is given (nothing, for a first one)."""
    stmt = (
        select(AssessmentVersion)
        .where(
            col(AssessmentVersion.handoff_id) == handoff.id,
            col(AssessmentVersion.status) == AssessmentStatus.READY,
        )
        .order_by(col(AssessmentVersion.number).desc())
        .limit(FEEDBACK_ASSESSMENTS)
    )
    earlier = list(reversed((await session.exec(stmt)).all()))
    if not earlier:
        return []
    ratings = await session.exec(
        select(AssessmentRating)
        .where(col(AssessmentRating.assessment_id).in_([v.id for v in earlier]))
        .order_by(col(AssessmentRating.rated_at))
    )
    by_version: dict[uuid.UUID, list[AssessmentRating]] = defaultdict(list)
    for rating in ratings.all():
        by_version[rating.assessment_id].append(rating)
    return [
        Feedback(
            number=v.number,
            summary=v.summary or "",
            likely_cause=v.likely_cause or "",
            ratings=tuple(
                (Rating(r.rating), r.reason) for r in by_version[v.id][-FEEDBACK_RATINGS:]
            ),
        )
        for v in earlier
    ]


async def team_notes_for(session: AsyncSession, handoff: Handoff) -> list[str]:
    """The team's internal notes on the escalation, the latest FEEDBACK_NOTES of them, oldest
    first: what an assessment is given of what the seniors found out."""
    stmt = (
        select(HandoffNote.body)
        .where(col(HandoffNote.handoff_id) == handoff.id)
        .order_by(col(HandoffNote.created_at).desc())
        .limit(FEEDBACK_NOTES)
    )
    return list(reversed((await session.exec(stmt)).all()))


async def store_assessment(
    tx: Tx, handoff: Handoff, result: AssessmentResult, *, assessor: str
) -> bool:
    """The pending assessment landed ready: kept, and shown by the handoff from now on."""
    content: dict[str, Any] = {
        "summary": result.summary,
        "likely_cause": result.likely_cause,
        "suggested_steps": list(result.suggested_steps[:MAX_STEPS]),
        "confidence": result.confidence,
    }
    now = tx.now()
    number = await _land(tx, handoff, AssessmentStatus.READY, now, assessor=assessor, **content)
    if number is None:
        return False
    await tx.session.exec(
        update(Handoff)
        .where(col(Handoff.id) == handoff.id)
        .values(
            assessment_status=AssessmentStatus.READY,
            assessment_updated_at=now,
            assessment_number=number,
            **{f"assessment_{name}": value for name, value in content.items()},
        )
    )
    await tx.record(handoff.account_id, EventKind.ASSESSMENT_READY, handoff_id=handoff.id, at=now)
    return True


async def fail_assessment(tx: Tx, handoff: Handoff) -> bool:
    """The pending assessment failed for good: kept as failed. A handoff still waiting for its
    first shows the failure; one that had an assessment keeps showing it."""
    now = tx.now()
    if await _land(tx, handoff, AssessmentStatus.FAILED, now) is None:
        return False
    await tx.session.exec(
        update(Handoff)
        .where(
            col(Handoff.id) == handoff.id,
            col(Handoff.assessment_status) == AssessmentStatus.PENDING,
        )
        .values(assessment_status=AssessmentStatus.FAILED, assessment_updated_at=now)
    )
    await tx.record(handoff.account_id, EventKind.ASSESSMENT_FAILED, handoff_id=handoff.id, at=now)
    return True


async def _land(
    tx: Tx, handoff: Handoff, status: AssessmentStatus, now: datetime, **values: Any
) -> int | None:
    """The handoff's pending assessment, settled once (a retry after a lost lease finds none):
    its number, or None."""
    landed: int | None = (
        await tx.session.exec(
            update(AssessmentVersion)
            .where(
                col(AssessmentVersion.handoff_id) == handoff.id,
                col(AssessmentVersion.status) == AssessmentStatus.PENDING,
            )
            .values(status=status, landed_at=now, **values)
            .returning(col(AssessmentVersion.number))
        )
    ).scalar_one_or_none()
    return landed
