"""The plans PostgreSQL picks for the statements the desk sends on its hot paths, on a database
with enough rows (and fresh statistics) that a plan is a real choice: the queue read, a claim, a
worker's lease and a catch-up read their rows through an index, never by scanning a whole table
of handoffs, read marks, events or jobs. Scans that read every row grow with the data; these
indexes keep the cost of each path flat (bench/growth.py measures it from 10k to 1M handoffs).

The statements are captured as the desk sends them (a `before_cursor_execute` listener while the
service runs) and explained with their own parameters; nothing is switched off in the planner.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from db.engine import Database
from db.enums import JobKind
from db.jobs import lease_job
from handoff_desk.settings import Settings
from resolvers.auth import Viewer
from resolvers.claims import claim_handoff
from resolvers.desk import Desk
from resolvers.events import events_after
from resolvers.queue import QueueFilter, handoff_queue

pytestmark = pytest.mark.anyio

ACCOUNTS = 50
HANDOFFS = 120  # per account: 6,000 in all, with their sessions, read marks, events and jobs
LOG = 3_000  # events of one more account's log, about its 10 escalations
# The tables that grow with the data: a whole scan of any is a plan that grows with it.
BIG = {"handoff", "handoff_seen", "account_event", "job", "troubleshooting_session"}


@pytest.fixture(scope="module")
async def loaded(module_postgres_database: str) -> AsyncIterator[Desk]:
    """A database of the module's own, loaded once (dropped with the module: emptying this many
    rows row by row would take longer than loading them)."""
    url = module_postgres_database
    settings = Settings(database_url=url, token_secret=secrets.token_urlsafe(48), run_workers=False)
    desk = Desk(settings=settings, db=Database.from_url(url))
    await _load(desk)
    yield desk
    await desk.db.dispose()


def _id(tag: str) -> uuid.UUID:
    """The ids the loader gives its rows: md5(tag)::uuid."""
    return uuid.UUID(hashlib.md5(tag.encode()).hexdigest())


# Handoff i belongs to account i % ACCOUNTS; a in 0..ACCOUNTS-1, and the log account ACCOUNTS.
# Users 0 (admin) to 4 of each account; escalations raised by user 1, half claimed by user 2.
_LOAD = [
    """INSERT INTO account (id, name, last_seq, version, created_at)
       SELECT md5('a' || a)::uuid, 'Account ' || a, 0, 0, now()
       FROM generate_series(0, :accounts) AS a""",
    """INSERT INTO app_user (id, account_id, name, email, password_hash, role, active,
           created_at)
       SELECT md5('u' || a || '-' || u)::uuid, md5('a' || a)::uuid, 'User ' || u,
              'u' || a || '-' || u || '@plans.test', 'x',
              CASE WHEN u = 0 THEN 'admin' ELSE 'engineer' END, true, now()
       FROM generate_series(0, :accounts) AS a, generate_series(0, 4) AS u""",
    """INSERT INTO troubleshooting_session (id, account_id, owner_id, assignee_id, intake_type,
           intake_content, problem_summary, status, handoff_count, message_count, created_at,
           updated_at)
       SELECT md5('s' || i)::uuid, md5('a' || i % :accounts)::uuid,
              md5('u' || i % :accounts || '-1')::uuid, md5('u' || i % :accounts || '-1')::uuid,
              'chat', 'A problem.', 'Case ' || i, 'escalated', 1, 0, now(), now()
       FROM generate_series(1, :handoffs) AS i""",
    """INSERT INTO handoff (id, account_id, session_id, intent, engineer_notes, priority,
           priority_rank, snapshot, created_by_id, created_at, assessment_status,
           claimed_by_id, claimed_at)
       SELECT md5('h' || i)::uuid, md5('a' || i % :accounts)::uuid, md5('s' || i)::uuid,
              'escalate', 'Notes.', 'normal', i % 4, '{}'::jsonb,
              md5('u' || i % :accounts || '-1')::uuid,
              timestamptz '2026-01-01 00:00+00' + i * interval '1 minute', 'ready',
              CASE WHEN i % 2 = 0 THEN md5('u' || i % :accounts || '-2')::uuid END,
              CASE WHEN i % 2 = 0 THEN now() END
       FROM generate_series(1, :handoffs) AS i""",
    """INSERT INTO handoff_seen (user_id, handoff_id, seen_at)
       SELECT md5('u' || i % :accounts || '-' || u)::uuid, md5('h' || i)::uuid, now()
       FROM generate_series(1, :handoffs) AS i, generate_series(1, 2) AS u
       WHERE u = 1 OR i % 2 = 0""",
    """INSERT INTO account_event (account_id, seq, kind, handoff_id, actor_id, occurred_at)
       SELECT md5('a' || i % :accounts)::uuid, (i - 1) / :accounts + 1, 'escalated',
              md5('h' || i)::uuid, md5('u' || i % :accounts || '-1')::uuid, now()
       FROM generate_series(1, :handoffs) AS i""",
    """UPDATE account SET last_seq = :handoffs / :accounts
       WHERE id <> md5('a' || :accounts)::uuid""",
    # The log account: its escalations, and a long log about them.
    """INSERT INTO troubleshooting_session (id, account_id, owner_id, assignee_id, intake_type,
           intake_content, problem_summary, status, handoff_count, message_count, created_at,
           updated_at)
       SELECT md5('ls' || j)::uuid, md5('a' || :accounts)::uuid,
              md5('u' || :accounts || '-1')::uuid, md5('u' || :accounts || '-1')::uuid,
              'chat', 'A problem.', 'Log case ' || j, 'escalated', 1, 0, now(), now()
       FROM generate_series(1, 10) AS j""",
    """INSERT INTO handoff (id, account_id, session_id, intent, engineer_notes, priority,
           priority_rank, snapshot, created_by_id, created_at, assessment_status)
       SELECT md5('lh' || j)::uuid, md5('a' || :accounts)::uuid, md5('ls' || j)::uuid,
              'escalate', 'Notes.', 'normal', 1, '{}'::jsonb,
              md5('u' || :accounts || '-1')::uuid, now(), 'ready'
       FROM generate_series(1, 10) AS j""",
    """INSERT INTO account_event (account_id, seq, kind, handoff_id, actor_id, occurred_at)
       SELECT md5('a' || :accounts)::uuid, s, 'priority_changed', md5('lh' || 1 + s % 10)::uuid,
              md5('u' || :accounts || '-2')::uuid, now()
       FROM generate_series(1, :log) AS s""",
    """UPDATE account SET last_seq = :log WHERE id = md5('a' || :accounts)::uuid""",
    # The timer jobs of the waiting escalations (checked later), and an email backlog (due).
    """INSERT INTO job (id, kind, account_id, subject_id, state, attempts, run_after,
           created_at, updated_at)
       SELECT md5(k || i)::uuid, k, md5('a' || i % :accounts)::uuid, md5('h' || i)::uuid,
              'pending', 0,
              CASE WHEN k = 'timer' THEN now() + interval '1 day' ELSE now() - interval '1 hour'
                   END, now(), now()
       FROM generate_series(1, :handoffs) AS i, unnest(ARRAY['timer', 'email']) AS k
       WHERE CASE WHEN k = 'timer' THEN i % 2 = 1 ELSE i % 10 = 0 END""",
    # One assessment due: what the lease finds.
    """INSERT INTO job (id, kind, account_id, subject_id, state, attempts, run_after,
           created_at, updated_at)
       VALUES (md5('due')::uuid, 'assess', md5('a0')::uuid, md5('h100')::uuid, 'pending', 0,
               now() - interval '1 minute', now(), now())""",
]


async def _load(desk: Desk) -> None:
    params = {"accounts": ACCOUNTS, "handoffs": ACCOUNTS * HANDOFFS, "log": LOG}
    async with desk.db.engine.begin() as conn:
        # Without the foreign keys' row-by-row checks (the rows refer to rows loaded before
        # them by construction): they took most of the load's time.
        await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for sql in _LOAD:
            for name, value in params.items():
                sql = sql.replace(f":{name}", str(value))
            await conn.exec_driver_sql(sql)
    async with desk.db.engine.connect() as conn:  # what autovacuum keeps: statistics, visibility
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(sorted(BIG))}, account, app_user")


def _viewer(account: int, user: int) -> Viewer:
    return Viewer(
        user_id=_id(f"u{account}-{user}"),
        account_id=_id(f"a{account}"),
        role="admin" if user == 0 else "engineer",
        name=f"User {user}",
    )


async def _plans(desk: Desk, path: Callable[[], Awaitable[Any]]) -> list[tuple[str, dict]]:
    """Each statement `path` sends that reads a table, with the plan PostgreSQL picks for it
    with the parameters it was sent with."""
    sent: list[tuple[str, Any]] = []

    def heard(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(desk.db.engine.sync_engine, "before_cursor_execute", heard)
    try:
        await path()
    finally:
        event.remove(desk.db.engine.sync_engine, "before_cursor_execute", heard)
    plans = []
    async with desk.db.engine.connect() as conn:
        tables = dict(
            (await conn.exec_driver_sql("SELECT indexname, tablename FROM pg_indexes")).all()
        )
        for statement, parameters in sent:
            words = " ".join(statement.split())
            if not words.upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
                continue  # a row inserted by its values: nothing to choose
            explained = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            plan = explained.scalar_one()[0]["Plan"]
            for node in _nodes(plan):  # a bitmap's index scan names its index, not its table
                if "Index Name" in node and "Relation Name" not in node:
                    node["Relation Name"] = tables[node["Index Name"]]
            plans.append((words, plan))
    return plans


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _scans(plans: list[tuple[str, dict]]) -> list[tuple[str, str | None, str | None]]:
    """(node type, table, index) of every node of the plans that reads a table or an index (a
    bitmap's index scan names its index; the heap scan above it, its table)."""
    return [
        (node["Node Type"], node.get("Relation Name"), node.get("Index Name"))
        for _, plan in plans
        for node in _nodes(plan)
        if node["Node Type"].endswith("Scan") and "Relation Name" in node
    ]


def _no_whole_scans(plans: list[tuple[str, dict]]) -> None:
    for statement, plan in plans:
        whole = [
            node["Relation Name"]
            for node in _nodes(plan)
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG
        ]
        assert not whole, f"a sequential scan of {whole} in: {statement[:300]}"


def _indexes(plans: list[tuple[str, dict]], table: str) -> set[str | None]:
    """The indexes the plans read `table` through (None: a scan of the table itself)."""
    return {
        index
        for kind, relation, index in _scans(plans)
        if relation == table and kind != "Bitmap Heap Scan"  # (its bitmap scans name the index)
    }


async def test_the_queue_walks_an_index_in_its_order(loaded: Desk) -> None:
    plans = await _plans(
        loaded,
        lambda: handoff_queue(loaded, _viewer(7, 3), first=50, after=None, status=QueueFilter.ALL),
    )
    _no_whole_scans(plans)
    page_statement, page_plan = plans[0]
    # The page is read in the queue's order from an index in that order, and stops after one
    # page: no sort of the account's every escalation.
    assert _indexes([plans[0]], "handoff") <= {"ix_handoff_queue", "ix_handoff_views"}
    assert not any(node["Node Type"] == "Sort" for node in _nodes(page_plan)), page_statement


async def test_a_claim_finds_its_rows_by_key(loaded: Desk) -> None:
    # Handoff 7 of account 7 (i = 7): raised by user 1, unclaimed (odd).
    plans = await _plans(loaded, lambda: claim_handoff(loaded, _viewer(7, 3), _id("h7")))
    _no_whole_scans(plans)
    assert _indexes(plans, "handoff") == {"handoff_pkey"}


async def test_a_worker_leases_due_jobs_of_its_kind(loaded: Desk) -> None:
    plans = await _plans(loaded, lambda: lease_job(loaded.db, "plans", [JobKind.ASSESS], 60))
    _no_whole_scans(plans)
    # The due jobs of its kind, not every due job (an email backlog) filtered afterwards.
    assert "ix_job_kind_ready" in _indexes(plans, "job")


async def test_a_catch_up_reads_a_range_of_the_log(loaded: Desk) -> None:
    account = _id(f"a{ACCOUNTS}")
    plans = await _plans(loaded, lambda: events_after(loaded, account, LOG - 1_000))
    _no_whole_scans(plans)
    assert _indexes(plans, "account_event") == {"account_event_pkey"}
    # Who has read each of the events' handoffs: by handoff, not every read mark.
    assert any(i == "ix_handoff_seen_handoff" for _, _, i in _scans(plans)), _scans(plans)
