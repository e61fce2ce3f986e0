"""Cost as the data grows: the queue read, a claim, a job lease and a catch-up, measured through
the desk's own services on PostgreSQL at 10k, 100k and 1M handoffs over 1,000 accounts, with
one more account whose event log grows with them (1k, 10k, 100k events). Each size is compared
with the first: 100x the data should cost at most 1.5x (issue 17, point 4).

    .venv/bin/python -m bench.growth [--sizes 10000,100000,1000000] [--repeat 300]
        [--rounds 5] [--first 8] [--explain] [--keep | --reuse [--revision 0014]]

Each size has a database of its own (handoff_bench_growth_<size>, dropped afterwards unless
--keep; --reuse measures the kept ones again, migrated up to --revision: how a migration's
indexes change the figures without loading again). Loaded with INSERT ... SELECT over
generate_series (in slices of 100k, without the foreign keys' row-by-row checks), not through
the ORM: 1M handoffs loaded in 29 minutes on a busy two-core machine (foreign keys checked
then; 2.3 GB). Its shape per 100 handoffs: 5 parks, 70 claimed escalations, 2 withdrawn and 23
waiting; per handoff a session, its timer and timer job (pending for a waiting escalation,
done otherwise), its assessment job (done), the read marks of its escalator and claimer, and
two events (escalated; then claimed, or its assessment landing). An email outage's worth of
pending email jobs (1 per 100 handoffs, due) makes the lease find its own kind among others'.
After each load: VACUUM ANALYZE, what autovacuum keeps on a live database.

Measured at each size, through the desk's services in process (no HTTP, no GraphQL: the
statements and their Python, which is what grows with the data if anything does):
- queue: `resolvers.queue.handoff_queue` (first `--first`, 8 by default) for an engineer of a
  random account: a page every account fills at every size (at 10k an account has about nine
  escalations waiting, so a page of 50 would hold nine rows there and 50 at 1M, and compare a
  page's size, not the data's);
- claim: `resolvers.claims.claim_handoff` of a waiting escalation, by an engineer who did not
  raise it (one transaction: its checks, the update, the read mark, the escalator's notification
  and email, the event);
- lease: `db.jobs.lease_job` of an assessment job, among the email backlog;
- catch-up: what the live hub replays for `after:` 1,000 events back in the log account
  (`resolvers.events.events_after`, page after page, as `Hub._replay` reads them).
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every statement each path sends, at the last
size. Nothing here asserts a time: it prints medians, p95 and the ratio to the first size.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text

from bench.common import (
    TOKEN_SECRET,
    _pg_dsn,
    drop_postgres_database,
    fresh_postgres_database,
    percentile,
    ratio_line,
)
from db.engine import Database, create_engine, normalize_database_url
from db.enums import JobKind
from db.jobs import lease_job
from db.migrate import upgrade
from handoff_desk.settings import Settings
from resolvers.auth import Viewer
from resolvers.claims import claim_handoff
from resolvers.desk import Desk
from resolvers.events import CATCH_UP_PAGE, events_after
from resolvers.queue import QueueFilter, handoff_queue

DATABASE = "handoff_bench_growth"
ACCOUNTS = 1000
USERS = 10  # per account: user 0 the admin, 1..9 engineers
LOG_HANDOFFS = 200  # the log account's escalations, which its events are about
CATCH_UP_BACK = 1000
SIZES = (10_000, 100_000, 1_000_000)
GOAL = 1.5


def det_uuid(tag: str) -> uuid.UUID:
    """The ids the loader gives rows (`md5(tag)::uuid` in SQL), worked out here the same way."""
    return uuid.UUID(hashlib.md5(tag.encode()).hexdigest())


LOG_ACCOUNT = ACCOUNTS  # the account numbered after the others


# --- loading --------------------------------------------------------------------------------
# Handoff i (1-based) is account (i-1) % 1000's k-th, k = (i-1) / 1000: each account's escalations
# arrive in turn, ten seconds apart overall. Its id is md5('h'||i), its session's md5('s'||i).

_ACCOUNTS_SQL = """
INSERT INTO account (id, name, last_seq, version, created_at, allow_self_claim,
                     notes_visible_to_viewers)
