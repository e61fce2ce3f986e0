"""An escalation's service level (issue 14, "timers that keep nothing waiting"): how long it may
wait in the queue unclaimed, by the account's settings and its priority; arming its timer when it
enters the queue (escalated, or released back); and its SLA state as clients see it.

What a timer does when it fires is resolvers/timers.py; this module is what the writes that put
an escalation in the queue call, and what the reads show.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, exists, false, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import JobKind, JobState, Priority, SessionStatus
from db.models import Handoff, HandoffTimer, Job, TimerSettings, TroubleshootingSession
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.errors import BadInput
from resolvers.outcomes import NotPermitted
from resolvers.permissions import Capability, requires
from resolvers.tenancy import in_account

# A setting is whole minutes, from one minute to 30 days.
MINUTES = range(1, 30 * 24 * 60 + 1)


@dataclass(frozen=True)
class TimerPolicy:
    """An account's timers, in minutes (db.models.TimerSettings; the defaults without a row)."""

    overdue_after: Mapping[Priority, int]  # unclaimed this long after entering the queue
    admins_after: Mapping[Priority, int]  # overdue this much longer: the admins are told
    nudge_after: int  # a claimer idle this long is nudged
    release_after: int  # ... and this long after the nudge, it goes back to the queue
    release_idle: bool  # False: the nudge, but never the release

    def overdue(self, priority: str) -> timedelta:
        return timedelta(minutes=self.overdue_after[Priority(priority)])

    def admins(self, priority: str) -> timedelta:
        return timedelta(minutes=self.admins_after[Priority(priority)])

    @property
    def nudge(self) -> timedelta:
        return timedelta(minutes=self.nudge_after)

    @property
    def release(self) -> timedelta:
        return timedelta(minutes=self.release_after)

    @property
    def check_every(self) -> timedelta:
        """How often a timer looks again at an escalation waiting in the queue, however far off
        its own due time: a claim made meanwhile starts the claimer's idle time (the nudge), and
        a priority raised meanwhile may bring the due time closer, and neither tells the timer.
        No longer than either, so that each still fires on time."""
        return timedelta(minutes=min(self.nudge_after, *self.overdue_after.values()))


_BY_PRIORITY = {Priority.URGENT: 5, Priority.HIGH: 15, Priority.NORMAL: 60, Priority.LOW: 240}
DEFAULT_POLICY = TimerPolicy(
    overdue_after=_BY_PRIORITY,
    admins_after=_BY_PRIORITY,  # a second period as long as the first
    nudge_after=30,
    release_after=30,
    release_idle=True,
)


def _policy(row: TimerSettings | None) -> TimerPolicy:
    if row is None:
        return DEFAULT_POLICY
    return TimerPolicy(
        overdue_after={p: getattr(row, f"{p.value}_overdue_minutes") for p in Priority},
        admins_after={p: getattr(row, f"{p.value}_admins_minutes") for p in Priority},
        nudge_after=row.nudge_minutes,
        release_after=row.release_minutes,
        release_idle=row.release_idle,
    )


async def timer_policy(db: AsyncSession, account_id: uuid.UUID) -> TimerPolicy:
    row = await db.get(TimerSettings, account_id)
    return _policy(row)


# --- arming: an escalation enters the queue ---


async def arm(tx: Tx, handoff: Handoff) -> None:
    """A new escalation waits from now: its timer row, and the job that checks it."""
    policy = await timer_policy(tx.session, handoff.account_id)
    now = handoff.created_at
    due = now + policy.overdue(handoff.priority)
    timer_id = uuid.uuid4()
    tx.insert_later(
        HandoffTimer,
        {
            "id": timer_id,
            "account_id": handoff.account_id,
            "handoff_id": handoff.id,
            "waiting_since": now,
            "due_at": due,
            "overdue_at": None,
            "admins_alerted_at": None,
            "nudged_at": None,
            "closed_at": None,
        },
    )
    tx.enqueue(
        JobKind.TIMER, handoff.account_id, timer_id, run_after=min(due, now + policy.check_every)
    )


async def rearm(tx: Tx, handoff: Handoff) -> None:
    """The escalation is back in the queue (released): it waits afresh, and its timer looks at
    it at once (its next check may have been its claimer's idle time)."""
    now = tx.now()
    policy = await timer_policy(tx.session, handoff.account_id)
    timer = await _locked_timer(tx, handoff)
    if timer is None:  # none to re-arm (since migration 0010 every escalation has one)
        return
    timer.waiting_since = now
    timer.due_at = now + policy.overdue(handoff.priority)
    timer.overdue_at = timer.admins_alerted_at = timer.nudged_at = None
    await _look_now(tx, timer)


