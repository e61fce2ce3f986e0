"""Escalations' timers under two `handoff-desk worker` processes: each timer fires once.

Two worker processes run; the escalations' timers fall due under both at once (the escalations
have waited three hours: overdue, and the admins' period over too), and they race for them. Every
escalation is marked overdue once and its admins alerted once, with one set of emails each.
(In-process workers with a clock the test moves: tests/api/test_timers.py.)"""

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, select, update

from db.enums import EventKind, JobKind, JobState, Priority
from db.models import AccountEvent, EmailMessage, HandoffTimer, Job
from db.types import utcnow
from tests.factories import make_escalation
from tests.waiting import wait_for

pytestmark = pytest.mark.anyio

ESCALATIONS = 16


async def test_two_worker_processes_fire_each_timer_once(serve, desk, team):
    members = [team.acme[name] for name in ("alex", "sam", "kim")]
    handoffs = [
        await make_escalation(desk, members[n % 3], f"Case {n:02d}", Priority.URGENT)
        for n in range(ESCALATIONS)
    ]
    ids = {h.id for h in handoffs}
    poll = {"HANDOFF_WORKER_POLL_SECONDS": "0.05", "HANDOFF_TIMER_WORKERS": "4"}
    workers = [serve("worker", ready=False, **poll) for _ in range(2)]

    async def both_running() -> bool:
        return all("running" in w.log_path.read_text() for w in workers)

    await wait_for(both_running, "both workers to run", timeout=60)
    # Both look for due jobs every 50 ms: the timers fall due under both at once.
    now = utcnow()
    async with desk.db.write() as session:
        await session.exec(update(HandoffTimer).values(waiting_since=now - timedelta(hours=3)))
        await session.exec(update(Job).where(col(Job.kind) == JobKind.TIMER).values(run_after=now))

    async def events_of(kind: EventKind) -> Counter:
        async with desk.db.read() as db:
            stmt = select(AccountEvent.handoff_id).where(AccountEvent.kind == kind)
            return Counter((await db.exec(stmt)).all())

    async def all_fired() -> bool:
        alerted = await events_of(EventKind.ADMINS_ALERTED)
        return set(alerted) == ids

    async def settled() -> bool:
        async with desk.db.read() as db:
            jobs = (await db.exec(select(Job).where(Job.kind == JobKind.TIMER))).all()
        later = utcnow()
        return all(j.state == JobState.PENDING and j.run_after > later for j in jobs)

    await wait_for(all_fired, "every escalation's admins to be alerted", timeout=60)
    await wait_for(settled, "every timer to be due again later", timeout=30)

    for worker in workers:
        assert "taken over" not in worker.log_path.read_text()
        assert worker.process.poll() is None
    assert await events_of(EventKind.OVERDUE) == Counter({i: 1 for i in ids})
    assert await events_of(EventKind.ADMINS_ALERTED) == Counter({i: 1 for i in ids})
    async with desk.db.read() as db:
        emails = (await db.exec(select(EmailMessage))).all()
    by_subject = Counter((e.handoff_id, e.subject.split(":")[0]) for e in emails)
    for handoff in handoffs:
        # The escalation's own emails went to its seniors but its escalator; so did the
        # overdue ones, once; the admins' alert went to Dana, once.
        escalated = by_subject[handoff.id, "Escalated"]
        assert escalated in (2, 3)
        assert by_subject[handoff.id, "Overdue"] == escalated
        assert by_subject[handoff.id, "Still unclaimed"] == 1
