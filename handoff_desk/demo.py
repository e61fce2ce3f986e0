"""Demo data for `serve --demo`: two accounts, a small team, sessions in every state.

Seeded through the resolvers, so the demo obeys the same rules as the API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlmodel import SQLModel, select

from db.enums import Confidence, HandoffIntent, IntakeType, MessageRole, Priority, Role
from db.models import Account, TroubleshootingSession, User
from resolvers import accounts, handoffs, sessions
from resolvers.auth import Viewer
from resolvers.desk import Desk

DEMO_PASSWORD = "handoff-demo"
DEMO_ACCOUNTS = ("Northwind IT Services", "Contoso Helpdesk")

TEAM = [
    # name, email, role
    ("Sam Okafor", "sam@northwind.example", Role.ENGINEER),
    ("Alex Rivera", "alex@northwind.example", Role.ENGINEER),
    ("Vic Chen", "vic@northwind.example", Role.VIEWER),
]

SESSIONS: list[dict[str, Any]] = [
    {
        "summary": "VPN drops every ten minutes on home Wi-Fi",
        "intake": (IntakeType.CHAT, "Customer: my VPN disconnects all the time since Monday."),
        "turns": [
            (MessageRole.CUSTOMER, "It drops about every ten minutes, only at home."),
            (MessageRole.ASSISTANT, "Does it happen on a wired connection or another network?"),
            (MessageRole.CUSTOMER, "Only on my home Wi-Fi. The office is fine."),
            (MessageRole.ENGINEER, "Reinstalled the VPN client; still drops after ten minutes."),
        ],
        "handoff": None,
    },
    {
        "summary": "Outlook keeps prompting for a password after the MFA change",
        "intake": (IntakeType.TICKET, "Ticket #4471: Outlook password prompts loop."),
        "turns": [
            (MessageRole.CUSTOMER, "Outlook asks for my password every few minutes."),
            (
                MessageRole.ASSISTANT,
                "Is the mailbox on modern authentication since the MFA change?",
            ),
            (
                MessageRole.ENGINEER,
                "Cleared cached credentials in Credential Manager; prompt is back.",
            ),
        ],
        "handoff": (
            HandoffIntent.ESCALATE,
            Priority.HIGH,
            "Cached creds cleared twice. Suspect "
            "legacy auth still enabled on the tenant; I have no admin rights there.",
        ),
    },
    {
        "summary": "Shared printer offline for the finance team",
        "intake": (IntakeType.PHONE, "Finance cannot print to FIN-PRN-02 since this morning."),
        "turns": [
            (MessageRole.CUSTOMER, "The whole finance team sees the printer as offline."),
            (
                MessageRole.ENGINEER,
                "Printer answers ping; the print spooler on PRINTSRV01 restarts.",
            ),
        ],
        "handoff": (
            HandoffIntent.ESCALATE,
            Priority.URGENT,
            "Month-end close today. Spooler "
            "crashes within a minute of restart; event log shows a driver fault.",
        ),
    },
    {
        "summary": "New laptop enrolment stuck at 'Setting up your device'",
        "intake": (IntakeType.EMAIL, "New hire's laptop is stuck in Autopilot enrolment."),
        "turns": [
            (MessageRole.ENGINEER, "Asked the customer to photograph the error screen."),
        ],
        "handoff": (HandoffIntent.PARK, Priority.NORMAL, "Waiting for the customer's photo."),
    },
]


async def seed_demo(desk: Desk) -> bool:
    """Seed once; False when the demo accounts exist already."""
    async with desk.db.read() as db:
        if (await db.exec(select(User).where(User.email == "dana@northwind.example"))).first():
            return False
    _, dana = await accounts.create_account(
        desk,
        name=DEMO_ACCOUNTS[0],
        admin_name="Dana Whitfield",
        admin_email="dana@northwind.example",
        admin_password=DEMO_PASSWORD,
    )
    admin = _viewer(dana)
    team: dict[str, User] = {}
    for name, email, role in TEAM:
        user = await accounts.add_user(
            desk, admin, name=name, email=email, role=role, password=DEMO_PASSWORD
        )
        assert isinstance(user, User), user  # a new account's admin adds new emails
        team[email] = user
    junior = _viewer(team["alex@northwind.example"])
    for spec in SESSIONS:
        await _seed_session(desk, junior, spec)
    await accounts.create_account(
        desk,
        name=DEMO_ACCOUNTS[1],
        admin_name="Casey Morgan",
        admin_email="casey@contoso.example",
        admin_password=DEMO_PASSWORD,
    )
    return True


async def _seed_session(desk: Desk, junior: Viewer, spec: dict[str, Any]) -> None:
    intake_type, intake_content = spec["intake"]
    session = await sessions.start_session(
        desk,
        junior,
        intake_type=intake_type,
        intake_content=intake_content,
        problem_summary=spec["summary"],
    )
    assert isinstance(session, TroubleshootingSession), session  # the junior works sessions
    for role, content in spec["turns"]:
        tier = Confidence.LOW if role == MessageRole.ASSISTANT else None
        await sessions.add_message(
            desk, junior, session.id, role=role, content=content, confidence_tier=tier
        )
    if spec["handoff"]:
        intent, priority, notes = spec["handoff"]
        await handoffs.create_handoff(
            desk, junior, session.id, intent=intent, engineer_notes=notes, priority=priority
        )


def _viewer(user: User) -> Viewer:
    return Viewer(user_id=user.id, account_id=user.account_id, role=user.role, name=user.name)


def logins() -> list[str]:
    """Who can log in to the demo, for `serve --demo` to print."""
    team = ", ".join(f"{email} ({role.value})" for _, email, role in TEAM)
    return [
        f"password {DEMO_PASSWORD!r} for every demo user",
        f"{DEMO_ACCOUNTS[0]}: dana@northwind.example (admin), {team}",
        f"{DEMO_ACCOUNTS[1]}: casey@contoso.example (admin)",
    ]


async def accounts_not_of_the_demo(desk: Desk) -> list[str]:
    """The names of the database's accounts that the demo did not make (`--reset` keeps off)."""
    async with desk.db.read() as db:
        names = (await db.exec(select(Account.name))).all()
    return sorted(name for name in names if name not in DEMO_ACCOUNTS)


async def start_over(desk: Desk) -> None:
    """Every row of every table deleted in one transaction, a table's dependents first
    (`serve --demo --reset`, after `accounts_not_of_the_demo` found none)."""
    async with desk.db.write() as db:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await db.exec(delete(table))
