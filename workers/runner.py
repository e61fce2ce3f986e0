"""Runs jobs leased from the database: in each server process by default, or on its own
(`handoff-desk worker`). Any number of workers may run; a job is leased by one attempt at a time:
each lease carries its own token, so even two slots of one worker never both settle a job.

A worker's slots are split into pools, each leasing only its own kinds of job: assessments,
emails and timers each have their own capacity, so a backlog of one kind (emails to a mail server
that never answers, say) never holds the slots another kind needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from asgi_correlation_id import correlation_id

from db.engine import unavailable
from db.enums import JobKind, JobState
from db.jobs import (
    LeasedJob,
    lease_jobs,
    reschedule_job,
    return_job,
    return_jobs,
    settle_job,
    settle_jobs,
)
from resolvers.desk import Desk, Tx, transaction

log = logging.getLogger(__name__)

Handler = Callable[["JobRun"], Awaitable[None]]


class BatchHandler(Protocol):
    """A handler that also takes several jobs leased together (one lease statement), and
    settles them: each with `settle_runs`, or on its own."""

    async def __call__(self, run: JobRun, /) -> None: ...

    async def batch(self, runs: Sequence[JobRun], /) -> None: ...


# Called in the transaction that marks a job failed for good (e.g. mark the assessment failed).
GiveUp = Callable[["JobRun", Tx], Awaitable[None]]


class LeaseLost(Exception):
    """Another attempt took this job over (our lease expired): our result must not commit."""


class JobRun:
    """One attempt at one job, with the ways to settle it inside the effect's transaction."""

    def __init__(self, worker: Worker, job: LeasedJob, max_attempts: int) -> None:
        self.worker = worker
        self.desk = worker.desk
        self.job = job
        self.max_attempts = max_attempts
        self.outcome = "unsettled"  # what the attempt settled the job as, for its log line

    @property
    def last_attempt(self) -> bool:
        return self.job.attempts >= self.max_attempts

    def backoff(self) -> float:
        return self.worker.retry_base_seconds * 2.0 ** (self.job.attempts - 1)

    async def done(self, tx: Tx) -> None:
        await self._settle(tx, JobState.DONE)

    async def failed(self, tx: Tx, error: str) -> None:
        await self._settle(tx, JobState.FAILED, error=error)

    async def retry(self, tx: Tx, error: str) -> None:
        await self._settle(tx, JobState.PENDING, error=error, retry_in=self.backoff())

    async def reschedule(self, tx: Tx, run_after: datetime) -> None:
        """Done for now, due again at `run_after` (a timer's next check)."""
        if not await reschedule_job(tx.session, self.job, run_after, now=tx.now()):
            raise LeaseLost(str(self.job.id))
        self.outcome = "rescheduled"

    async def _settle(self, tx: Tx, state: JobState, **kwargs: Any) -> None:
        if not await settle_job(tx.session, self.job, state, now=tx.now(), **kwargs):
            raise LeaseLost(str(self.job.id))
        self.outcome = "retry" if state is JobState.PENDING else str(state.value)


async def settle_runs(
    tx: Tx, runs: Sequence[JobRun], state: JobState, *, error: str | None = None
) -> list[JobRun]:
    """Settle these attempts in one statement (a retry's backoff is the first run's: group runs
    by attempts): those whose lease still holds; the others are marked taken over, and their
    effect must not be written."""
    if not runs:
        return []
    retry_in = runs[0].backoff() if state is JobState.PENDING else None
    ids = await settle_jobs(
        tx.session, [run.job for run in runs], state, error=error, retry_in=retry_in, now=tx.now()
    )
    settled = []
    for run in runs:
        if run.job.id in ids:
            run.outcome = "retry" if state is JobState.PENDING else str(state.value)
            settled.append(run)
        else:
            run.outcome = "taken over"
    return settled


class Pool:
    """Slots that lease only these kinds of job; idle ones wait to be woken (or poll). A slot
    leases up to `batch` jobs at a time (when its kinds' handlers take batches)."""

    def __init__(self, kinds: Sequence[JobKind], slots: int, batch: int = 1) -> None:
        self.kinds = tuple(kinds)
        self.slots = slots
        self.batch = batch
        # The idle slots' wake-ups, the longest idle first; and a wake-up that found none idle,
        # kept for the next slot about to idle (its last look may predate what woke us).
        self.idle: deque[asyncio.Event] = deque()
        self.woken = False

    def wake(self) -> None:
        if not self.wake_idle_slot():
            self.woken = True

    def wake_idle_slot(self) -> bool:
        while self.idle:
            wake_up = self.idle.popleft()
            if not wake_up.is_set():
                wake_up.set()
                return True
        return False