async def reprioritise(tx: Tx, handoff: Handoff) -> None:
    """The escalation's priority changed: it is due its new priority's time after it began to
    wait, and its timer looks at once (an urgent one may be overdue now)."""
    policy = await timer_policy(tx.session, handoff.account_id)
    timer = await _locked_timer(tx, handoff)
    if timer is None:
        return
    timer.due_at = timer.waiting_since + policy.overdue(handoff.priority)
    await _look_now(tx, timer)


async def _locked_timer(tx: Tx, handoff: Handoff) -> HandoffTimer | None:
    stmt = select(HandoffTimer).where(col(HandoffTimer.handoff_id) == handoff.id).with_for_update()
    return (await tx.session.exec(stmt)).first()


async def _look_now(tx: Tx, timer: HandoffTimer) -> None:
    """Keep the timer's change, and have its job look at it now."""
    tx.session.add(timer)
    await _check_soon(tx, col(Job.subject_id) == timer.id, now=tx.now())


async def _check_soon(tx: Tx, *where: ColumnElement[bool], now: datetime) -> None:
    """Timers waiting for a later check look now instead (a leased one is checking already)."""
    await tx.write_rows()  # a job this transaction made is among them
    await tx.session.exec(
        update(Job)
        .where(
            col(Job.kind) == JobKind.TIMER,
            col(Job.state) == JobState.PENDING,
            col(Job.run_after) > now,
            *where,
        )
        .values(run_after=now)
    )
    tx.jobs.add(JobKind.TIMER)  # wakes this process's workers


# --- the account's settings ---


@dataclass(frozen=True)
class TimerChange:
    """What an admin changes of the account's timers; what is not given stays as it is."""

    overdue_after: Mapping[Priority, int] = field(default_factory=dict)
    admins_after: Mapping[Priority, int] = field(default_factory=dict)
    nudge_after: int | None = None
    release_after: int | None = None
    release_idle: bool | None = None

    def check(self) -> None:
        for name, minutes in self._minutes():
            if minutes not in MINUTES:
                raise BadInput(
                    f"{name} must be between {MINUTES.start} and {MINUTES.stop - 1} minutes, "
                    f"got {minutes}"
                )

    def _minutes(self) -> list[tuple[str, int]]:
        given: list[tuple[str, int | None]]
        given = [(f"overdueAfterMinutes ({p.name})", m) for p, m in self.overdue_after.items()]
        given += [(f"adminsAfterMinutes ({p.name})", m) for p, m in self.admins_after.items()]
        given += [
            ("nudgeAfterMinutes", self.nudge_after),
            ("releaseAfterMinutes", self.release_after),
        ]
        return [(name, m) for name, m in given if m is not None]

    def applied_to(self, policy: TimerPolicy) -> TimerPolicy:
        return replace(
            policy,
            overdue_after={**policy.overdue_after, **self.overdue_after},
            admins_after={**policy.admins_after, **self.admins_after},
            nudge_after=_given(self.nudge_after, policy.nudge_after),
            release_after=_given(self.release_after, policy.release_after),
            release_idle=_given(self.release_idle, policy.release_idle),
        )


_T = TypeVar("_T")


def _given(value: _T | None, current: _T) -> _T:
    return current if value is None else value


async def get_timer_settings(desk: Desk, viewer: Viewer) -> TimerPolicy:
    async with desk.db.read() as db:
        return await timer_policy(db, viewer.account_id)


@requires(Capability.ADMINISTER)
async def set_timer_settings(
    desk: Desk, viewer: Viewer, change: TimerChange
) -> TimerPolicy | NotPermitted:
    """The account's timers from now on: for new escalations, and for those waiting or claimed
    now, whose timers look again at once (a due time may have come closer, or passed)."""
    change.check()
    async with transaction(desk) as tx:
        row = await _settings_row(tx, viewer.account_id)
        policy = change.applied_to(_policy(row))
        _write(row, policy)
        row.updated_at = tx.now()
        tx.session.add(row)
        tx.touch(viewer.account_id)
        await _check_soon(tx, in_account(Job, viewer.account_id), now=tx.now())
    return policy


