"""The write-path baseline: a minimal hand-written Starlette + asyncpg endpoint that runs the
statements the desk runs for `createHandoff` (escalate) and `claimHandoff` on PostgreSQL, one for
one and in the same order (listed in bench/write_path.py), in one transaction, and answers with
the same JSON. No GraphQL, no ORM: what the stack can physically do for these writes.

It authenticates as the desk does (decode the JWT, one user + account lookup), then tells the two
mutations apart by their text (the bench sends only these two documents). What it skips: GraphQL
parsing, validation and execution; the desk's input checks beyond what the bench's requests need;
telling live subscribers after the commit (the desk's notifier publishes to an in-memory
broadcast here, with nobody subscribed) and the desk's metrics.

Run by bench/write_path.py:  uvicorn bench.baseline_writes:app  (HANDOFF_DATABASE_URL set)
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.common import TOKEN_SECRET

PUBLIC_URL = os.environ.get("HANDOFF_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
MAY_HAND_OFF = MAY_CLAIM = ("admin", "engineer")
OVERDUE_MINUTES = {"urgent": 5, "high": 15, "normal": 60, "low": 240}  # resolvers/sla defaults
NUDGE_MINUTES = 30
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
NOTIFICATIONS_KEPT = int(os.environ.get("HANDOFF_NOTIFICATIONS_KEPT") or 200)
SUMMARY_MAX = 500

AUTH = """
SELECT app_user.id, app_user.account_id, app_user.role, app_user.name, app_user.active,
       account.version + app_user.read_marks AS version
FROM app_user JOIN account ON account.id = app_user.account_id
WHERE app_user.id = $1
"""

# --- createHandoff (escalate) ---
LOCK_SESSION = """
SELECT id, account_id, owner_id, assignee_id, intake_type, intake_content, problem_summary,
       status, confidence_tier, handoff_count, message_count, escalation_package, created_at,
       updated_at
FROM troubleshooting_session WHERE id = $1 AND account_id = $2 FOR UPDATE
"""
INSERT_HANDOFF = """
INSERT INTO handoff (id, account_id, session_id, intent, engineer_notes, priority, priority_rank,
  snapshot, snapshot_through, created_by_id, created_at, assessment_status, assessment_summary,
  assessment_likely_cause, assessment_suggested_steps, assessment_confidence,
  assessment_updated_at, assessment_number, claimed_by_id, claimed_at, withdrawn_at,
  withdrawn_by_id)
VALUES ($1, $2, $3, 'escalate', $4, $5, $6, $7::jsonb, $8, $9, $10, 'pending', NULL, NULL,
  'null'::jsonb, NULL, NULL, 1, NULL, NULL, NULL, NULL)
"""
UPDATE_SESSION = """
UPDATE troubleshooting_session SET status = 'escalated', handoff_count = $1,
  escalation_package = $2::jsonb, updated_at = $3 WHERE id = $4
"""
# Whether the escalation was claimed before: only a first claim is timed (the desk's metric).
CLAIMED_BEFORE = """
SELECT seq FROM account_event WHERE handoff_id = $1 AND kind = 'claimed' LIMIT 1
"""
MARK_SEEN = """
INSERT INTO handoff_seen (user_id, handoff_id, seen_at) VALUES ($1, $2, $3)
ON CONFLICT (user_id, handoff_id) DO NOTHING RETURNING handoff_seen.handoff_id
"""
INSERT_ASSESSMENT = """
INSERT INTO assessment_version (id, account_id, handoff_id, number, requested_by_id,
  requested_at, status, assessor, summary, likely_cause, suggested_steps, confidence, landed_at)
VALUES ($1, $2, $3, 1, NULL, $4, 'pending', NULL, NULL, NULL, 'null'::jsonb, NULL, NULL)
"""
INSERT_JOB = """
INSERT INTO job (id, kind, account_id, subject_id, state, attempts, run_after, lease_owner,
  lease_expires_at, last_error, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'pending', 0, $5, NULL, NULL, NULL, $6, $6)
"""
_USER_COLUMNS = "id, account_id, name, email, password_hash, role, active, read_marks, created_at"
# Users with their preferences (resolvers/notification_prefs.users_with_preferences): their own
# choices and the account's defaults joined, one statement.
_WITH_PREFERENCES = f"""
SELECT {", ".join("app_user." + c for c in _USER_COLUMNS.split(", "))},
  p.new_escalations, p.my_escalations, p.in_app_only,
  d.new_escalations AS d_new_escalations, d.my_escalations AS d_my_escalations,
  d.in_app_only AS d_in_app_only
