"""Builds accounts, users and sessions through the real resolvers (passwords hashed once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from sqlmodel import col, select, update

from db.enums import (
    Confidence,
    HandoffIntent,
    IntakeType,
    JobKind,
    JobState,
    MessageRole,
    Priority,
    Role,
)
from db.models import Account, AssessmentVersion, Handoff, Job, TroubleshootingSession, User
from resolvers import handoffs, sessions
from resolvers.assessments import AssessmentResult, pending_handoff, store_assessment
from resolvers.auth import Viewer, issue_token
from resolvers.desk import Desk, transaction
from tests.server import CHEAP_HASHING

PASSWORD = "correct-horse-42"
# One argon2 hash for every test user, with the tests' cheap parameters: a login checks it fast.
_HASH = PasswordHasher.from_parameters(CHEAP_HASHING).hash(PASSWORD)


@dataclass
class Member:
    user: User
    token: str
    viewer: Viewer

    @property
    def id(self) -> str:
        return str(self.user.id)


@dataclass
class Tenant:
    account: Account
    members: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Member:
        return self.members[key]


@dataclass
class Team:
    acme: Tenant
    globex: Tenant


async def make_tenant(desk: Desk, name: str, people: list[tuple[str, Role]]) -> Tenant:
    (tenant,) = await _make_tenants(desk, [(name, people)])
    return tenant


async def _make_tenants(
    desk: Desk, accounts: list[tuple[str, list[tuple[str, Role]]]]
) -> list[Tenant]:
    """The accounts and their people, in one transaction (one commit, not one per account)."""
    made: list[tuple[Account, list[User]]] = []
    for name, people in accounts:
        account = Account(name=name)
        users = [
            User(
                account_id=account.id,
                name=person,
                email=f"{person.lower().replace(' ', '.')}@{name.lower()}.test",
                role=role,
                password_hash=_HASH,
            )
            for person, role in people
        ]
        made.append((account, users))
    async with transaction(desk) as tx:
        tx.session.add_all([account for account, _ in made])
        await tx.session.flush()  # the accounts before the users that name them
        tx.session.add_all([user for _, users in made for user in users])
    tenants = []
    for account, users in made:
        tenant = Tenant(account=account)
        for user in users:
            key = user.name.split()[0].lower()
            assert key not in tenant.members, f"two members would be called {key!r}"
            tenant.members[key] = Member(
                user=user, token=issue_token(desk, user).token, viewer=viewer_of(user)
            )
        tenants.append(tenant)
    return tenants


def viewer_of(user: User) -> Viewer:
    return Viewer(user_id=user.id, account_id=user.account_id, role=user.role, name=user.name)


async def make_team(desk: Desk) -> Team:
    acme, globex = await _make_tenants(
        desk,
        [
            (
                "Acme",
                [
                    ("Dana Admin", Role.ADMIN),
                    ("Sam Senior", Role.ENGINEER),
                    ("Kim Senior", Role.ENGINEER),
                    ("Alex Junior", Role.ENGINEER),
                    ("Vic Viewer", Role.VIEWER),
                ],
            ),
            ("Globex", [("Gail Admin", Role.ADMIN), ("Gus Engineer", Role.ENGINEER)]),
        ],
    )
    return Team(acme=acme, globex=globex)


async def make_session(
    desk: Desk, owner: Member, summary: str = "Printer offline", turns: int = 2
) -> TroubleshootingSession:
    session = await sessions.start_session(
        desk,
        owner.viewer,
        intake_type=IntakeType.CHAT,
        intake_content="Customer reports a problem.",
        problem_summary=summary,
    )
    for n in range(turns):
        role = MessageRole.CUSTOMER if n % 2 == 0 else MessageRole.ASSISTANT
        await sessions.add_message(
            desk, owner.viewer, session.id, role=role, content=f"turn {n + 1}", confidence_tier=None
        )
    return session


async def make_escalation(
    desk: Desk,
    owner: Member,
    summary: str = "Printer offline",
    priority: Priority = Priority.NORMAL,
    intent: HandoffIntent = HandoffIntent.ESCALATE,
) -> Handoff:
    session = await make_session(desk, owner, summary)
    handoff = await handoffs.create_handoff(
        desk, owner.viewer, session.id, intent=intent, engineer_notes="tried", priority=priority
    )
    assert isinstance(handoff, Handoff), handoff
    return handoff


async def make_parked_session(
    desk: Desk, owner: Member, times: int, summary: str = "Handed back and forth"
) -> TroubleshootingSession:
    """A session parked `times` times, a customer message resuming it in between."""
    session = await make_session(desk, owner, summary, turns=1)
    for n in range(times):
        if n:
            await sessions.add_message(
                desk,
                owner.viewer,
                session.id,
                role=MessageRole.CUSTOMER,
                content=f"still broken {n}",
                confidence_tier=None,
            )
        parked = await handoffs.create_handoff(
            desk,
            owner.viewer,
            session.id,
            intent=HandoffIntent.PARK,
            engineer_notes=f"park {n}",
            priority=Priority.NORMAL,
        )
        assert isinstance(parked, Handoff), parked
    return session


async def assessment_of(desk: Desk, handoff_id: uuid.UUID, number: int = 1) -> AssessmentVersion:
    """The escalation's assessment of that number (1: the one its escalation asked for)."""
    async with desk.db.read() as db:
        stmt = select(AssessmentVersion).where(
            AssessmentVersion.handoff_id == handoff_id, AssessmentVersion.number == number
        )
        return (await db.exec(stmt)).one()


async def land_assessment(
    desk: Desk, handoff_id: uuid.UUID, summary: str = "A landed assessment", assessor: str = "rules"
) -> AssessmentVersion:
    """The escalation's pending assessment lands ready now, as a worker would land it (and its
    job is done: no worker a test starts later assesses it again)."""
    result = AssessmentResult(
        summary=summary,
        likely_cause=f"The cause of {summary.lower()}",
        suggested_steps=["Look closer", "Fix it"],
        confidence=Confidence.MEDIUM,
    )
    async with transaction(desk) as tx:
        handoff = await pending_handoff(tx.session, handoff_id)
        assert handoff is not None, "no assessment of it is pending"
        assert await store_assessment(tx, handoff, result, assessor=assessor)
        await tx.session.exec(
            update(Job)
            .where(
                col(Job.subject_id) == handoff_id,
                col(Job.kind) == JobKind.ASSESS,
                col(Job.state) == JobState.PENDING,
            )
            .values(state=JobState.DONE)
        )
    async with desk.db.read() as db:
        stmt = (
            select(AssessmentVersion)
            .where(AssessmentVersion.handoff_id == handoff_id)
            .order_by(col(AssessmentVersion.number).desc())
        )
        return (await db.exec(stmt)).first()