class Worker:
    def __init__(
        self,
        desk: Desk,
        handlers: dict[JobKind, tuple[Handler, int] | tuple[Handler, int, GiveUp]],
        *,
        lease_seconds: float,
        concurrency: int = 4,
        pools: Sequence[tuple[Sequence[JobKind], int] | tuple[Sequence[JobKind], int, int]]
        | None = None,
        poll_seconds: float = 2.0,
        retry_base_seconds: float = 2.0,
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        """`pools`: which kinds each pool leases, its slots (a pool of none is left out: this
        worker leaves those kinds to others) and, optionally, how many jobs a slot leases at a
        time (more than one only for kinds whose handlers take batches); by default one pool of
        `concurrency` slots, one job at a time, for every kind handled. `on_stop`: called once
        every slot has ended (closing connections)."""
        self.desk = desk
        self.handlers = handlers
        self.lease_seconds = lease_seconds
        if pools is None:
            pools = [(list(handlers), concurrency)]
        self.pools = []
        for kinds, slots, *batch in pools:
            if unknown := set(kinds) - set(handlers):
                raise ValueError(f"no handler for job kinds {sorted(unknown)}")
            size = batch[0] if batch else 1
            if size > 1 and not all(hasattr(handlers[kind][0], "batch") for kind in kinds):
                raise ValueError(f"a handler of {sorted(kinds)} takes no batches")
            if slots > 0 and kinds:
                self.pools.append(Pool(kinds, slots, max(1, size)))
        self.poll_seconds = poll_seconds
        self.retry_base_seconds = retry_base_seconds
        self.on_stop = list(on_stop)
        # Names the worker in logs and prefixes its lease tokens (cut short to fit the column).
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = asyncio.Event()
        self._slots: list[asyncio.Task[None]] = []

    @property
    def concurrency(self) -> int:
        """Jobs this worker may run at once, over all its pools."""
        return sum(pool.slots for pool in self.pools)

    def slots_for(self, kind: JobKind) -> int:
        return sum(pool.slots for pool in self.pools if kind in pool.kinds)

    def wake(self, kinds: Iterable[str] | None = None) -> None:
        """There may be jobs due (of these kinds; of any when not said): one idle slot of each
        pool concerned looks (and, finding one, wakes the next). Not every slot: four slots
        woken by each commit made four lease transactions, three of them finding nothing (on
        SQLite each takes the write lock the commits are waiting for)."""
        wanted = None if kinds is None else set(kinds)
        for pool in self.pools:
            if wanted is None or wanted.intersection(pool.kinds):
                pool.wake()

    def start(self) -> None:
        self._slots = [
            asyncio.create_task(self._slot(pool), name=f"worker slot {n} ({'/'.join(pool.kinds)})")
            for pool in self.pools
            for n in range(pool.slots)
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Lease nothing new; let work in flight finish, or hand it back after the grace."""
        self._stopping.set()
        for pool in self.pools:
            while pool.wake_idle_slot():
                pass
        try:
            if not self._slots:
                return
            _, late = await asyncio.wait(self._slots, timeout=grace_seconds)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            for close in self.on_stop:
                try:
                    await close()
                except Exception:
                    log.exception("closing after the worker's stop failed")

    async def _slot(self, pool: Pool) -> None:
        while not self._stopping.is_set():
            try:
                jobs = await lease_jobs(
                    self.desk.db,
                    self.owner,
                    pool.kinds,
                    self.lease_seconds,
                    pool.batch,
                    now=self.desk.clock.now(),
                )
            except Exception as error:
                if not unavailable(error):
                    log.exception("leasing a job failed")
                jobs = []  # the database is away: try again after the poll interval
            if not jobs:
                await self._idle(pool)
                continue
            # There may be more: an idle slot looks too (slots busy look again after their job).
            pool.wake_idle_slot()
            if len(jobs) == 1:
                await self._run(jobs[0])
            else:
                await self._run_batch(jobs)

    async def _idle(self, pool: Pool) -> None:
        """Until woken, or the poll interval is over."""
        if self._stopping.is_set() or pool.woken:
            pool.woken = False
            return
        wake_up = asyncio.Event()
        pool.idle.append(wake_up)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await wake_up.wait()
        finally:
            with contextlib.suppress(ValueError):  # not there when woken: `wake` took it out
                pool.idle.remove(wake_up)

    async def _run(self, job: LeasedJob) -> None:
        # Every line about the job (and every job it enqueues) names the request that caused it.
        request = correlation_id.set(job.request_id)
        started = time.perf_counter()
        handler, max_attempts, *give_up = self.handlers[job.kind]
        run = JobRun(self, job, max_attempts)
        # Traces on: the attempt is a span in the trace of the request that caused the job.
        tracing = self.desk.tracing
        span = (
            tracing.job_span(job.kind.value, job.trace_parent)
            if tracing
            else contextlib.nullcontext()
        )
        try:
            with span:
                await self._attempt(job, run, handler, give_up[0] if give_up else None)
        finally:
            log.info(
                "job %s (%s) attempt %d: %s",
                job.id,
                job.kind,
                job.attempts,
                run.outcome,
                extra={
                    "job_id": str(job.id),
                    "job_kind": str(job.kind.value),
                    "attempt": job.attempts,
                    "outcome": run.outcome,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            correlation_id.reset(request)

    async def _run_batch(self, jobs: list[LeasedJob]) -> None:
        """Jobs leased together: to their handler at once, by kind and by the trace they join
        (an escalation's emails share their request's, and go together)."""
        groups: dict[tuple[JobKind, str | None], list[LeasedJob]] = {}
        for job in jobs:
            groups.setdefault((job.kind, job.trace_parent), []).append(job)
        tracing = self.desk.tracing
        for (kind, trace_parent), batch in groups.items():
            started = time.perf_counter()
            handler, max_attempts, *give_up = self.handlers[kind]
            runs = [JobRun(self, job, max_attempts) for job in batch]
            span = (
                tracing.job_span(kind.value, trace_parent) if tracing else contextlib.nullcontext()
            )
            try:
                with span:
                    await self._attempt_batch(runs, handler, give_up[0] if give_up else None)
            finally:
                duration = round((time.perf_counter() - started) * 1000, 1)
                for run in runs:
                    self._log_attempt(run, duration, f" (one of {len(runs)})")

    def _log_attempt(self, run: JobRun, duration_ms: float, batch: str = "") -> None:
        job = run.job
        request = correlation_id.set(job.request_id)
        try:
            log.info(
                "job %s (%s) attempt %d: %s%s",
                job.id,
                job.kind,
                job.attempts,
                run.outcome,
                batch,
                extra={
                    "job_id": str(job.id),
                    "job_kind": str(job.kind.value),
                    "attempt": job.attempts,
                    "outcome": run.outcome,
                    "duration_ms": duration_ms,
                },
            )
        finally:
            correlation_id.reset(request)

    async def _attempt_batch(
        self, runs: list[JobRun], handler: Any, give_up: GiveUp | None
    ) -> None:
        try:
            await handler.batch(runs)
        except asyncio.CancelledError:
            unsettled = [run for run in runs if run.outcome == "unsettled"]
            for run in unsettled:
                run.outcome = "returned"
            with contextlib.suppress(Exception):
                await asyncio.shield(return_jobs(self.desk.db, [run.job for run in unsettled]))
            raise
        except Exception as error:
            unsettled = [run for run in runs if run.outcome == "unsettled"]
            if unavailable(error):
                log.warning("%d jobs met a database outage: %s", len(unsettled), error)
                for run in unsettled:
                    run.outcome = "returned"
                with contextlib.suppress(Exception):
                    await return_jobs(self.desk.db, [run.job for run in unsettled])
                return
            log.exception("a batch of %d jobs crashed", len(runs))
            for run in unsettled:
                await self._settle_crash(run, give_up, error)
        for run in runs:
            if run.outcome == "taken over":
                log.warning(
                    "job %s attempt %d was taken over by another worker or slot; dropped its"
                    " result",
                    run.job.id,
                    run.job.attempts,
                )

    async def _attempt(
        self, job: LeasedJob, run: JobRun, handler: Handler, give_up: GiveUp | None
    ) -> None:
        try:
            await handler(run)
        except asyncio.CancelledError:
            # Shutting down mid-job: give it back for another worker (or our next start).
            run.outcome = "returned"
            with contextlib.suppress(Exception):
                await asyncio.shield(return_job(self.desk.db, job))
            raise
        except LeaseLost:
            run.outcome = "taken over"
            log.warning(
                "job %s attempt %d was taken over by another worker or slot; dropped its result",
                job.id,
                job.attempts,
            )
        except Exception as error:
            if unavailable(error):
                # Not the job's fault: hand it back uncounted; if the database is still away,
                # the lease runs out and it is offered again then.
                log.warning("job %s (%s) met a database outage: %s", job.id, job.kind, error)
                run.outcome = "returned"
                with contextlib.suppress(Exception):
                    await return_job(self.desk.db, job)
                return
            log.exception("job %s (%s) crashed", job.id, job.kind)
            await self._settle_crash(run, give_up, error)

    async def _settle_crash(self, run: JobRun, give_up: GiveUp | None, error: Exception) -> None:
        """A handler that raised still counts an attempt: retried with backoff, then failed."""
        reason = f"crashed: {type(error).__name__}: {error}"
        try:
            async with transaction(self.desk) as tx:
                if run.last_attempt:
                    if give_up is not None:
                        await give_up(run, tx)
                    await run.failed(tx, reason)
                else:
                    await run.retry(tx, reason)
        except LeaseLost:
            pass
        except Exception:
            # Not even that: the lease expires and the job is tried again; nothing is lost.
            log.exception("could not settle crashed job %s", run.job.id)