async def _settings_row(tx: Tx, account_id: uuid.UUID) -> TimerSettings:
    """The account's settings row, locked; made with the defaults if it had none (two admins'
    first changes at once: one makes it, and both change it, one after the other)."""
    insert = pg_insert if tx.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"account_id": account_id, "updated_at": tx.now(), **_values(DEFAULT_POLICY)}
    await tx.session.exec(
        insert(TimerSettings).values(**values).on_conflict_do_nothing(index_elements=["account_id"])
    )
    stmt = (
        select(TimerSettings)
        .where(in_account(TimerSettings, account_id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await tx.session.exec(stmt)).one()


def _write(row: TimerSettings, policy: TimerPolicy) -> None:
    for column, value in _values(policy).items():
        setattr(row, column, value)


def _values(policy: TimerPolicy) -> dict[str, int | bool]:
    """The policy as TimerSettings' columns."""
    values: dict[str, int | bool] = {
        "nudge_minutes": policy.nudge_after,
        "release_minutes": policy.release_after,
        "release_idle": policy.release_idle,
    }
    for p in Priority:
        values[f"{p.value}_overdue_minutes"] = policy.overdue_after[p]
        values[f"{p.value}_admins_minutes"] = policy.admins_after[p]
    return values


# --- what clients see: the SLA state ---


class SlaState(StrEnum):
    WAITING = "waiting"  # unclaimed, not due yet
    OVERDUE = "overdue"  # unclaimed past its due time: the team was told again
    ADMINS_ALERTED = "admins_alerted"  # still unclaimed a second period later: the admins too
    MET = "met"  # claimed by its due time
    MISSED = "missed"  # claimed after it


OVERDUE_STATES = frozenset({SlaState.OVERDUE, SlaState.ADMINS_ALERTED})


def sla_state(
    timer: HandoffTimer | None, *, claimed_at: datetime | None, session_status: str
) -> SlaState | None:
    """None: no timer (a park), or no longer waiting and never claimed (withdrawn). What the
    timer last found, so the same for every caller (and cached answers) until it looks again;
    `in_sla_states` is the same rule in SQL."""
    if timer is None:
        return None
    if claimed_at is not None:
        return SlaState.MET if claimed_at <= timer.due_at else SlaState.MISSED
    if timer.closed_at is not None or session_status != SessionStatus.ESCALATED:
        return None
    if timer.admins_alerted_at is not None:
        return SlaState.ADMINS_ALERTED
    if timer.overdue_at is not None:
        return SlaState.OVERDUE
    return SlaState.WAITING


def in_sla_states(states: frozenset[SlaState]) -> ColumnElement[bool]:
    """`sla_state`'s rule as a condition on Handoff rows (correlated subqueries, so that it
    composes with any select of handoffs: a page, its count, its read count)."""
    timer = aliased(HandoffTimer)
    session = aliased(TroubleshootingSession)

    def has_timer(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(col(timer.handoff_id) == col(Handoff.id), *where)

    claimed_at = col(Handoff.claimed_at)
    waiting = and_(
        claimed_at.is_(None),
        exists().where(
            col(session.id) == col(Handoff.session_id),
            col(session.status) == SessionStatus.ESCALATED,
        ),
    )
    is_open = col(timer.closed_at).is_(None)
    rules = {
        SlaState.WAITING: and_(waiting, has_timer(is_open, col(timer.overdue_at).is_(None))),
        SlaState.OVERDUE: and_(
            waiting,
            has_timer(
                is_open,
                col(timer.overdue_at).is_not(None),
                col(timer.admins_alerted_at).is_(None),
            ),
        ),
        SlaState.ADMINS_ALERTED: and_(
            waiting, has_timer(is_open, col(timer.admins_alerted_at).is_not(None))
        ),
        SlaState.MET: has_timer(claimed_at <= col(timer.due_at)),
        SlaState.MISSED: has_timer(claimed_at > col(timer.due_at)),
    }
    return or_(false(), *(rules[state] for state in sorted(states)))


async def overdue_by_state(desk: Desk) -> dict[SlaState, int]:
    """Escalations waiting unclaimed past their due time, in every account (the operators'
    metrics, not any user's view), by OVERDUE or ADMINS_ALERTED: `sla_state`'s rule, read from
    the few timers found overdue and still open."""
    alerted = col(HandoffTimer.admins_alerted_at).is_not(None)
    stmt = (
        select(alerted, func.count())
        .select_from(HandoffTimer)
        .join(Handoff, col(Handoff.id) == col(HandoffTimer.handoff_id))
        .join(TroubleshootingSession, col(TroubleshootingSession.id) == col(Handoff.session_id))
        .where(
            col(HandoffTimer.overdue_at).is_not(None),
            col(HandoffTimer.closed_at).is_(None),
            col(Handoff.claimed_at).is_(None),
            col(TroubleshootingSession.status) == SessionStatus.ESCALATED,
        )
        .group_by(alerted)
    )
    counts = dict.fromkeys(OVERDUE_STATES, 0)
    async with desk.db.read_rows() as conn:
        for admins_alerted, count in (await conn.execute(stmt)).all():
            counts[SlaState.ADMINS_ALERTED if admins_alerted else SlaState.OVERDUE] = count
    return counts


async def timers_by_handoff(
    desk: Desk, viewer: Viewer, handoff_ids: Sequence[uuid.UUID]
) -> list[HandoffTimer | None]:
    """Each handoff's timer (None for a park), in one statement: a DataLoader's batch."""
    stmt = select(HandoffTimer).where(
        col(HandoffTimer.handoff_id).in_(handoff_ids), in_account(HandoffTimer, viewer)
    )
    async with desk.db.read() as db:
        rows = {row.handoff_id: row for row in (await db.exec(stmt)).all()}
    return [rows.get(h) for h in handoff_ids]
