"""CPU per email job: a backlog of escalation emails (`--escalations` x `--recipients`, recorded
as an escalation records them) sent by the worker every process runs (`workers.create_worker`)
to a local SMTP sink (aiosmtpd, its own process), timed from the first lease to the last job
settled. The worker runs in this process, so its CPU time is the email jobs' end to end: lease,
load, render, send, settle (PostgreSQL's own CPU is not counted: it is printed apart, from the
bench database's backends not being visible here, so only the worker's and the sink's).

    .venv/bin/python -m bench.email_cpu [--escalations 40] [--recipients 25] [--profile 25]

Needs PostgreSQL (a fresh bench database, dropped afterwards). `--profile N`: the worker under
cProfile, its N costliest functions (cumulative) printed. Run it on two branches for a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import time
import uuid

from sqlmodel import col, func, select

from bench.common import (
    TOKEN_SECRET,
    drop_postgres_database,
    free_port,
    fresh_postgres_database,
)
from bench.seed import seed
from bench.workers_keep_up import smtp_sink
from db.engine import Database, normalize_database_url
from db.enums import EmailStatus, JobKind, JobState
from db.models import EmailMessage, Job, User
from db.types import utcnow
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from workers import create_worker

DATABASE = "handoff_bench_email_cpu"
BODY = (
    "Alex escalated a handoff: Label printer jams on floor 3.\n\n"
    "Swapped the toner; still jams after ten labels.\n\n"
    "Open it: http://127.0.0.1:8000/handoffs/{n}\n"
)


async def record_emails(desk: Desk, escalations: int) -> int:
    """Each escalation's emails to every user of the account but the first, and their jobs."""
    async with desk.db.write() as db:
        users = (await db.exec(select(User).order_by(col(User.email)))).all()
        account = users[0].account_id
        recipients = [u for u in users if u.account_id == account][1:]
        from db.models import Handoff

        handoff = (await db.exec(select(Handoff).where(Handoff.account_id == account))).first()
        assert handoff is not None
        now = utcnow()
        for n in range(escalations):
            for user in recipients:
                email = EmailMessage(
                    id=uuid.uuid4(),
                    account_id=account,
                    handoff_id=handoff.id,
                    recipient_id=user.id,
                    to_address=user.email,
                    subject=f"Escalated: Label printer jams on floor 3 (#{n})",
                    body=BODY.format(n=n),
                    status=EmailStatus.PENDING,
                    created_at=now,
                )
                db.add(email)
                db.add(
                    Job(
                        kind=JobKind.EMAIL,
                        account_id=account,
                        subject_id=email.id,
                        run_after=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
    return escalations * len(recipients)


async def waiting(desk: Desk) -> int:
    async with desk.db.read() as db:
        stmt = select(func.count()).where(
            col(Job.kind) == JobKind.EMAIL, col(Job.state) != JobState.DONE
        )
        return (await db.exec(stmt)).one()


async def run(args, url: str, smtp_url: str) -> None:
    settings = Settings(
        database_url=url, smtp_url=smtp_url, token_secret=TOKEN_SECRET, log_format="text"
    )
    desk = Desk(settings=settings, db=Database.from_url(normalize_database_url(url)))
    total = await record_emails(desk, args.escalations)
    worker = create_worker(desk)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    worker.start()
    while (left := await waiting(desk)) > 0:  # noqa: ASYNC110  (another process's rows)
        await asyncio.sleep(0.05)
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await worker.stop()
    await desk.db.dispose()
    print(
        f"{total} emails in {wall:.2f} s ({total / wall:.0f}/s): worker CPU {cpu:.2f} s,"
        f" {cpu / total * 1000:.2f} ms per email ({left} left)"
    )
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--escalations", type=int, default=40)
    parser.add_argument("--recipients", type=int, default=25)
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args()
    url = fresh_postgres_database(DATABASE)
    sink = None
    try:
        asyncio.run(
            seed(url, accounts=1, handoffs_per_account=1, users_per_account=args.recipients + 1)
        )
        port = free_port()
        sink = smtp_sink(port)
        asyncio.run(run(args, url, f"smtp://127.0.0.1:{port}"))
        print(f"SMTP sink CPU {sink.cpu_seconds():.2f} s")
    finally:
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.stop()
        drop_postgres_database(DATABASE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