SELECT md5('a' || a)::uuid, 'Growth ' || a, 0, 0, now(), false, true
FROM generate_series(0, :accounts) AS a;
INSERT INTO app_user (id, account_id, name, email, password_hash, role, active, read_marks,
                      created_at)
SELECT md5('u' || a || '-' || u)::uuid, md5('a' || a)::uuid, 'Engineer ' || a || '-' || u,
       'e' || a || '-' || u || '@growth.test', 'not-a-hash',
       CASE WHEN u = 0 THEN 'admin' ELSE 'engineer' END, true, 0, now()
FROM generate_series(0, :accounts) AS a, generate_series(0, :users - 1) AS u;
"""

# One CTE of the handoffs from :lo to :hi and what each is (columns the statements below share).
_SHAPE = """
WITH shape AS (
  SELECT i, (i - 1) % :accounts AS a, (i - 1) / :accounts AS k,
         md5('h' || i)::uuid AS hid, md5('s' || i)::uuid AS sid,
         timestamptz '2026-01-01 00:00:00+00' + i * interval '10 seconds' AS at,
         ((i - 1) % :accounts * 7 + (i - 1) / :accounts * 13) % 100 AS r
  FROM generate_series(:lo, :hi) AS i
), kinds AS (  -- r runs through 0..99 in each account's turn: 5% parks, 70% claimed, 2% withdrawn
  SELECT *, r < 5 AS park, r BETWEEN 5 AND 74 AS claimed, r >= 98 AS withdrawn FROM shape
), people AS (
  SELECT *, md5('u' || a || '-' || (1 + k % 9))::uuid AS creator,
         CASE WHEN claimed THEN md5('u' || a || '-' || (1 + (k + 3) % 9))::uuid END AS claimer
  FROM kinds
)
"""

_GROW_SQL = [
    _SHAPE
    + """
INSERT INTO troubleshooting_session (id, account_id, owner_id, assignee_id, intake_type,
    intake_content, problem_summary, status, confidence_tier, handoff_count, message_count,
    escalation_package, created_at, updated_at)
SELECT sid, md5('a' || a)::uuid, creator, coalesce(claimer, creator), 'chat',
       'Customer reports a problem.', 'Case ' || i || ': VPN drops every ten minutes',
       CASE WHEN park THEN 'paused' WHEN claimed OR withdrawn THEN 'active' ELSE 'escalated' END,
       'low', 1, 2, NULL, at, at
FROM people""",
    _SHAPE
    + """
INSERT INTO handoff (id, account_id, session_id, intent, engineer_notes, priority, priority_rank,
    snapshot, snapshot_through, created_by_id, created_at, assessment_status, assessment_summary,
    assessment_likely_cause, assessment_suggested_steps, assessment_confidence,
    assessment_updated_at, assessment_number, claimed_by_id, claimed_at, withdrawn_at,
    withdrawn_by_id)
SELECT hid, md5('a' || a)::uuid, sid, CASE WHEN park THEN 'park' ELSE 'escalate' END,
       'Reinstalled the client; drops persist.',
       (ARRAY['low', 'normal', 'high', 'urgent'])[1 + i % 4], i % 4,
       jsonb_build_object('problem_summary', 'Case ' || i || ': VPN drops every ten minutes',
                          'taken_at', at, 'status', 'active'),
       2, creator, at,
       CASE WHEN park THEN 'pending' ELSE 'ready' END,
       CASE WHEN park THEN NULL ELSE 'Rule-based triage (no AI model): vpn.' END,
       CASE WHEN park THEN NULL ELSE 'NAT idle timeout.' END,
       CASE WHEN park THEN NULL ELSE '["Lower the MTU", "Test wired"]'::jsonb END,
       CASE WHEN park THEN NULL ELSE 'low' END,
       CASE WHEN park THEN NULL ELSE at END,
       CASE WHEN park THEN 0 ELSE 1 END,
       claimer, CASE WHEN claimed THEN at + interval '1 minute' END,
       CASE WHEN withdrawn THEN at + interval '2 minutes' END,
       CASE WHEN withdrawn THEN creator END
