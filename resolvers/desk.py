"""The services a resolver works with, and the one way to write: `transaction(desk)`.

A transaction's event-log rows and job rows commit together with the change they describe; the
notifier hears of them only after the commit, so no client ever learns of a change that rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from asgi_correlation_id import correlation_id
from sqlalchemy import Table, insert, literal, select
from sqlmodel import SQLModel, col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import Database
from db.enums import EventKind, EventReason, JobKind, JobState
from db.models import Account, AccountEvent, Job
from db.types import utcnow
from resolvers.outcomes import Failure


class Notifier(Protocol):
    async def events_committed(self, account_id: uuid.UUID, last_seq: int) -> None: ...

    async def marks_committed(self, user_id: uuid.UUID, handoff_ids: list[uuid.UUID]) -> None:
        """The user read these handoffs (new read marks): told to that user's sockets alone."""
        ...

    async def notifications_committed(self, user_id: uuid.UUID) -> None:
        """The user's in-app notifications changed (new ones, or read): told to their sockets."""
        ...

    def jobs_committed(self, kinds: frozenset[JobKind]) -> None:
        """Jobs of these kinds are due now: the process's workers for them may look."""
        ...


class SilentNotifier:
    """For commands and scripts that run without a server: the log and the jobs table suffice."""

    async def events_committed(self, account_id: uuid.UUID, last_seq: int) -> None:
        return None

    async def marks_committed(self, user_id: uuid.UUID, handoff_ids: list[uuid.UUID]) -> None:
        return None

    async def notifications_committed(self, user_id: uuid.UUID) -> None:
        return None

    def jobs_committed(self, kinds: frozenset[JobKind]) -> None:
        return None


class Meter(Protocol):
    """What the desk counts for its operators (handoff_desk/ops/metrics.py), told after the
    commit of what it counts."""

    def assessment_rated(self, assessor: str, rating: str) -> None: ...

    def first_claim(self, waited_seconds: float) -> None:
        """An escalation was claimed for the first time, this long after it was made."""
        ...

    def claim_contended(self) -> None:
        """A claim was refused: another senior holds the escalation (a race lost, mostly)."""
        ...

    def assessment_landed(self, assessor: str, seconds: float) -> None:
        """The assessor answered, in this long, and its assessment is stored."""
        ...

    def assessment_failed(self, assessor: str, reason: str) -> None:
        """An attempt at an assessment failed (`timeout` or `error`)."""
        ...

    def email_failed(self, outcome: str) -> None:
        """An email was not sent: `retrying` later, or `given_up` (its last attempt)."""
        ...


class NoMeter:
    """For commands, scripts and workers on their own: nobody scrapes them."""

    def assessment_rated(self, assessor: str, rating: str) -> None:
        return None

    def first_claim(self, waited_seconds: float) -> None:
        return None

    def claim_contended(self) -> None:
        return None

    def assessment_landed(self, assessor: str, seconds: float) -> None:
        return None

    def assessment_failed(self, assessor: str, reason: str) -> None:
        return None

    def email_failed(self, outcome: str) -> None:
        return None


class Clock(Protocol):
    """What the desk and its workers ask the time of: the system's, or a test's that it moves on
    by hand (timers are tested by moving a clock, never by waiting for one)."""

    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class Tracing(Protocol):
    """Traces, when they are on (handoff_desk/ops/tracing.py): a job carries the trace of the
    request that caused it, and the worker's span for it joins that trace."""

    def trace_parent(self) -> str | None:
        """The trace being made now, as a W3C traceparent for a job to keep (None outside
        any)."""
        ...

    def job_span(self, kind: str, trace_parent: str | None) -> AbstractContextManager[object]:
        """Around a job's attempt: its span, a child of `trace_parent` (none without one)."""
        ...

    def inject(self, headers: dict[str, str]) -> None:
        """Into an outgoing HTTP call's headers: the current span (W3C traceparent)."""
        ...