FROM app_user
LEFT OUTER JOIN notification_preference AS p ON p.user_id = app_user.id AND p.account_id = $1
LEFT OUTER JOIN notification_defaults AS d ON d.account_id = $1
WHERE app_user.account_id = $1 AND {{}}
ORDER BY app_user.email
"""
RECIPIENTS = _WITH_PREFERENCES.format(
    "app_user.role IN ('engineer', 'admin') AND app_user.active AND app_user.id != $2"
)
USER_WITH_PREFERENCES = _WITH_PREFERENCES.format("app_user.id = $2")
INSERT_EMAIL = """
INSERT INTO email_message (id, account_id, handoff_id, recipient_id, to_address, subject, body,
  status, attempts, last_error, created_at, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, NULL, $8, NULL)
"""
# In-app notifications (resolvers/inbox.py): all of them in one statement, then every
# recipient's oldest beyond the bound dropped, in one statement.
INSERT_NOTIFICATIONS = """
INSERT INTO notification (account_id, user_id, kind, handoff_id, actor_id, priority, summary,
  created_at, read_at)
SELECT $1, user_id, $2, $3, $4, $5, $6, $7, NULL FROM unnest($8::uuid[]) AS u(user_id)
RETURNING id
"""
TRIM_NOTIFICATIONS = """
DELETE FROM notification WHERE id IN (
  SELECT id FROM notification WHERE id IN (
    SELECT id FROM (
      SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id DESC) AS rank
      FROM notification WHERE user_id = ANY($1::uuid[])) AS ranked
    WHERE rank > $2)
  FOR UPDATE SKIP LOCKED)
"""
TIMER_SETTINGS = "SELECT * FROM timer_settings WHERE account_id = $1"
INSERT_TIMER = """
INSERT INTO handoff_timer (id, account_id, handoff_id, waiting_since, due_at, overdue_at,
  admins_alerted_at, nudged_at, closed_at)
VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, NULL)
"""
# The account's counter and version, and the event numbered by it: one statement
# (resolvers/desk.Tx.record).
RECORD_EVENT = """
WITH bumped AS (
  UPDATE account SET last_seq = last_seq + 1, version = version + 1 WHERE id = $1
  RETURNING last_seq)
INSERT INTO account_event (account_id, kind, handoff_id, actor_id, occurred_at, to_user_id,
  priority, previous_priority, reason, session_id, note_id, seq)
SELECT $1, $2, $3, $4, $5, NULL, NULL, NULL, NULL, NULL, NULL, bumped.last_seq FROM bumped
RETURNING seq
"""
# What the answer shows, read after the commit (the desk's resolvers/handoff_views.py).
VIEW = """
SELECT handoff.id, handoff.account_id, handoff.session_id, handoff.intent,
  handoff.engineer_notes, handoff.priority, handoff.priority_rank, handoff.created_by_id,
  handoff.created_at, handoff.assessment_status, handoff.assessment_summary,
  handoff.assessment_likely_cause, handoff.assessment_suggested_steps,
  handoff.assessment_confidence, handoff.assessment_updated_at, handoff.assessment_number,
  handoff.claimed_by_id, handoff.claimed_at, handoff.withdrawn_at, handoff.withdrawn_by_id,
  EXISTS (SELECT * FROM handoff_seen WHERE handoff_seen.handoff_id = handoff.id
          AND handoff_seen.user_id = $1) AS seen,
  troubleshooting_session.id AS id_1, troubleshooting_session.account_id AS account_id_1,
  troubleshooting_session.owner_id, troubleshooting_session.assignee_id,
  troubleshooting_session.intake_type, troubleshooting_session.intake_content,
  troubleshooting_session.problem_summary, troubleshooting_session.status,
  troubleshooting_session.confidence_tier, troubleshooting_session.handoff_count,
  troubleshooting_session.created_at AS created_at_1, troubleshooting_session.updated_at,
  creator.id AS id_2, creator.account_id AS account_id_2, creator.name, creator.email,
  creator.role, creator.active, claimer.id AS id_3, claimer.account_id AS account_id_3,
  claimer.name AS name_1, claimer.email AS email_1, claimer.role AS role_1,
  claimer.active AS active_1
FROM handoff JOIN troubleshooting_session ON troubleshooting_session.id = handoff.session_id
JOIN app_user AS creator ON creator.id = handoff.created_by_id
LEFT OUTER JOIN app_user AS claimer ON claimer.id = handoff.claimed_by_id
WHERE handoff.id IN ($2) AND handoff.account_id = $3
  AND (handoff.intent = 'escalate' OR handoff.created_by_id = $1)
