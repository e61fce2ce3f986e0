"""The job table's statements that need care: leasing, and settling a leased job.

A job is leased with one conditional update. Settling it (done, retry, failed) is conditional on
still holding the lease and happens in the transaction that commits the job's effect: a worker
whose lease expired (it was too slow, or presumed dead) finds its settlement refused, rolls its
effect back, and the job's effect is committed exactly once.

A lease belongs to one attempt, not to a worker: each lease writes a fresh token (the worker's
name plus a random part) into `lease_owner`, and only that token settles or hands the job back.
Slots of one worker share its name, so matching the name alone would let a slot whose lease
expired settle the job another slot of the same worker has since leased again.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import Database
from db.enums import JobKind, JobState
from db.models import Job
from db.types import utcnow


@dataclass(frozen=True)
class LeasedJob:
    id: uuid.UUID
    kind: JobKind
    account_id: uuid.UUID
    subject_id: uuid.UUID
    attempts: int  # including this one
    lease: str  # this attempt's token in `lease_owner`
    request_id: str | None = None  # the request that enqueued it
    trace_parent: str | None = None  # its trace (W3C traceparent), when traces are on


# `lease_owner` is 64 characters wide: the worker's name is cut to leave room for the random part.
_OWNER_CHARS = 47


def lease_token(owner: str) -> str:
    return f"{owner[:_OWNER_CHARS]}/{secrets.token_hex(8)}"


async def lease_job(
    db: Database,
    owner: str,
    kinds: Sequence[JobKind],
    lease_seconds: float,
    *,
    now: datetime | None = None,
) -> LeasedJob | None:
    """`now`: the worker's clock (due times and leases are measured on it)."""
    jobs = await lease_jobs(db, owner, kinds, lease_seconds, 1, now=now)
    return jobs[0] if jobs else None


async def lease_jobs(
    db: Database,
    owner: str,
    kinds: Sequence[JobKind],
    lease_seconds: float,
    limit: int,
    *,
    now: datetime | None = None,
) -> list[LeasedJob]:
    """Up to `limit` due jobs in one statement, the longest due first, under one lease token:
    the batch is one attempt at each of its jobs (each still settled on its own, or together,
    only while that token holds it). `now`: the worker's clock."""
    now = now or utcnow()
    lease = lease_token(owner)
    available = ((col(Job.state) == JobState.PENDING) & (col(Job.run_after) <= now)) | (
        (col(Job.state) == JobState.RUNNING) & (col(Job.lease_expires_at) < now)
    )
    pick = (
        select(Job.id)
        .where(available, col(Job.kind).in_(list(kinds)))
        .order_by(col(Job.run_after))
        .limit(limit)
    )
    if not db.is_sqlite:  # SQLite's write transactions are exclusive already
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(Job)
        .where(col(Job.id).in_(pick.scalar_subquery()))
        .values(
            state=JobState.RUNNING,
            lease_owner=lease,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(
            col(Job.id),
            col(Job.kind),
            col(Job.account_id),
            col(Job.subject_id),
            col(Job.attempts),
            col(Job.request_id),
            col(Job.trace_parent),
            col(Job.run_after),
        )
    )
    async with db.write() as session:
        rows = (await session.exec(stmt)).all()
    rows = sorted(rows, key=lambda row: row.run_after)  # RETURNING's order is not promised
    return [
        LeasedJob(
            id=row.id,
            kind=JobKind(row.kind),
            account_id=row.account_id,
            subject_id=row.subject_id,
            attempts=row.attempts,
            lease=lease,
            request_id=row.request_id,
            trace_parent=row.trace_parent,
        )
        for row in rows
    ]


async def settle_job(
    session: AsyncSession,
    job: LeasedJob,
    state: JobState,
    *,
    error: str | None = None,
    retry_in: float | None = None,
    now: datetime | None = None,
) -> bool:
    """Done, failed, or back to pending after `retry_in` seconds; False if the lease was lost."""
    settled = await settle_jobs(session, [job], state, error=error, retry_in=retry_in, now=now)
    return job.id in settled


async def reschedule_job(
    session: AsyncSession, job: LeasedJob, run_after: datetime, *, now: datetime
) -> bool:
    """A job that comes back by design (a timer's next due time): pending again from
    `run_after`, its attempts counted afresh; False if the lease was lost."""
    values = {
        "state": JobState.PENDING,
        "run_after": run_after,
        "attempts": 0,
        "last_error": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    return job.id in await _settle(session, [job], values)


async def settle_jobs(
    session: AsyncSession,
    jobs: Sequence[LeasedJob],
    state: JobState,
    *,
    error: str | None = None,
    retry_in: float | None = None,
    now: datetime | None = None,
) -> set[uuid.UUID]:
    """Done, failed, or back to pending after `retry_in` seconds, in one statement per lease,
    each job only if its own lease still holds: the ids of those settled (the others' attempts
    were taken over)."""
    now = now or utcnow()
    values: dict[str, Any] = {
        "state": state,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    if error is not None:
        values["last_error"] = error[:2000]
    if retry_in is not None:
        values["run_after"] = now + timedelta(seconds=retry_in)
    return await _settle(session, jobs, values)


async def _settle(
    session: AsyncSession, jobs: Sequence[LeasedJob], values: dict[str, Any]
) -> set[uuid.UUID]:
    """The jobs' new state, for those whose attempt still holds its lease: their ids."""
    by_lease: dict[str, list[uuid.UUID]] = {}
    for job in jobs:
        by_lease.setdefault(job.lease, []).append(job.id)
    settled: set[uuid.UUID] = set()
    for lease, ids in by_lease.items():
        stmt = (
            update(Job)
            .where(
                col(Job.id).in_(ids),
                col(Job.lease_owner) == lease,
                col(Job.state) == JobState.RUNNING,
            )
            .values(**values)
            .returning(col(Job.id))
        )
        settled.update(row.id for row in (await session.exec(stmt)).all())
    return settled


async def return_job(db: Database, job: LeasedJob) -> None:
    """Shutdown: hand an unfinished job back at once, without counting the attempt."""
    await return_jobs(db, [job])


async def return_jobs(db: Database, jobs: Sequence[LeasedJob]) -> None:
    """`return_job` for jobs leased together (under one token), in one statement."""
    if not jobs:
        return
    stmt = (
        update(Job)
        .where(col(Job.id).in_([job.id for job in jobs]), col(Job.lease_owner) == jobs[0].lease)
        .values(
            state=JobState.PENDING,
            lease_owner=None,
            lease_expires_at=None,
            attempts=Job.attempts - 1,
            updated_at=utcnow(),
        )
    )
    async with db.write() as session:
        await session.exec(stmt)


async def pending_jobs_by_kind(db: Database) -> dict[str, int]:
    """Jobs not done yet (waiting or leased), counted by kind; a kind with none is absent."""
    stmt = (
        select(Job.kind, func.count())
        .where(col(Job.state).in_([JobState.PENDING, JobState.RUNNING]))
        .group_by(Job.kind)
    )
    async with db.read_rows() as conn:
        return dict((await conn.execute(stmt)).all())
