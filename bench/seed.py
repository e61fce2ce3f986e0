"""Bulk-seeds a bench database: accounts, users, sessions with messages, escalations (some
claimed, some seen), their event-log rows. Uses Core inserts: 10,000 handoffs in seconds."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from sqlalchemy import insert, update

from bench.common import TOKEN_SECRET
from db.engine import create_engine, normalize_database_url
from db.enums import AssessmentStatus, EventKind, HandoffIntent, Priority, Role, SessionStatus
from db.models import (
    Account,
    AccountEvent,
    Handoff,
    HandoffSeen,
    SessionMessage,
    TroubleshootingSession,
    User,
)

PRIORITIES = list(Priority)
_HASH = PasswordHasher().hash("bench-password")


@dataclass
class SeededAccount:
    id: uuid.UUID
    users: list[uuid.UUID] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    handoffs: list[uuid.UUID] = field(default_factory=list)


def token_for(user_id: uuid.UUID, account_id: uuid.UUID, hours: int = 24) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "acct": str(account_id),
        "iat": now,
        "exp": now + timedelta(hours=hours),
    }
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


async def seed(
    database_url: str,
    *,
    accounts: int = 20,
    handoffs_per_account: int = 500,
    users_per_account: int = 12,
    claimed_fraction: float = 0.3,
    seen_fraction: float = 0.3,
    seed_value: int = 7,
) -> list[SeededAccount]:
    rng = random.Random(seed_value)
    engine = create_engine(normalize_database_url(database_url))
    now = datetime.now(UTC)
    seeded: list[SeededAccount] = []
    async with engine.begin() as conn:
        for a in range(accounts):
            account = SeededAccount(id=uuid.uuid4())
            await conn.execute(insert(Account).values(id=account.id, name=f"Bench {a}"))
            user_rows = []
            for u in range(users_per_account):
                uid = uuid.uuid4()
                role = Role.ADMIN if u == 0 else Role.ENGINEER
                user_rows.append(
                    {
                        "id": uid,
                        "account_id": account.id,
                        "name": f"Engineer {a}-{u}",
                        "email": f"e{a}-{u}-{uid.hex[:6]}@bench.test",
                        "password_hash": _HASH,
                        "role": role,
                        "active": True,
                        "created_at": now,
                    }
                )
                account.users.append(uid)
                account.tokens.append(token_for(uid, account.id))
            await conn.execute(insert(User), user_rows)

            sessions, messages, handoffs, events, seen = [], [], [], [], []
            for h in range(handoffs_per_account):
                sid, hid = uuid.uuid4(), uuid.uuid4()
                owner = account.users[1 + h % (users_per_account - 1)]
                created = now - timedelta(minutes=handoffs_per_account - h)
                claimed = rng.random() < claimed_fraction
                claimer = rng.choice(account.users) if claimed else None
                summary = f"Case {a}-{h}: VPN drops every ten minutes on home Wi-Fi"
                snapshot = {
                    "taken_at": created.isoformat(),
                    "problem_summary": summary,
                    "intake_type": "chat",
                    "intake_content": "Customer reports a problem.",
                    "status": "active",
                    "confidence_tier": "low",
                    "handoff_count": 0,
                    "messages": [],
                }
                sessions.append(
                    {
                        "id": sid,
                        "account_id": account.id,
                        "owner_id": owner,
                        "assignee_id": claimer or owner,
                        "intake_type": "chat",
                        "intake_content": "Customer reports a problem.",
                        "problem_summary": summary,
                        "status": SessionStatus.ACTIVE if claimed else SessionStatus.ESCALATED,
                        "confidence_tier": "low",
                        "handoff_count": 1,
                        "message_count": 2,
                        "escalation_package": None,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                for position, role in ((1, "customer"), (2, "assistant")):
                    messages.append(
                        {
                            "id": uuid.uuid4(),
                            "session_id": sid,
                            "position": position,
                            "role": role,
                            "content": f"turn {position}",
                            "created_at": created,
                        }
                    )
                ready = h % 3 != 0
                handoffs.append(
                    {
                        "id": hid,
                        "account_id": account.id,
                        "session_id": sid,
                        "intent": HandoffIntent.ESCALATE,
                        "engineer_notes": "Reinstalled the client; drops persist.",
                        "priority": PRIORITIES[h % 4],
                        "priority_rank": PRIORITIES[h % 4].rank,
                        "snapshot": snapshot,
                        "created_by_id": owner,
                        "created_at": created,
                        "assessment_status": AssessmentStatus.READY
                        if ready
                        else AssessmentStatus.PENDING,
                        "assessment_summary": "Rule-based triage (no AI model): vpn."
                        if ready
                        else None,
                        "assessment_likely_cause": "NAT idle timeout." if ready else None,
                        "assessment_suggested_steps": ["Lower the MTU", "Test wired"]
                        if ready
                        else None,
                        "assessment_confidence": "low" if ready else None,
                        "assessment_updated_at": created if ready else None,
                        "claimed_by_id": claimer,
                        "claimed_at": created + timedelta(minutes=1) if claimed else None,
                    }
                )
                account.handoffs.append(hid)
                events.append((EventKind.ESCALATED, hid, owner, created))
                if claimed:
                    events.append((EventKind.CLAIMED, hid, claimer, created))
                for user in account.users:
                    if user == owner or rng.random() < seen_fraction:
                        seen.append({"user_id": user, "handoff_id": hid, "seen_at": created})
            await conn.execute(insert(TroubleshootingSession), sessions)
            await conn.execute(insert(SessionMessage), messages)
            await conn.execute(insert(Handoff), handoffs)
            await conn.execute(insert(HandoffSeen), seen)
            await conn.execute(
                insert(AccountEvent),
                [
                    {
                        "account_id": account.id,
                        "seq": n + 1,
                        "kind": kind,
                        "handoff_id": hid,
                        "actor_id": actor,
                        "occurred_at": at,
                    }
                    for n, (kind, hid, actor, at) in enumerate(events)
                ],
            )
            await conn.execute(
                update(Account).where(Account.id == account.id).values(last_seq=len(events))
            )
            seeded.append(account)
    async with engine.connect() as conn:  # statistics, as autovacuum keeps on a live database
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("ANALYZE")
    await engine.dispose()
    return seeded


async def add_users(
    database_url: str, account_id: uuid.UUID, count: int
) -> tuple[list[uuid.UUID], list[str]]:
    """More engineers in one account (the claim storm needs 200 different claimers)."""
    engine = create_engine(normalize_database_url(database_url))
    ids = [uuid.uuid4() for _ in range(count)]
    rows = [
        {
            "id": uid,
            "account_id": account_id,
            "name": f"Racer {n}",
            "email": f"racer-{uid.hex}@bench.test",
            "password_hash": _HASH,
            "role": Role.ENGINEER,
            "active": True,
            "created_at": datetime.now(UTC),
        }
        for n, uid in enumerate(ids)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(User), rows)
    await engine.dispose()
    return ids, [token_for(uid, account_id) for uid in ids]


async def add_sessions(
    database_url: str, account_id: uuid.UUID, owners: list[uuid.UUID], count: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """`count` open sessions (two messages each, never handed off), owned in turn by `owners`:
    what an escalation starts from. Their (session id, owner id) pairs."""
    engine = create_engine(normalize_database_url(database_url))
    now = datetime.now(UTC)
    pairs = [(uuid.uuid4(), owners[n % len(owners)]) for n in range(count)]
    sessions, messages = [], []
    for n, (sid, owner) in enumerate(pairs):
        sessions.append(
            {
                "id": sid,
                "account_id": account_id,
                "owner_id": owner,
                "assignee_id": owner,
                "intake_type": "chat",
                "intake_content": "Customer reports a problem.",
                "problem_summary": f"Case {n}: VPN drops every ten minutes on home Wi-Fi",
                "status": SessionStatus.ACTIVE,
                "confidence_tier": "low",
                "handoff_count": 0,
                "message_count": 2,
                "escalation_package": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        for position, role in ((1, "customer"), (2, "assistant")):
            messages.append(
                {
                    "id": uuid.uuid4(),
                    "session_id": sid,
                    "position": position,
                    "role": role,
                    "content": f"turn {position}",
                    "created_at": now,
                }
            )
    async with engine.begin() as conn:
        for start in range(0, len(sessions), 5000):  # bounded statements
            await conn.execute(insert(TroubleshootingSession), sessions[start : start + 5000])
        for start in range(0, len(messages), 5000):
            await conn.execute(insert(SessionMessage), messages[start : start + 5000])
    await engine.dispose()
    return pairs


if __name__ == "__main__":
    import sys

    result = asyncio.run(seed(sys.argv[1]))
    print(f"seeded {len(result)} accounts")