"""

# --- claimHandoff ---
STILL_MAY_CLAIM = """
SELECT role FROM app_user WHERE id = $1 AND account_id = $2 AND active FOR SHARE
"""
_HANDOFF_COLUMNS = """handoff.id, handoff.account_id, handoff.session_id, handoff.intent,
  handoff.engineer_notes, handoff.priority, handoff.priority_rank, handoff.snapshot,
  handoff.snapshot_through, handoff.created_by_id, handoff.created_at, handoff.assessment_status,
  handoff.assessment_summary, handoff.assessment_likely_cause, handoff.assessment_suggested_steps,
  handoff.assessment_confidence, handoff.assessment_updated_at, handoff.assessment_number,
  handoff.claimed_by_id, handoff.claimed_at, handoff.withdrawn_at, handoff.withdrawn_by_id"""
NOT_TO_CLAIM = f"""
SELECT {_HANDOFF_COLUMNS}, account.allow_self_claim
FROM handoff JOIN account ON account.id = handoff.account_id
WHERE handoff.id = $1 AND handoff.account_id = $2 AND handoff.intent = 'escalate'
"""
CLAIM_IF_FREE = f"""
UPDATE handoff SET claimed_by_id = $1, claimed_at = $2
WHERE id = $3 AND account_id = $4 AND intent = 'escalate' AND claimed_by_id IS NULL
  AND withdrawn_at IS NULL
RETURNING {_HANDOFF_COLUMNS}
"""
FRESH_HANDOFF = f"""
SELECT {_HANDOFF_COLUMNS} FROM handoff
WHERE handoff.id = $1 AND handoff.account_id = $2 AND handoff.intent = 'escalate'
"""
FRESH_HANDOFF_LOCKED = FRESH_HANDOFF + " FOR UPDATE"
TAKE_OVER_SESSION = """
UPDATE troubleshooting_session SET assignee_id = $1, status = 'active', updated_at = $2
WHERE id = $3
RETURNING id, account_id, owner_id, assignee_id, intake_type, intake_content, problem_summary,
  status, confidence_tier, handoff_count, message_count, escalation_package, created_at,
  updated_at
"""
USER = f"SELECT {_USER_COLUMNS} FROM app_user WHERE id = $1"


def _answer(data: dict) -> Response:
    return Response(
        json.dumps({"data": data}, separators=(",", ":")), media_type="application/json"
    )


def _error(message: str, status: int = 200) -> Response:
    body = json.dumps({"data": None, "errors": [{"message": message}]}, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")


def _preferences(row) -> tuple:
    """The user's (new_escalations, my_escalations, in_app_only): theirs, else the account's,
    else the desk's defaults (everything, by email)."""
    base = (
        (row["d_new_escalations"], row["d_my_escalations"], row["d_in_app_only"])
        if row["d_new_escalations"] is not None
        else ("all", True, False)
    )
    names = ("new_escalations", "my_escalations", "in_app_only")
    return tuple(b if row[n] is None else row[n] for b, n in zip(base, names, strict=True))


def _hears_of_new(alerts: str, priority: str) -> bool:
    if alerts == "all":
        return True
    return alerts == "high_and_urgent" and PRIORITY_RANK[priority] >= PRIORITY_RANK["high"]


async def _notify(conn, account_id, handoff_id, kind, actor_id, priority, summary, now, users):
    await conn.fetch(
        INSERT_NOTIFICATIONS, account_id, kind, handoff_id, actor_id, priority,
        summary[:SUMMARY_MAX], now, users,
    )  # fmt: skip


async def _trim(conn, users) -> None:
    """Last before the account's counter, as the desk does (Tx.do_last)."""
    if users:
        await conn.execute(TRIM_NOTIFICATIONS, sorted(users), NOTIFICATIONS_KEPT)


def _subject(what: str, summary: str) -> str:
    subject = f"{what}: {' '.join(summary.split())}"
    return subject if len(subject) <= 200 else subject[:199] + "…"


