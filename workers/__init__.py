"""Work done after commit: assessments, emails and escalations' timers, leased from the job
table."""

from __future__ import annotations

from db.enums import JobKind
from resolvers.desk import Desk
from workers.assessments import assessment_job, give_up_assessment
from workers.assessors import create_assessor
from workers.emails import email_job, give_up_email
from workers.runner import Worker
from workers.smtp import SmtpConnections
from workers.timers import TIMER_ATTEMPTS, timer_job


def create_worker(desk: Desk) -> Worker:
    settings = desk.settings
    # Kept open between emails, shared by the email slots (at most one each), closed on stop.
    mail_server = SmtpConnections(settings.smtp_url, settings.smtp_timeout_seconds)
    return Worker(
        desk,
        {
            JobKind.ASSESS: (
                assessment_job(
                    create_assessor(settings, desk.tracing), settings.assessment_timeout_seconds
                ),
                settings.assessment_attempts,
                give_up_assessment,
            ),
            JobKind.EMAIL: (
                email_job(
                    settings.smtp_url,
                    settings.email_from,
                    settings.smtp_timeout_seconds,
                    mail_server,
                ),
                settings.email_attempts,
                give_up_email,
            ),
            JobKind.TIMER: (timer_job(), TIMER_ATTEMPTS),
        },
        lease_seconds=settings.job_lease_seconds,
        # Each kind its own slots: a backlog of one never holds the slots another needs.
        pools=[
            ([JobKind.ASSESS], settings.assessment_workers),
            ([JobKind.EMAIL], settings.email_workers, settings.email_batch),
            ([JobKind.TIMER], settings.timer_workers),
        ],
        poll_seconds=settings.worker_poll_seconds,
        retry_base_seconds=settings.retry_base_seconds,
        on_stop=[mail_server.close],
    )