class DeskSettings(Protocol):
    """What the domain and the workers read of the settings; the app passes its own
    (handoff_desk.settings.Settings), so nothing here imports upward."""

    @property
    def token_secret(self) -> str: ...
    @property
    def token_ttl_seconds(self) -> int: ...
    @property
    def login_max_failures(self) -> int: ...
    @property
    def login_max_failures_per_address(self) -> int: ...
    @property
    def login_window_seconds(self) -> int: ...
    @property
    def assessor(self) -> str: ...
    @property
    def assessment_timeout_seconds(self) -> float: ...
    @property
    def assessment_attempts(self) -> int: ...
    @property
    def openai_base_url(self) -> str: ...
    @property
    def openai_model(self) -> str: ...
    @property
    def openai_api_key(self) -> str: ...
    @property
    def smtp_url(self) -> str: ...
    @property
    def email_from(self) -> str: ...
    @property
    def email_attempts(self) -> int: ...
    @property
    def public_url(self) -> str: ...
    @property
    def notifications_kept(self) -> int: ...
    @property
    def job_lease_seconds(self) -> float: ...
    @property
    def assessment_workers(self) -> int: ...
    @property
    def email_workers(self) -> int: ...
    @property
    def email_batch(self) -> int: ...
    @property
    def timer_workers(self) -> int: ...
    @property
    def smtp_timeout_seconds(self) -> float: ...
    @property
    def retry_base_seconds(self) -> float: ...
    @property
    def worker_poll_seconds(self) -> float: ...


@dataclass
class Desk:
    settings: DeskSettings
    db: Database
    notifier: Notifier = field(default_factory=SilentNotifier)
    clock: Clock = field(default_factory=SystemClock)
    meter: Meter = field(default_factory=NoMeter)
    tracing: Tracing | None = None  # None: traces are off (nothing of OpenTelemetry is loaded)