FROM people""",
    _SHAPE
    + """
INSERT INTO handoff_timer (id, account_id, handoff_id, waiting_since, due_at, overdue_at,
    admins_alerted_at, nudged_at, closed_at)
SELECT md5('t' || i)::uuid, md5('a' || a)::uuid, hid, at, at + interval '1 hour',
       NULL, NULL, NULL,
       CASE WHEN claimed OR withdrawn THEN at + interval '1 minute' END
FROM people WHERE NOT park""",
    # Each escalation's timer job (pending, at a future check, while it waits) and its
    # assessment's (done).
    _SHAPE
    + """
INSERT INTO job (id, kind, account_id, subject_id, state, attempts, run_after, created_at,
    updated_at)
SELECT md5('tj' || i)::uuid, 'timer', md5('a' || a)::uuid, md5('t' || i)::uuid,
       CASE WHEN claimed OR withdrawn THEN 'done' ELSE 'pending' END, 0,
       CASE WHEN claimed OR withdrawn THEN at ELSE now() + interval '1 day' + i * interval '1 ms'
       END, at, at
FROM people WHERE NOT park
UNION ALL
SELECT md5('aj' || i)::uuid, 'assess', md5('a' || a)::uuid, hid, 'done', 1, at, at, at
FROM people WHERE NOT park""",
    # An email outage: one email in a hundred still pending, due, retried later.
    _SHAPE
    + """
INSERT INTO job (id, kind, account_id, subject_id, state, attempts, run_after, last_error,
    created_at, updated_at)
SELECT md5('ej' || i)::uuid, 'email', md5('a' || a)::uuid, hid, 'pending', 3,
       at + interval '5 minutes', 'SMTP: connection refused', at, at
FROM people WHERE claimed AND i % 70 = 0""",
    _SHAPE
    + """
INSERT INTO handoff_seen (user_id, handoff_id, seen_at)
SELECT creator, hid, at FROM people
UNION ALL
SELECT claimer, hid, at + interval '1 minute' FROM people WHERE claimed""",
    # Seq 2k+1: escalated (or parked: no event of its own, so a note stands in); 2k+2: claimed,
    # or its assessment landed.
    _SHAPE
    + """
INSERT INTO account_event (account_id, seq, kind, handoff_id, actor_id, occurred_at)
SELECT account.id, last_seq + 2 * (k - :k0) + 1, 'escalated', hid, creator, at
FROM people JOIN account ON account.id = md5('a' || a)::uuid
UNION ALL
SELECT account.id, last_seq + 2 * (k - :k0) + 2,
       CASE WHEN claimed THEN 'claimed' ELSE 'assessment_ready' END, hid, claimer,
       at + interval '1 minute'
FROM people JOIN account ON account.id = md5('a' || a)::uuid""",
    # The counters, past the slice's events (and the claims measured at the sizes before).
    """
UPDATE account SET last_seq = last_seq + 2 * (:hi - :lo + 1) / :accounts,
                   version = version + 2 * (:hi - :lo + 1) / :accounts
WHERE id IN (SELECT md5('a' || n)::uuid FROM generate_series(0, :accounts - 1) AS n)""",
]

# The log account: LOG_HANDOFFS waiting escalations, and a log about them grown to :events.
_LOG_HANDOFFS_SQL = [
    """