async def _viewer(request: Request, conn: asyncpg.Connection):
    token = request.headers.get("authorization", "").partition(" ")[2]
    try:
        claims = jwt.decode(token, TOKEN_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    user = await conn.fetchrow(AUTH, uuid.UUID(claims["sub"]))
    return user if user is not None and user["active"] else None


async def escalate(conn: asyncpg.Connection, viewer, variables: dict) -> Response:
    session_id, notes = uuid.UUID(variables["s"]), variables["n"]
    user_id, account_id = viewer["id"], viewer["account_id"]
    if viewer["role"] not in MAY_HAND_OFF:
        return _error("Viewers may not hand off sessions.")
    priority = "normal"
    async with conn.transaction():
        session = await conn.fetchrow(LOCK_SESSION, session_id, account_id)
        if session is None or session["status"] not in ("active", "paused"):
            return _error("session not found or not open")
        if viewer["role"] != "admin" and session["assignee_id"] != user_id:
            return _error("Only the engineer working this session may hand it off.")
        now = datetime.now(UTC)
        stamp = now.isoformat()
        handoff_id = uuid.uuid4()
        snapshot = {
            "taken_at": stamp,
            "problem_summary": session["problem_summary"],
            "intake_type": session["intake_type"],
            "intake_content": session["intake_content"],
            "status": session["status"],
            "confidence_tier": session["confidence_tier"],
            "handoff_count": session["handoff_count"],
        }
        await conn.execute(
            INSERT_HANDOFF, handoff_id, account_id, session_id, notes, priority,
            PRIORITY_RANK[priority], json.dumps(snapshot), session["message_count"], user_id, now,
        )  # fmt: skip
        package = json.dumps({"handoff_id": str(handoff_id), "escalated_at": stamp})
        await conn.execute(UPDATE_SESSION, session["handoff_count"] + 1, package, now, session_id)
        await conn.fetchval(MARK_SEEN, user_id, handoff_id, now)
        everyone = await conn.fetch(RECIPIENTS, account_id, user_id)
        team = [r for r in everyone if _hears_of_new(_preferences(r)[0], priority)]
        recipients = [r for r in team if not _preferences(r)[2]]
        subject = _subject("Escalated", session["problem_summary"])
        body = (
            f"{viewer['name']} escalated a troubleshooting session ({priority} priority).\n\n"
            f"Problem: {session['problem_summary']}\n\n"
            f"Engineer notes:\n{notes or '(no notes)'}\n\n"
            f"Open it: {PUBLIC_URL}/handoffs/{handoff_id}\n"
        )
        emails = [
            (uuid.uuid4(), account_id, handoff_id, r["id"], r["email"], subject, body, now)
            for r in recipients
        ]
        if team:
            await _notify(
                conn, account_id, handoff_id, "new_escalation", user_id, priority,
                session["problem_summary"], now, [r["id"] for r in team],
            )  # fmt: skip
        policy = await conn.fetchrow(TIMER_SETTINGS, account_id)
        overdue = policy[f"{priority}_overdue_minutes"] if policy else OVERDUE_MINUTES[priority]
        every = (
            min(policy["nudge_minutes"], *(policy[f"{p}_overdue_minutes"] for p in OVERDUE_MINUTES))
            if policy
            else min(NUDGE_MINUTES, *OVERDUE_MINUTES.values())
        )
        due = now + timedelta(minutes=overdue)
        timer_id = uuid.uuid4()
        check = min(due, now + timedelta(minutes=every))
        # The rows nothing reads back, one statement a table (the desk's Tx.write_rows).
        await conn.execute(INSERT_ASSESSMENT, uuid.uuid4(), account_id, handoff_id, now)
        jobs = [(uuid.uuid4(), "assess", account_id, handoff_id, now, now)]
        jobs += [(uuid.uuid4(), "email", account_id, e[0], now, now) for e in emails]
        jobs.append((uuid.uuid4(), "timer", account_id, timer_id, check, now))
        await conn.executemany(INSERT_JOB, jobs)
        if emails:
            await conn.executemany(INSERT_EMAIL, emails)
        await conn.execute(INSERT_TIMER, timer_id, account_id, handoff_id, now, due)
        await _trim(conn, [r["id"] for r in team])
        await conn.fetchval(RECORD_EVENT, account_id, "escalated", handoff_id, user_id, now)
    view = await conn.fetchrow(VIEW, user_id, handoff_id, account_id)
    handoff = {"id": str(view["id"]), "assessment": {"status": view["assessment_status"].upper()}}
    return _answer({"createHandoff": {"__typename": "CreateHandoffSuccess", "handoff": handoff}})


async def _tell_escalator(conn: asyncpg.Connection, viewer, handoff, session, now) -> list:
    """resolvers/notifications.record_escalator_news, for a claim (the session as the claim's
    update returned it). Whose in-app list to trim."""
    escalator_id = handoff["created_by_id"]
    if escalator_id == viewer["id"]:
        return []
    account_id = handoff["account_id"]
    escalator = await conn.fetchrow(USER_WITH_PREFERENCES, account_id, escalator_id)
    if escalator is None or not escalator["active"] or escalator["role"] not in MAY_CLAIM:
        return []
    _, my_escalations, in_app_only = _preferences(escalator)
    if not my_escalations:
        return []
    summary = session["problem_summary"]
    await _notify(
        conn, account_id, handoff["id"], "claimed", viewer["id"], handoff["priority"], summary,
        now, [escalator_id],
    )  # fmt: skip
    if not in_app_only:  # written with the other rows of its transaction (Tx.write_rows)
        body = (
            f"{viewer['name']} claimed the escalation you raised.\n\n"
            f"Problem: {summary}\n\nOpen it: {PUBLIC_URL}/handoffs/{handoff['id']}\n"
        )
        email_id = uuid.uuid4()
        await conn.execute(
            INSERT_EMAIL, email_id, account_id, handoff["id"], escalator_id, escalator["email"],
            _subject("Claimed", summary), body, now,
        )  # fmt: skip
        await conn.execute(INSERT_JOB, uuid.uuid4(), "email", account_id, email_id, now, now)
    return [escalator_id]


async def claim(conn: asyncpg.Connection, viewer, variables: dict) -> Response:
    handoff_id = uuid.UUID(variables["h"])
    user_id, account_id = viewer["id"], viewer["account_id"]
    if viewer["role"] not in MAY_CLAIM:
        return _error("Viewers may not claim escalations.")
    async with conn.transaction():
        role = await conn.fetchval(STILL_MAY_CLAIM, user_id, account_id)
        if role not in MAY_CLAIM:
            return _answer({"claimHandoff": {"__typename": "NotPermitted"}})
        row = await conn.fetchrow(NOT_TO_CLAIM, handoff_id, account_id)
        if row is None:
            return _answer({"claimHandoff": {"__typename": "NotFound"}})
        if row["withdrawn_at"] is not None:
            return _answer({"claimHandoff": {"__typename": "Withdrawn"}})
        own = row["created_by_id"] == user_id and row["claimed_by_id"] != user_id
        if own and not row["allow_self_claim"]:
            return _answer({"claimHandoff": {"__typename": "OwnEscalation"}})
        now = datetime.now(UTC)
        won = await conn.fetchrow(CLAIM_IF_FREE, user_id, now, handoff_id, account_id)
        if won is None:
            current = await conn.fetchrow(FRESH_HANDOFF_LOCKED, handoff_id, account_id)
            if current and current["claimed_by_id"] is None and current["withdrawn_at"] is None:
                won = await conn.fetchrow(CLAIM_IF_FREE, user_id, now, handoff_id, account_id)
        if won is not None:
            session = await conn.fetchrow(TAKE_OVER_SESSION, user_id, now, won["session_id"])
            await conn.fetchval(MARK_SEEN, user_id, handoff_id, now)
            await conn.fetchval(CLAIMED_BEFORE, handoff_id)
            await _trim(conn, await _tell_escalator(conn, viewer, won, session, now))
            await conn.fetchval(RECORD_EVENT, account_id, "claimed", handoff_id, user_id, now)
        else:
            handoff = await conn.fetchrow(FRESH_HANDOFF, handoff_id, account_id)
            if handoff["claimed_by_id"] != user_id:
                claimer = await conn.fetchrow(USER, handoff["claimed_by_id"])
                lost = {"__typename": "AlreadyClaimed", "claimedBy": {"id": str(claimer["id"])}}
                return _answer({"claimHandoff": lost})
    view = await conn.fetchrow(VIEW, user_id, handoff_id, account_id)
    answer = {
        "__typename": "ClaimHandoffSuccess",
        "handoff": {"claimedBy": {"id": str(view["id_3"])}},
    }
    return _answer({"claimHandoff": answer})


async def graphql(request: Request) -> Response:
    body = await request.json()
    query, variables = body["query"], body.get("variables") or {}
    async with request.app.state.pool.acquire() as conn:
        viewer = await _viewer(request, conn)
        if viewer is None:
            return _error("unauthenticated", 401)
        if "createHandoff" in query:
            return await escalate(conn, viewer, variables)
        return await claim(conn, viewer, variables)


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    url = os.environ["HANDOFF_DATABASE_URL"]
    # The desk's pool: 10 connections and 10 more on demand.
    app.state.pool = await asyncpg.create_pool(url, min_size=10, max_size=20)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)],
    lifespan=lifespan,
)
