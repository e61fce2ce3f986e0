"""The queue-read baseline: a minimal hand-written Starlette + asyncpg endpoint that runs the same
SQL as the desk (authenticate, one page, the counts) and returns the same JSON, encoded by the
same encoder (json.dumps with Strawberry's separators). No GraphQL, no ORM: what the stack can
physically do for this answer.

Run by bench/queue_read.py:  uvicorn bench.baseline_queue:app  (HANDOFF_DATABASE_URL set)
"""

from __future__ import annotations

import base64
import contextlib
import json
import os

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.common import TOKEN_SECRET

AUTH = """
SELECT app_user.id, app_user.account_id, app_user.role, app_user.name, app_user.active,
       account.version
FROM app_user JOIN account ON account.id = app_user.account_id
WHERE app_user.id = $1
"""
PAGE = """
SELECT handoff.id, handoff.priority, handoff.priority_rank, handoff.created_at,
       handoff.claimed_at, handoff.claimed_by_id, handoff.engineer_notes,
       handoff.assessment_status, handoff.assessment_summary, handoff.assessment_likely_cause,
       handoff.assessment_suggested_steps, handoff.assessment_confidence,
       EXISTS (SELECT 1 FROM handoff_seen WHERE handoff_seen.handoff_id = handoff.id
               AND handoff_seen.user_id = $1) AS seen,
       troubleshooting_session.id AS session_id, troubleshooting_session.problem_summary,
       troubleshooting_session.status,
       creator.id AS creator_id, creator.name AS creator_name,
       claimer.id AS claimer_id, claimer.name AS claimer_name
FROM handoff
JOIN troubleshooting_session ON troubleshooting_session.id = handoff.session_id
JOIN app_user AS creator ON creator.id = handoff.created_by_id
LEFT OUTER JOIN app_user AS claimer ON claimer.id = handoff.claimed_by_id
WHERE handoff.account_id = $2 AND handoff.intent = 'escalate'
ORDER BY (handoff.claimed_by_id IS NULL) DESC,
         handoff.priority_rank DESC, handoff.created_at DESC, handoff.id DESC
LIMIT $3
"""
COUNTS = """
SELECT (SELECT count(*) FROM handoff
        WHERE handoff.account_id = $2 AND handoff.intent = 'escalate'),
       (SELECT count(*) FROM handoff_seen JOIN handoff ON handoff.id = handoff_seen.handoff_id
        WHERE handoff_seen.user_id = $1 AND handoff.account_id = $2
          AND handoff.intent = 'escalate')
"""


def _cursor(row) -> str:
    key = [
        1 if row["claimed_by_id"] is None else 0,
        row["priority_rank"],
        row["created_at"].isoformat(),
        str(row["id"]),
    ]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _iso(value):
    return value.isoformat() if value is not None else None


def _upper(value):
    return value.upper() if value is not None else None


def _node(row) -> dict:
    steps = row["assessment_suggested_steps"]
    return {
        "id": str(row["id"]),
        "priority": row["priority"].upper(),
        "createdAt": row["created_at"].isoformat(),
        "claimedAt": _iso(row["claimed_at"]),
        "unread": not row["seen"],
        "engineerNotes": row["engineer_notes"],
        "session": {
            "id": str(row["session_id"]),
            "problemSummary": row["problem_summary"],
            "status": row["status"].upper(),
        },
        "createdBy": {"id": str(row["creator_id"]), "name": row["creator_name"]},
        "claimedBy": {"id": str(row["claimer_id"]), "name": row["claimer_name"]}
        if row["claimer_id"] is not None
        else None,
        "assessment": {
            "status": row["assessment_status"].upper(),
            "summary": row["assessment_summary"],
            "likelyCause": row["assessment_likely_cause"],
            "suggestedSteps": (json.loads(steps) if steps else None) or [],
            "confidence": _upper(row["assessment_confidence"]),
        },
    }


def _unauthenticated() -> Response:
    return Response(b'{"errors":[{"message":"unauthenticated"}]}', status_code=401)


async def queue(request: Request) -> Response:
    body = await request.json()
    first = body.get("variables", {}).get("first", 20)
    token = request.headers.get("authorization", "").partition(" ")[2]
    try:
        claims = jwt.decode(token, TOKEN_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return _unauthenticated()
    pool = request.app.state.pool
    async with pool.acquire() as conn:
        user = await conn.fetchrow(AUTH, claims["sub"])
        if user is None or not user["active"]:
            return _unauthenticated()
        rows = await conn.fetch(PAGE, user["id"], user["account_id"], first + 1)
        total, read = await conn.fetchrow(COUNTS, user["id"], user["account_id"])
    edges = [{"cursor": _cursor(r), "node": _node(r)} for r in rows[:first]]
    data = {
        "data": {
            "handoffQueue": {
                "unreadCount": total - read,
                "totalCount": total,
                "pageInfo": {
                    "hasNextPage": len(rows) > first,
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
                "edges": edges,
            }
        }
    }
    return Response(json.dumps(data, separators=(",", ":")), media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    url = os.environ["HANDOFF_DATABASE_URL"]
    app.state.pool = await asyncpg.create_pool(url, min_size=10, max_size=20)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[Route("/graphql", queue, methods=["POST"]), Route("/healthz", healthz)],
    lifespan=lifespan,
)
