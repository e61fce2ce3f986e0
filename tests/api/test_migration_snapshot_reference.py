"""Migration 0005: a handoff keeps a reference to its conversation instead of a copy, and answers
as before, on both databases."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic import command
from sqlalchemy import insert
from sqlmodel import select

from db.engine import Database, create_engine
from db.migrate import alembic_config
from db.models import (
    Account,
    Handoff,
    SessionMessage,
    TroubleshootingSession,
    User,
)
from db.types import utcnow
from handoff_desk.app import create_app
from handoff_desk.settings import Settings
from resolvers.auth import issue_token
from resolvers.desk import Desk

pytestmark = pytest.mark.anyio


def _migrate(sync_connection, revision: str, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def _old_escalation(conn) -> dict:
    """What revision 0004 stored for an escalation taken at two messages, with a third after:
    the conversation copied into the handoff and again into the session's package."""
    account, user, session, handoff = (uuid.uuid4() for _ in range(4))
    now = utcnow()
    messages = [
        {"position": 1, "role": "customer", "content": "VPN drops\nevery ten minutes"},
        {"position": 2, "role": "assistant", "content": "Which Wi-Fi?"},
        {"position": 3, "role": "customer", "content": "Home, after the handoff"},
    ]
    for m in messages:
        m["created_at"] = (now + timedelta(seconds=m["position"])).isoformat()
    snapshot = {
        "taken_at": now.isoformat(),
        "problem_summary": "VPN drops",
        "intake_type": "chat",
        "intake_content": "Customer reports a problem.",
        "status": "active",
        "confidence_tier": None,
        "handoff_count": 0,
        "messages": messages[:2],
    }
    package = {
        "handoff_id": str(handoff),
        "escalated_at": now.isoformat(),
        "snapshot": snapshot,
        "conversation_path": [
            {"position": 1, "role": "customer", "excerpt": "VPN drops"},
            {"position": 2, "role": "assistant", "excerpt": "Which Wi-Fi?"},
        ],
    }
    rows = [
        (Account, [{"id": account, "name": "Old", "created_at": now}]),
        (
            User,
            [
                {
                    "id": user,
                    "account_id": account,
                    "name": "Olga Old",
                    "email": "olga@old.test",
                    "password_hash": "x",
                    "role": "engineer",
                    "active": True,
                    "created_at": now,
                }
            ],
        ),
        (
            TroubleshootingSession,
            [
                {
                    "id": session,
                    "account_id": account,
                    "owner_id": user,
                    "assignee_id": user,
                    "intake_type": "chat",
                    "intake_content": "Customer reports a problem.",
                    "problem_summary": "VPN drops",
                    "status": "escalated",
                    "handoff_count": 1,
                    "message_count": 3,
                    "escalation_package": package,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        ),
        (
            SessionMessage,
            [
                {
                    "id": uuid.uuid4(),
                    "session_id": session,
                    **m,
                    "created_at": datetime.fromisoformat(m["created_at"]),
                }
                for m in messages
            ],
        ),
        (
            Handoff,
            [
                {
                    "id": handoff,
                    "account_id": account,
                    "session_id": session,
                    "intent": "escalate",
                    "engineer_notes": "",
                    "priority": "normal",
                    "priority_rank": 2,
                    "snapshot": snapshot,
                    "created_by_id": user,
                    "created_at": now,
                    "assessment_status": "pending",
                }
            ],
        ),
    ]
    for model, values in rows:
        table = model.__table__
        await conn.execute(insert(table).values(values))
    return {
        "user": user,
        "handoff": handoff,
        "session": session,
        "snapshot": snapshot,
        "package": package,
    }


async def _stored(conn, old) -> tuple[dict, dict]:
    handoff = Handoff.__table__
    session = TroubleshootingSession.__table__
    snapshot = (
        await conn.execute(select(handoff.c.snapshot).where(handoff.c.id == old["handoff"]))
    ).scalar_one()
    package = (
        await conn.execute(
            select(session.c.escalation_package).where(session.c.id == old["session"])
        )
    ).scalar_one()
    return snapshot, package


SNAPSHOT_SEEN = """
query($id: ID!) { handoff(id: $id) {
  snapshot { problemSummary status messages { position role content createdAt } }
  session { escalationPackage { handoffId
    snapshot { problemSummary messages { position } } conversationPath { position excerpt } } }
} }
"""


async def test_migration_0005_keeps_a_reference_and_answers_as_before(empty_database):
    engine = create_engine(empty_database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0004")
            old = await _old_escalation(conn)
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0005")
            stored, package = await _stored(conn, old)
        # The copies are gone: the handoff keeps a position, the package the handoff's id.
        assert "messages" not in stored
        assert set(package) == {"handoff_id", "escalated_at"}

        # And back: 0004's copies are rebuilt from the messages; then forward again.
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "0004", True)
            restored, restored_package = await _stored(conn, old)
        assert restored == old["snapshot"]
        assert restored_package["snapshot"] == old["snapshot"]
        assert restored_package["conversation_path"] == old["package"]["conversation_path"]
        async with engine.begin() as conn:
            await conn.run_sync(_migrate, "head")

        settings = Settings(
            database_url=empty_database,
            token_secret="test-secret-not-for-production-0123456789",
            run_workers=False,
        )
        desk = Desk(settings=settings, db=Database.from_url(settings.database_url))
        async with desk.db.read() as db:
            user = await db.get(User, old["user"])
        token = issue_token(desk, user).token
        await desk.db.dispose()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://old.test") as c:
                body = (
                    await c.post(
                        "/graphql",
                        json={"query": SNAPSHOT_SEEN, "variables": {"id": str(old["handoff"])}},
                        headers={"authorization": f"Bearer {token}"},
                    )
                ).json()
        assert "errors" not in body, body
        handoff = body["data"]["handoff"]
        assert handoff["snapshot"]["problemSummary"] == "VPN drops"
        assert [
            (m["position"], m["role"].lower(), m["content"], m["createdAt"])
            for m in handoff["snapshot"]["messages"]
        ] == [
            (m["position"], m["role"], m["content"], _iso_z(m["created_at"]))
            for m in old["snapshot"]["messages"]
        ]
        seen_package = handoff["session"]["escalationPackage"]
        assert seen_package["handoffId"] == str(old["handoff"])
        assert [m["position"] for m in seen_package["snapshot"]["messages"]] == [1, 2]
        assert seen_package["conversationPath"] == [
            {"position": 1, "excerpt": "VPN drops"},
            {"position": 2, "excerpt": "Which Wi-Fi?"},
        ]

    finally:
        await engine.dispose()


def _iso_z(value: str) -> str:
    """How the API writes a stored UTC time."""
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()