@dataclass
class Tx:
    session: AsyncSession
    last_seq: dict[uuid.UUID, int] = field(default_factory=dict)
    touched: set[uuid.UUID] = field(default_factory=set)
    # New read marks, by reader: their own sockets hear of them after the commit (not the log:
    # a read mark is its reader's news alone, see resolvers/read_marks.py).
    marks: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    # Users whose in-app notifications this transaction changed: their sockets hear of it.
    notified: set[uuid.UUID] = field(default_factory=set)
    # Kinds of job this transaction made due: their workers are woken after the commit.
    jobs: set[JobKind] = field(default_factory=set)
    clock: Clock = field(default_factory=SystemClock)
    notifications_kept: int = 200  # a user's in-app notifications: the oldest beyond go
    tracing: Tracing | None = None
    # Rows nothing reads back in this transaction (jobs, emails, ...), by table: written without
    # ORM objects, one statement a table, before the account's counter is bumped (`record`) and
    # at the latest before the commit (`write_rows`).
    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    # Work that locks rows other writers of the account want too (the trims of in-app lists),
    # kept for last, after the rows above: those locks are held from there to the commit.
    lasts: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # Accounts whose version this transaction moved already (with their counter, in `record`).
    versioned: set[uuid.UUID] = field(default_factory=set)

    def now(self) -> datetime:
        """The desk's time: what this transaction stamps its changes with."""
        return self.clock.now()

    def touch(self, account_id: uuid.UUID) -> None:
        """This transaction changes what queries of the account answer (their cache moves on)."""
        self.touched.add(account_id)

    async def record(
        self,
        account_id: uuid.UUID,
        kind: EventKind,
        *,
        handoff_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
        at: datetime | None = None,
        to_user_id: uuid.UUID | None = None,
        priority: str | None = None,
        previous_priority: str | None = None,
        reason: EventReason | None = None,
        session_id: uuid.UUID | None = None,
        note_id: uuid.UUID | None = None,
    ) -> int:
        """Append to the account's event log. Call it after the transaction's other writes: it
        locks the account's counter row, and taking that lock last keeps writers deadlock-free.
        A lifecycle event says more: a transfer's colleague, a priority change's priorities; a
        new message names its session, a new note the note."""
        await self.write_rows()
        # The counter and the version in one update: the account's row is locked from here to
        # the commit, so this and the event are the transaction's last statements.
        values: dict[str, Any] = {"last_seq": Account.last_seq + 1}
        if account_id not in self.versioned:
            values["version"] = Account.version + 1
            self.versioned.add(account_id)
        bump = (
            update(Account)
            .where(col(Account.id) == account_id)
            .values(**values)
            .returning(col(Account.last_seq))
        )
        event: dict[str, Any] = {
            "account_id": account_id,
            "kind": kind,
            "handoff_id": handoff_id,
            "actor_id": actor_id,
            "occurred_at": at or self.now(),
            "to_user_id": to_user_id,
            "priority": priority,
            "previous_priority": previous_priority,
            "reason": reason,
            "session_id": session_id,
            "note_id": note_id,
        }
        events = _table(AccountEvent)
        if self.session.get_bind().dialect.name == "postgresql":
            # One statement: the lock on the account's row is held for it and the commit only.
            bumped = bump.cte("bumped")
            numbered = select(
                *(literal(v, events.c[k].type).label(k) for k, v in event.items()),
                bumped.c.last_seq.label("seq"),
            )
            stmt = (
                insert(events)
                .from_select([*event, "seq"], numbered)
                .returning(events.c.seq)
                .add_cte(bumped)
            )
            seq: int = (await self.session.exec(stmt)).scalar_one()
        else:  # SQLite: no data-modifying CTE; its writers take turns anyway
            seq = (await self.session.exec(bump)).scalar_one()
            await self.session.exec(insert(events).values(**event, seq=seq))
        self.touched.add(account_id)
        self.last_seq[account_id] = seq
        return seq

    def insert_later(self, model: type[SQLModel], row: dict[str, Any]) -> None:
        """A row to insert with the others of its table (`write_rows`), every column given."""
        self.rows.setdefault(_table(model), []).append(row)

    def do_last(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        """Work to do once, after the kept rows are written (`write_rows`)."""
        self.lasts.setdefault(key, work)

    async def write_rows(self) -> None:
        """The rows `insert_later` kept, one statement a table (after the ORM's own changes:
        the session flushes them before it runs a statement), then the work kept for last."""
        rows, self.rows = self.rows, {}
        for table, values in rows.items():
            await self.session.exec(insert(table), params=values)
        lasts, self.lasts = self.lasts, {}
        for work in lasts.values():
            await work()

    def marked(self, user_id: uuid.UUID, handoff_id: uuid.UUID) -> None:
        """The user read the handoff for the first time in this transaction (a new mark)."""
        self.marks.setdefault(user_id, []).append(handoff_id)

    def enqueue(
        self,
        kind: JobKind,
        account_id: uuid.UUID,
        subject_id: uuid.UUID,
        *,
        run_after: datetime | None = None,
    ) -> None:
        """A job for a worker, due now or at `run_after` (a timer's due time). It keeps the id
        of the request this runs for (the HTTP layer's, or the job's a worker runs), so the
        worker's lines about it name the request that caused it; and, traces on, its trace."""
        due = run_after or self.now()
        made = utcnow()
        self.insert_later(
            Job,
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "account_id": account_id,
                "subject_id": subject_id,
                "state": JobState.PENDING,
                "attempts": 0,
                "run_after": due,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_error": None,
                "request_id": correlation_id.get(),
                "trace_parent": self.tracing.trace_parent() if self.tracing else None,
                "created_at": made,
                "updated_at": made,
            },
        )
        self.jobs.add(kind)


def _table(model: type[SQLModel]) -> Table:
    # (SQLModel's types declare no __table__; SQLAlchemy's declarative mapping adds it.)
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class Abort(Exception):
    """Raised inside a transaction to roll it back and answer with `outcome` instead."""

    def __init__(self, outcome: Failure) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@asynccontextmanager
async def transaction(desk: Desk) -> AsyncIterator[Tx]:
    async with desk.db.write() as session:
        tx = Tx(
            session,
            clock=desk.clock,
            notifications_kept=desk.settings.notifications_kept,
            tracing=desk.tracing,
        )
        yield tx
        await tx.write_rows()
        # The account row is locked last, in one order (those `record` moved are done).
        for account_id in sorted(tx.touched - tx.versioned):
            await session.exec(
                update(Account)
                .where(col(Account.id) == account_id)
                .values(version=Account.version + 1)
            )
    # Committed: only now may anyone hear of it.
    for account_id, seq in tx.last_seq.items():
        await desk.notifier.events_committed(account_id, seq)
    for user_id, handoff_ids in tx.marks.items():
        await desk.notifier.marks_committed(user_id, handoff_ids)
    for user_id in sorted(tx.notified):
        await desk.notifier.notifications_committed(user_id)
    if tx.jobs:
        desk.notifier.jobs_committed(frozenset(tx.jobs))