INSERT INTO troubleshooting_session (id, account_id, owner_id, assignee_id, intake_type,
    intake_content, problem_summary, status, confidence_tier, handoff_count, message_count,
    escalation_package, created_at, updated_at)
SELECT md5('ls' || j)::uuid, md5('a' || :log)::uuid, md5('u' || :log || '-1')::uuid,
       md5('u' || :log || '-1')::uuid, 'chat', 'Customer reports a problem.',
       'Log case ' || j, 'escalated', 'low', 1, 2, NULL, now(), now()
FROM generate_series(1, :n) AS j""",
    """
INSERT INTO handoff (id, account_id, session_id, intent, engineer_notes, priority, priority_rank,
    snapshot, snapshot_through, created_by_id, created_at, assessment_status,
    assessment_number)
SELECT md5('lh' || j)::uuid, md5('a' || :log)::uuid, md5('ls' || j)::uuid, 'escalate',
       'Notes.', 'normal', 1, jsonb_build_object('problem_summary', 'Log case ' || j), 2,
       md5('u' || :log || '-1')::uuid, now(), 'pending', 1
FROM generate_series(1, :n) AS j""",
]
_LOG_EVENTS_SQL = """
INSERT INTO account_event (account_id, seq, kind, handoff_id, actor_id, occurred_at, priority,
    previous_priority)
SELECT md5('a' || :log)::uuid, s,
       (ARRAY['escalated', 'priority_changed', 'claimed', 'released'])[1 + s % 4],
       md5('lh' || (1 + s % :n))::uuid, md5('u' || :log || '-' || (1 + s % 9))::uuid,
       timestamptz '2026-01-01 00:00:00+00' + s * interval '1 second',
       CASE WHEN s % 4 = 1 THEN 'high' END, CASE WHEN s % 4 = 1 THEN 'normal' END
