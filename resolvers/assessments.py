"""An escalation's AI assessment landing: stored with its event, or marked failed for good."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import AssessmentStatus, Confidence, EventKind
from db.models import Handoff
from db.types import utcnow
from resolvers.desk import Tx

MAX_STEPS = 8


@dataclass(frozen=True)
class AssessmentResult:
    summary: str
    likely_cause: str
    suggested_steps: list[str]
    confidence: Confidence


async def pending_handoff(session: AsyncSession, handoff_id: uuid.UUID) -> Handoff | None:
    """The escalation still waiting for its assessment, or None (already landed, or gone)."""
    stmt = select(Handoff).where(
        col(Handoff.id) == handoff_id,
        col(Handoff.assessment_status) == AssessmentStatus.PENDING,
    )
    return (await session.exec(stmt)).first()


async def store_assessment(tx: Tx, handoff: Handoff, result: AssessmentResult) -> bool:
    return await _land(
        tx,
        handoff,
        EventKind.ASSESSMENT_READY,
        assessment_status=AssessmentStatus.READY,
        assessment_summary=result.summary,
        assessment_likely_cause=result.likely_cause,
        assessment_suggested_steps=list(result.suggested_steps[:MAX_STEPS]),
        assessment_confidence=result.confidence,
    )


async def fail_assessment(tx: Tx, handoff: Handoff) -> bool:
    return await _land(
        tx, handoff, EventKind.ASSESSMENT_FAILED, assessment_status=AssessmentStatus.FAILED
    )


async def _land(tx: Tx, handoff: Handoff, kind: EventKind, **values: Any) -> bool:
    now = utcnow()
    landed = (
        await tx.session.exec(
            update(Handoff)
            .where(
                col(Handoff.id) == handoff.id,
                col(Handoff.assessment_status) == AssessmentStatus.PENDING,
            )
            .values(assessment_updated_at=now, **values)
            .returning(col(Handoff.id))
        )
    ).first()
    if landed is None:
        return False
    await tx.record(handoff.account_id, kind, handoff_id=handoff.id, at=now)
    return True
