"""The assessment job: after an escalation commits (or a senior asks for a fresh assessment),
ask the assessor, store what it says. The job's subject is the handoff: it assesses the one
assessment of it that is pending."""

from __future__ import annotations

import asyncio
import logging
import time

from db.models import Handoff
from resolvers.assessments import (
    fail_assessment,
    feedback_for,
    pending_handoff,
    store_assessment,
    team_notes_for,
)
from resolvers.desk import Tx, transaction
from resolvers.handoffs import snapshot_conversation
from workers.assessors import AssessmentError, AssessmentRequest, Assessor
from workers.runner import Handler, JobRun

log = logging.getLogger(__name__)


def assessment_job(assessor: Assessor, timeout_seconds: float) -> Handler:
    async def run(job: JobRun) -> None:
        async with job.desk.db.read() as db:
            handoff = await pending_handoff(db, job.job.subject_id)
            conversation = await snapshot_conversation(db, handoff) if handoff else []
            feedback = await feedback_for(db, handoff) if handoff else []
            team_notes = await team_notes_for(db, handoff) if handoff else []
        if handoff is None:  # landed already (a retry after a lost lease), or gone
            async with transaction(job.desk) as tx:
                await job.done(tx)
            return
        messages = [{"role": m.role, "content": m.content} for m in conversation]
        request = AssessmentRequest.from_snapshot(
            handoff.snapshot | {"messages": messages},
            handoff.engineer_notes,
            handoff.priority,
            tuple(feedback),
            tuple(team_notes),
        )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_seconds):
                result = await assessor.assess(request)
        except (TimeoutError, AssessmentError) as error:
            timed_out = isinstance(error, TimeoutError)
            await _not_this_time(job, handoff, "timed out" if timed_out else str(error))
            job.desk.meter.assessment_failed(assessor.name, "timeout" if timed_out else "error")
            return
        seconds = time.perf_counter() - started
        async with transaction(job.desk) as tx:
            await store_assessment(tx, handoff, result, assessor=assessor.name)
            await job.done(tx)
        job.desk.meter.assessment_landed(assessor.name, seconds)

    return run


async def give_up_assessment(job: JobRun, tx: Tx) -> None:
    """The job failed for good: the assessment is failed, not pending (the escalation shows it if
    it had none before)."""
    handoff = await pending_handoff(tx.session, job.job.subject_id)
    if handoff is not None:
        await fail_assessment(tx, handoff)


async def _not_this_time(job: JobRun, handoff: Handoff, reason: str) -> None:
    async with transaction(job.desk) as tx:
        if job.last_attempt:
            log.warning("assessment of %s failed for good: %s", handoff.id, reason)
            await fail_assessment(tx, handoff)
            await job.failed(tx, reason)
        else:
            log.info("assessment of %s: %s; retrying", handoff.id, reason)
            await job.retry(tx, reason)
