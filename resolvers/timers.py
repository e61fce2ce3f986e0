"""What an escalation's timer does when it fires (issue 14, "timers that keep nothing waiting").

One job per escalation (kind `timer`, its subject the escalation's HandoffTimer row) checks it at
each due time, and comes back for the next one. Each check looks at the escalation as it is now,
under the same row locks a claim or release takes, and does what is due of:

- unclaimed past its due time: marked overdue, the team (its engineers and admins) told again,
  once: an OVERDUE event and an email each;
- still unclaimed a second period later: the admins told, once: ADMINS_ALERTED and an email each;
- claimed, and its claimer did nothing on it (a message, a status change) for a while: the claimer
  nudged, once per idle stretch: NUDGED and an email;
- still nothing a further while after the nudge: released back to the queue (RELEASED, reason
  `idle`), unless the account turned that off, and the claimer told.

A claim, a withdrawal or a resolution needs no hook to cancel anything: the check that fires
after it finds the escalation claimed, withdrawn or resolved and does nothing of the above (and
once the escalation is over for good, the job ends). Its effects and its next due time commit
together, and only while its worker holds the job's lease, so however many workers run, each
step happens once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlmodel import col, select

from db.enums import EventKind, EventReason, HandoffIntent, SessionStatus
from db.models import Handoff, HandoffTimer, TroubleshootingSession, User
from resolvers import claims, notifications
from resolvers.desk import Tx
from resolvers.sla import TimerPolicy, timer_policy

log = logging.getLogger(__name__)


async def check_timer(tx: Tx, public_url: str, timer_id: uuid.UUID) -> datetime | None:
    """Do what is due of the escalation's timers now; when to look again (None: never, the
    escalation is over: resolved, withdrawn, handed off again, or gone)."""
    timer = await tx.session.get(HandoffTimer, timer_id)
    if timer is None or timer.closed_at is not None:
        return None
    # Locked in the order claims lock them (handoff, session), so a concurrent claim, release or
    # message waits for this check, or this check for it, and what is checked is what is changed.
    handoff = await _locked(tx, Handoff, timer.handoff_id)
    if handoff is None or handoff.intent != HandoffIntent.ESCALATE:
        return None
    session = await _locked(tx, TroubleshootingSession, handoff.session_id)
    timer = await _locked(tx, HandoffTimer, timer_id)
    assert session is not None and timer is not None  # rows are never deleted
    now = tx.now()
    if session.status == SessionStatus.RESOLVED or await _superseded(tx, handoff):
        _close(tx, timer, now)
        return None
    policy = await timer_policy(tx.session, handoff.account_id)
    check = _Check(tx, public_url, handoff, session, timer, policy, now)
    if handoff.claimed_by_id is None:
        if session.status != SessionStatus.ESCALATED:  # withdrawn: back with its escalator
            _close(tx, timer, now)
            return None
        return await check.waiting()
    return await check.claimed()


@dataclass
class _Check:
    """One check of one escalation, under its locks."""

    tx: Tx
    public_url: str
    handoff: Handoff
    session: TroubleshootingSession
    timer: HandoffTimer
    policy: TimerPolicy
    now: datetime

    async def waiting(self) -> datetime:
        """Unclaimed in the queue: overdue at its due time, the admins told a period later."""
        handoff, timer, policy, now = self.handoff, self.timer, self.policy, self.now
        # Its due time as the settings and its priority make it now (either may have changed).
        due = timer.waiting_since + policy.overdue(handoff.priority)
        if timer.due_at != due:
            timer.due_at = due
            self.tx.touch(handoff.account_id)
        waited = now - timer.waiting_since
        if timer.overdue_at is None and now >= due:
            timer.overdue_at = now
            await notifications.record_waiting_emails(
                self.tx, self.public_url, handoff, self.session, waited, admins=False
            )
            await self._record(EventKind.OVERDUE)
        admins_due = due + policy.admins(handoff.priority)
        if timer.overdue_at is not None and timer.admins_alerted_at is None and now >= admins_due:
            timer.admins_alerted_at = now
            await notifications.record_waiting_emails(
                self.tx, self.public_url, handoff, self.session, waited, admins=True
            )
            await self._record(EventKind.ADMINS_ALERTED)
        # Looked at again by its next step, and at least every `check_every` (a claim meanwhile).
        later = now + policy.check_every
        if timer.overdue_at is None:
            return min(due, later)
        if timer.admins_alerted_at is None:
            return min(admins_due, later)
        return later

    async def claimed(self) -> datetime:
        """Claimed: its claimer nudged after an idle while, the claim released after another."""
        handoff, session, timer, policy, now = (
            self.handoff,
            self.session,
            self.timer,
            self.policy,
            self.now,
        )
        claimer_id, claimed_at = handoff.claimed_by_id, handoff.claimed_at
        assert claimer_id is not None and claimed_at is not None
        if session.status != SessionStatus.ACTIVE or session.assignee_id != claimer_id:
            # Parked by its claimer (waiting on the customer), or passing between hands: nobody
            # is idle on it. Looked at again a nudge's time later, as if the claimer had acted.
            return now + policy.nudge
        # The claimer's last doing: the claim, or a change to the session since (a message, a
        # status change), made by them, who work it (or by an admin stepping in).
        active_at = max(claimed_at, session.updated_at)
        if timer.nudged_at is None or timer.nudged_at < active_at:  # not nudged since
            nudge_at = active_at + policy.nudge
            if now < nudge_at:
                return nudge_at  # a doing until then only moves it later
            timer.nudged_at = now
            release_in = policy.release if policy.release_idle else None
            claimer = await self.tx.session.get_one(User, claimer_id)
            notifications.record_nudge_email(
                self.tx, self.public_url, handoff, session, claimer, now - active_at, release_in
            )
            await self._record(EventKind.NUDGED)
            return now + (release_in or policy.nudge)
        if not policy.release_idle:
            return now + policy.nudge  # to nudge again after the claimer's next doing
        release_at = timer.nudged_at + policy.release
        if now < release_at:
            return release_at
        claimer = await self.tx.session.get_one(User, claimer_id)
        # give_back records RELEASED and puts the escalation in the queue afresh (sla.rearm).
        await claims.give_back(self.tx, handoff, session, actor_id=None, reason=EventReason.IDLE)
        notifications.record_idle_release_email(
            self.tx, self.public_url, handoff, session, claimer, now - active_at
        )
        log.info("escalation %s released: its claimer %s was idle", handoff.id, claimer_id)
        return min(timer.due_at, now + policy.check_every)

    async def _record(self, kind: EventKind) -> None:
        """The step's event, after the step's writes (it locks the account's counter last)."""
        self.tx.session.add(self.timer)
        await self.tx.session.flush()
        handoff = self.handoff
        await self.tx.record(handoff.account_id, kind, handoff_id=handoff.id, at=self.now)
        log.info("escalation %s: %s", handoff.id, kind)


def _close(tx: Tx, timer: HandoffTimer, now: datetime) -> None:
    timer.closed_at = now
    tx.session.add(timer)
    tx.touch(timer.account_id)


async def _superseded(tx: Tx, handoff: Handoff) -> bool:
    """The session was escalated again since: the newer escalation has its own timer."""
    newer = select(Handoff.id).where(
        Handoff.session_id == handoff.session_id,
        Handoff.intent == HandoffIntent.ESCALATE,
        Handoff.created_at > handoff.created_at,
    )
    return (await tx.session.exec(newer.limit(1))).first() is not None


_Row = TypeVar("_Row", Handoff, TroubleshootingSession, HandoffTimer)


async def _locked(tx: Tx, model: type[_Row], row_id: uuid.UUID) -> _Row | None:
    stmt = (
        select(model)
        .where(col(model.id) == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await tx.session.exec(stmt)).first()