FROM generate_series(:lo, :hi) AS s;
UPDATE account SET last_seq = :hi, version = :hi WHERE id = md5('a' || :log)::uuid;
"""


async def _execute(conn: Any, sql: str, params: dict[str, int]) -> None:
    """Runs `sql` (statements separated by ';' at line ends) with `:name` parameters inlined:
    they are integers of ours, and asyncpg takes no parameters in a multi-statement string."""
    for name, value in sorted(params.items(), key=lambda kv: -len(kv[0])):
        sql = sql.replace(f":{name}", str(int(value)))
    for statement in sql.split(";\n"):
        if statement.strip():
            await conn.exec_driver_sql(statement)


async def load_accounts(db: Database) -> None:
    async with db.engine.begin() as conn:
        await _execute(conn, _ACCOUNTS_SQL, {"accounts": ACCOUNTS, "users": USERS})
        for sql in _LOG_HANDOFFS_SQL:
            await _execute(conn, sql, {"log": LOG_ACCOUNT, "n": LOG_HANDOFFS})


async def grow(db: Database, lo: int, hi: int, log_lo: int, log_hi: int) -> float:
    """Adds handoffs lo..hi and log events log_lo..log_hi; seconds taken (VACUUM ANALYZE too).
    Whole turns of the accounts only: each account gets as many handoffs."""
    assert (lo - 1) % ACCOUNTS == 0 and hi % ACCOUNTS == 0, "sizes in thousands"
    started = time.perf_counter()
    # In slices: a slice's rows are sorted and inserted in one statement each.
    step = 100 * ACCOUNTS
    for start in range(lo, hi + 1, step):
        end = min(hi, start + step - 1)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            # Without the foreign keys' row-by-row checks: the rows refer to rows loaded before
            # them, by construction.
            await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for sql in _GROW_SQL:
                params = {"accounts": ACCOUNTS, "lo": start, "hi": end}
                await _execute(conn, sql, {**params, "k0": (start - 1) // ACCOUNTS})
    async with db.engine.begin() as conn:
        await _execute(
            conn,
            _LOG_EVENTS_SQL,
            {"log": LOG_ACCOUNT, "n": LOG_HANDOFFS, "lo": log_lo, "hi": log_hi},
        )
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- measuring ------------------------------------------------------------------------------


def viewer(account: int, user: int) -> Viewer:
    role = "admin" if user == 0 else "engineer"
    return Viewer(
        user_id=det_uuid(f"u{account}-{user}"),
        account_id=det_uuid(f"a{account}"),
        role=role,
        name=f"Engineer {account}-{user}",
    )


ACCOUNT_NUMBERS = {det_uuid(f"a{n}"): n for n in range(ACCOUNTS)}


async def waiting_escalations(
    db: Database, count: int, seed: int
) -> list[tuple[uuid.UUID, Viewer]]:
    """Escalations nobody claimed or withdrew, each with an engineer of its account who did not
    raise it: what a claim may take. (Chosen by a statement of the bench's own.)"""
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql(f"SELECT setseed({(seed % 1000) / 1000})")
        rows = (
            await conn.execute(
                text(
                    "SELECT id, account_id, created_by_id FROM handoff"
                    " WHERE intent = 'escalate' AND claimed_by_id IS NULL"
                    " AND withdrawn_at IS NULL AND account_id <> :log"
                    " ORDER BY random() LIMIT :n"
                ),
                {"log": det_uuid(f"a{LOG_ACCOUNT}"), "n": count},
            )
        ).all()
    chosen = []
    for handoff_id, account_id, creator_id in rows:
        account = ACCOUNT_NUMBERS[account_id]
        claimer = next(u for u in range(1, USERS) if det_uuid(f"u{account}-{u}") != creator_id)
        chosen.append((handoff_id, viewer(account, claimer)))
    assert len(chosen) == count, "not enough waiting escalations to claim"
    return chosen


async def timed(repeat: int, one: Callable[[int], Awaitable[Any]]) -> list[float]:
    for n in range(min(20, repeat)):  # warm-up: pool, compiled statements, buffers
        await one(-1 - n)
    times = []
    for n in range(repeat):
        started = time.perf_counter()
        await one(n)
        times.append(time.perf_counter() - started)
    return times


async def catch_up(desk: Desk, account_id: uuid.UUID, after: int) -> int:
    """What the live hub replays for a subscription with `after` (Hub._replay): page by page
    until a short page. The number of events."""
    seen = 0
    while True:
        events = await events_after(desk, account_id, after)
        seen += len(events)
        if events:
            after = events[-1].seq
        if len(events) < CATCH_UP_PAGE:
            return seen


async def measure(
    desk: Desk, size: int, repeat: int, seed: int, first: int
) -> dict[str, list[float]]:
    rng = random.Random(seed + size)
    # Warm-up claims included: each claim takes an escalation of its own.
    to_claim = await waiting_escalations(desk.db, repeat + 20, seed + size)
    log_account = det_uuid(f"a{LOG_ACCOUNT}")
    async with desk.db.engine.connect() as conn:
        last = (
            await conn.execute(
                text("SELECT last_seq FROM account WHERE id = :a"), {"a": log_account}
            )
        ).scalar_one()

    async def queue(n: int) -> None:
        account = rng.randrange(ACCOUNTS)
        page = await handoff_queue(
            desk,
            viewer(account, rng.randrange(1, USERS)),
            first=first,
            after=None,
            status=QueueFilter.ALL,
        )
        assert len(page.handoffs) == first, "a full page at every size"

    async def claim(n: int) -> None:
        handoff_id, claimer = to_claim[n]
        result = await claim_handoff(desk, claimer, handoff_id)
        assert getattr(result, "claimed_by_id", None) == claimer.user_id, result

    async def lease(n: int) -> None:
        # A fresh assessment job due now, among the email backlog; leased, then done with.
        job_id = uuid.uuid4()
        async with desk.db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO job (id, kind, account_id, subject_id, state, attempts,"
                    " run_after, created_at, updated_at) VALUES (:id, 'assess', :a, :s,"
                    " 'pending', 0, now() - interval '1 second', now(), now())"
                ),
                {"id": job_id, "a": det_uuid("a0"), "s": det_uuid("h1")},
            )
        started = time.perf_counter()
        leased = await lease_job(desk.db, "growth-bench", [JobKind.ASSESS], 60)
        lease_times.append(time.perf_counter() - started)
        assert leased is not None and leased.id == job_id, leased
        async with desk.db.engine.begin() as conn:
            await conn.execute(text("UPDATE job SET state = 'done' WHERE id = :id"), {"id": job_id})

    async def catch(n: int) -> None:
        assert await catch_up(desk, log_account, last - CATCH_UP_BACK) == CATCH_UP_BACK

    results = {
        "queue": await timed(repeat, queue),
        "claim": await timed(repeat, claim),
        "catch-up": await timed(max(20, repeat // 4), catch),
    }
    lease_times: list[float] = []
    await timed(repeat, lease)
    results["lease"] = lease_times[min(20, repeat) :]  # the lease alone, not its set-up
    return results


# --- plans ----------------------------------------------------------------------------------


class StatementLog:
    """The SQL each path sends, with its parameters, as the driver gets it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements: list[tuple[str, Any]] = []

    def __enter__(self) -> StatementLog:
        event.listen(self.db.engine.sync_engine, "before_cursor_execute", self._heard)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.db.engine.sync_engine, "before_cursor_execute", self._heard)

    def _heard(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append((statement, parameters))


async def explain_paths(desk: Desk, seed: int) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement of each path, run in a transaction that is
    rolled back (a plan of a claim's UPDATE executes it)."""
    ((handoff_id, claimer),) = await waiting_escalations(desk.db, 1, seed)
    log_account = det_uuid(f"a{LOG_ACCOUNT}")
    async with desk.db.engine.connect() as conn:
        last = (
            await conn.execute(
                text("SELECT last_seq FROM account WHERE id = :a"), {"a": log_account}
            )
        ).scalar_one()
    paths: dict[str, Callable[[], Awaitable[Any]]] = {
        "queue": lambda: handoff_queue(desk, claimer, first=50, after=None, status=QueueFilter.ALL),
        "claim": lambda: claim_handoff(desk, claimer, handoff_id),
        "lease": lambda: lease_job(desk.db, "growth-bench", [JobKind.ASSESS], 60),
        "catch-up": lambda: catch_up(desk, log_account, last - CATCH_UP_BACK),
    }
    for name, path in paths.items():
        with StatementLog(desk.db) as log:
            await path()
        print(f"\n===== {name}: {len(log.statements)} statements =====")
        for sql, params in log.statements:
            words = " ".join(sql.split()).upper()
            if not words.startswith(("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")):
                continue
            if words.startswith("INSERT") and " SELECT " not in words:
                continue  # a row of values: nothing to plan
            async with desk.db.engine.connect() as conn:
                # (Rolled back when the block ends: a plan of an UPDATE runs it.)
                plan = (
                    await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                ).all()
            print("\n--", " ".join(sql.split())[:300])
            for row in plan:
                print("  ", row[0])


# --- the run --------------------------------------------------------------------------------


def _stats(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), percentile(times, 95)


async def load(url: str, size: int) -> dict[str, Any]:
    """A database of `size` handoffs (and a log of size/10 events), grown in slices."""
    db = Database.from_url(url)
    try:
        await load_accounts(db)
        seconds = await grow(db, 1, size, 1, size // 10)
        async with db.engine.connect() as conn:
            mb = (
                await conn.exec_driver_sql("SELECT pg_database_size(current_database())")
            ).scalar_one() / 2**20
    finally:
        await db.dispose()
    print(
        f"{size:>9,} handoffs, {size // 10:,}-event log: loaded in {seconds:.0f} s,"
        f" database {mb:,.0f} MB",
        flush=True,
    )
    return {"size": size, "load_s": round(seconds), "db_mb": round(mb)}


async def run(args, urls: dict[int, str]) -> list[dict[str, Any]]:
    """Rounds over the sizes in turn (so that the machine's drift hits every size alike), each
    round `repeat / rounds` of each path at each size."""
    desks = {
        size: Desk(
            settings=Settings(database_url=url, token_secret=TOKEN_SECRET, run_workers=False),
            db=Database.from_url(url),
        )
        for size, url in urls.items()
    }
    times: dict[int, dict[str, list[float]]] = {size: {} for size in urls}
    try:
        for round_ in range(args.rounds):
            for size, desk in desks.items():
                results = await measure(
                    desk, size, args.repeat // args.rounds, args.seed + round_, args.first
                )
                for name, values in results.items():
                    times[size].setdefault(name, []).extend(values)
            print(f"round {round_ + 1} of {args.rounds} done", flush=True)
        if args.explain:
            await explain_paths(desks[max(desks)], args.seed)
    finally:
        for desk in desks.values():
            await desk.db.dispose()
    return [{"size": size, **{n: _stats(v) for n, v in times[size].items()}} for size in urls]


async def _migrate(url: str, revision: str) -> None:
    engine = create_engine(url)
    await upgrade(engine, revision)
    await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(SIZES),
        help="handoff counts (thousands), the first the baseline",
    )
    parser.add_argument("--repeat", type=int, default=300, help="of each path at each size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--first", type=int, default=8, help="the queue page's size")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--explain", action="store_true", help="plans at the largest size")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the databases a --keep run left (migrated)"
    )
    parser.add_argument(
        "--revision", default="head", help="with --reuse: migrate up to this step (not down)"
    )
    args = parser.parse_args()
    started = datetime.now(UTC)
    names = {size: f"{DATABASE}_{size}" for size in args.sizes}
    loads = []
    try:
        urls = {}
        for size, name in names.items():
            if args.reuse:  # as a --keep run left it, migrated to the latest step
                urls[size] = normalize_database_url(_pg_dsn(name))
                asyncio.run(_migrate(urls[size], args.revision))
                loads.append({"size": size, "load_s": 0, "db_mb": 0})
                continue
            urls[size] = normalize_database_url(fresh_postgres_database(name))
            loads.append(asyncio.run(load(urls[size], size)))
        rows = asyncio.run(run(args, urls))
    finally:
        if not args.keep:
            for name in names.values():
                drop_postgres_database(name)
    for row, loaded in zip(rows, loads, strict=True):
        row.update(loaded)
    base = rows[0]
    print(f"\ngrowth, {started:%Y-%m-%d %H:%M} UTC, {ACCOUNTS} accounts, medians (p95)")
    names = ["queue", "claim", "lease", "catch-up"]
    print(f"{'handoffs':>10} " + " ".join(f"{n:>22}" for n in names))
    for row in rows:
        cells = [f"{row[n][0] * 1000:8.2f} ({row[n][1] * 1000:7.2f}) ms" for n in names]
        print(f"{row['size']:>10,} " + " ".join(f"{c:>22}" for c in cells))
    for row in rows[1:]:
        for name in names:
            factor = row["size"] // base["size"]
            print(
                ratio_line(
                    f"{name} p50 at {factor}x the data / at 1x",
                    row[name][0],
                    base[name][0],
                    f"<= {GOAL}",
                )
            )
    print(
        json.dumps(
            {
                "bench": "growth",
                "at": started.isoformat(timespec="minutes"),
                "sizes": [
                    {
                        "handoffs": r["size"],
                        "load_s": r["load_s"],
                        "db_mb": r["db_mb"],
                        **{n: round(r[n][0] * 1000, 3) for n in names},
                    }
                    for r in rows
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
