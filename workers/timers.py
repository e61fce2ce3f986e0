"""The timer job: check an escalation's timers at their due time (resolvers/timers.py), and come
back at the next one."""

from __future__ import annotations

from resolvers.desk import transaction
from resolvers.timers import check_timer
from workers.runner import Handler, JobRun

# A check that crashes is tried again with backoff; one that crashes this often is a bug, and
# the job is left failed (with its error) rather than crashing forever.
TIMER_ATTEMPTS = 5


def timer_job() -> Handler:
    async def run(job: JobRun) -> None:
        async with transaction(job.desk) as tx:
            public_url = job.desk.settings.public_url
            next_check = await check_timer(tx, public_url, job.job.subject_id)
            # Settled in the check's transaction: if another worker took the job over meanwhile
            # (our lease ran out), this raises and the check's effects roll back with it.
            if next_check is None:
                await job.done(tx)
            else:
                await job.reschedule(tx, next_check)

    return run
