"""Notifications people control (issue 15): each user's preferences, their account's defaults,
and the signed link each email carries to change them.

A preference a user has not set (None) follows the account's default; an account without
defaults of its own has the desk's, which send every email the desk sent before preferences
existed. Who is told what, given these, is resolvers/notifications.py.

The link's token is signed with the login tokens' secret, but says what it is for (its audience):
it opens the preferences of one user, nothing else, and login refuses it (resolvers/auth.py
verifies no audience, and PyJWT refuses a token that names one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import jwt
from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import EscalationAlerts, Priority
from db.models import NotificationDefaults, NotificationPreference, User
from resolvers.auth import Viewer
from resolvers.desk import Desk, DeskSettings, Tx, transaction
from resolvers.errors import AuthenticationError
from resolvers.ids import parse_id
from resolvers.outcomes import NotPermitted
from resolvers.permissions import Capability, requires
from resolvers.tenancy import in_account

# How long an email's link to its recipient's preferences works.
LINK_TTL = timedelta(days=30)
LINK_PATH = "/email-preferences"
_AUDIENCE = "handoff-desk:email-preferences"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Preferences:
    """What a user hears of, all settled: theirs, or where they chose nothing the account's."""

    new_escalations: EscalationAlerts  # which of the team's new escalations
    my_escalations: bool  # one they escalated was claimed, transferred or is overdue
    in_app_only: bool  # none of these by email: the desk's notification list only

    def new_escalation(self, priority: str) -> bool:
        """Whether they hear of a new escalation of this priority (in the desk, at least)."""
        match self.new_escalations:
            case EscalationAlerts.ALL:
                return True
            case EscalationAlerts.HIGH_AND_URGENT:
                return Priority(priority).rank >= Priority.HIGH.rank
            case EscalationAlerts.NONE:
                return False


DESK_DEFAULTS = Preferences(
    new_escalations=EscalationAlerts.ALL, my_escalations=True, in_app_only=False
)


@dataclass(frozen=True)
class Choice:
    """A user's own choices: None follows the account's default."""

    new_escalations: EscalationAlerts | None = None
    my_escalations: bool | None = None
    in_app_only: bool | None = None

    def over(self, defaults: Preferences) -> Preferences:
        return Preferences(
            new_escalations=self.new_escalations or defaults.new_escalations,
            my_escalations=_either(self.my_escalations, defaults.my_escalations),
            in_app_only=_either(self.in_app_only, defaults.in_app_only),
        )


def _either(value: bool | None, default: bool) -> bool:
    return default if value is None else value


@dataclass(frozen=True)
class MyPreferences:
    """A user's choices, what they come to, and the account's defaults beneath them."""

    user: User
    choice: Choice
    defaults: Preferences

    @property
    def effective(self) -> Preferences:
        return self.choice.over(self.defaults)


@dataclass(frozen=True)
class ChoiceChange:
    """The user's choices to change: those named in `given`, each to its value here (None:
    follow the account's default); the others stay as they are."""

    new_escalations: EscalationAlerts | None = None
    my_escalations: bool | None = None
    in_app_only: bool | None = None
    given: frozenset[str] = frozenset()

    def applied_to(self, choice: Choice) -> Choice:
        given = self.given
        return Choice(
            self.new_escalations if "new_escalations" in given else choice.new_escalations,
            self.my_escalations if "my_escalations" in given else choice.my_escalations,
            self.in_app_only if "in_app_only" in given else choice.in_app_only,
        )


@dataclass(frozen=True)
class DefaultsChange:
    """The account's defaults to change; what is None stays as it is."""

    new_escalations: EscalationAlerts | None = None
    my_escalations: bool | None = None
    in_app_only: bool | None = None

    def applied_to(self, defaults: Preferences) -> Preferences:
        return Choice(self.new_escalations, self.my_escalations, self.in_app_only).over(defaults)


# --- reading them, for the caller and for the recipients of news ---


async def account_defaults(db: AsyncSession, account_id: uuid.UUID) -> Preferences:
    row = (
        await db.exec(
            select(NotificationDefaults).where(in_account(NotificationDefaults, account_id))
        )
    ).first()
    return DESK_DEFAULTS if row is None else _from_row(row)


def _from_row(row: NotificationDefaults) -> Preferences:
    return Preferences(
        new_escalations=EscalationAlerts(row.new_escalations),
        my_escalations=row.my_escalations,
        in_app_only=row.in_app_only,
    )


def _choice(row: NotificationPreference | None) -> Choice:
    if row is None:
        return Choice()
    alerts = None if row.new_escalations is None else EscalationAlerts(row.new_escalations)
    return Choice(alerts, row.my_escalations, row.in_app_only)


async def preferences_of(
    db: AsyncSession, account_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Preferences]:
    """Each user's preferences as they stand (two statements, however many users)."""
    ids = list(user_ids)
    defaults = await account_defaults(db, account_id)
    if not ids:
        return {}
    rows = (
        await db.exec(
            select(NotificationPreference).where(
                in_account(NotificationPreference, account_id),
                col(NotificationPreference.user_id).in_(ids),
            )
        )
    ).all()
    chosen = {row.user_id: _choice(row) for row in rows}
    return {user_id: chosen.get(user_id, Choice()).over(defaults) for user_id in ids}


async def users_with_preferences(
    db: AsyncSession, account_id: uuid.UUID, *where: ColumnElement[bool]
) -> list[tuple[User, Preferences]]:
    """The account's users matching `where`, by email, each with their preferences as they
    stand: one statement (their own choices and the account's defaults joined)."""
    mine, theirs = NotificationPreference, NotificationDefaults
    stmt = (
        sa_select(
            User,
            col(mine.new_escalations),
            col(mine.my_escalations),
            col(mine.in_app_only),
            col(theirs.new_escalations),
            col(theirs.my_escalations),
            col(theirs.in_app_only),
        )
        .outerjoin(mine, (col(mine.user_id) == col(User.id)) & in_account(mine, account_id))
        .outerjoin(theirs, in_account(theirs, account_id))
        .where(in_account(User, account_id), *where)
        .order_by(col(User.email))
    )
    # (SQLModel types exec() for its own selects; it runs SQLAlchemy's just the same.)
    rows = (await db.exec(stmt)).all()  # type: ignore[call-overload]
    out = []
    for user, alerts, my, in_app, d_alerts, d_my, d_in_app in rows:
        defaults = (
            DESK_DEFAULTS
            if d_alerts is None  # the account has no defaults of its own
            else Preferences(EscalationAlerts(d_alerts), d_my, d_in_app)
        )
        choice = Choice(None if alerts is None else EscalationAlerts(alerts), my, in_app)
        out.append((user, choice.over(defaults)))
    return out


async def _mine(db: AsyncSession, user: User) -> MyPreferences:
    row = (
        await db.exec(
            select(NotificationPreference).where(
                in_account(NotificationPreference, user.account_id),
                NotificationPreference.user_id == user.id,
            )
        )
    ).first()
    return MyPreferences(user, _choice(row), await account_defaults(db, user.account_id))


async def my_preferences(desk: Desk, viewer: Viewer) -> MyPreferences:
    async with desk.db.read() as db:
        user = await _user(db, viewer.account_id, viewer.user_id)
        assert user is not None  # authenticated just now
        return await _mine(db, user)


async def _user(db: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    stmt = select(User).where(in_account(User, account_id), User.id == user_id)
    return (await db.exec(stmt)).first()


# --- changing them ---


async def set_my_preferences(desk: Desk, viewer: Viewer, change: ChoiceChange) -> MyPreferences:
    """Anyone may choose what they hear of (a viewer is never emailed of escalations all the
    same: resolvers/notifications.py)."""
    return await _set_choice(desk, viewer.account_id, viewer.user_id, change)


async def _set_choice(
    desk: Desk, account_id: uuid.UUID, user_id: uuid.UUID, change: ChoiceChange
) -> MyPreferences:
    async with transaction(desk) as tx:
        row = await _locked_row(
            tx,
            NotificationPreference,
            {"user_id": user_id, "account_id": account_id},
            NotificationPreference.user_id == user_id,
            key="user_id",
            account_id=account_id,
        )
        choice = change.applied_to(_choice(row))
        _write(tx, row, choice.new_escalations, choice.my_escalations, choice.in_app_only)
        tx.touch(account_id)  # cached answers of this user's preferences move on
        await tx.session.flush()
        user = await _user(tx.session, account_id, user_id)
        assert user is not None
        return MyPreferences(user, choice, await account_defaults(tx.session, account_id))


_Row = TypeVar("_Row", NotificationPreference, NotificationDefaults)


async def _locked_row(
    tx: Tx,
    model: type[_Row],
    values: dict[str, Any],
    *where: Any,
    key: str,
    account_id: uuid.UUID,
) -> _Row:
    """The row, locked; made with `values` if there was none (two first changes at once: one
    makes it, and both change it, one after the other)."""
    insert = pg_insert if tx.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await tx.session.exec(
        insert(model)
        .values(**values, updated_at=tx.now())
        .on_conflict_do_nothing(index_elements=[key])
    )
    stmt = (
        select(model)
        .where(in_account(model, account_id), *where)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await tx.session.exec(stmt)).one()


def _write(
    tx: Tx,
    row: NotificationPreference | NotificationDefaults,
    new_escalations: EscalationAlerts | None,
    my_escalations: bool | None,
    in_app_only: bool | None,
) -> None:
    # (Both tables have these columns; only a user's choices may be None.)
    values = {
        "new_escalations": new_escalations,
        "my_escalations": my_escalations,
        "in_app_only": in_app_only,
        "updated_at": tx.now(),
    }
    for name, value in values.items():
        setattr(row, name, value)
    tx.session.add(row)


async def notification_defaults(desk: Desk, viewer: Viewer) -> Preferences:
    async with desk.db.read() as db:
        return await account_defaults(db, viewer.account_id)


@requires(Capability.ADMINISTER)
async def set_notification_defaults(
    desk: Desk, viewer: Viewer, change: DefaultsChange
) -> Preferences | NotPermitted:
    """The account's defaults from now on, for every user who chose nothing of their own."""
    start = DESK_DEFAULTS
    async with transaction(desk) as tx:
        row = await _locked_row(
            tx,
            NotificationDefaults,
            {
                "account_id": viewer.account_id,
                "new_escalations": start.new_escalations,
                "my_escalations": start.my_escalations,
                "in_app_only": start.in_app_only,
            },
            key="account_id",
            account_id=viewer.account_id,
        )
        defaults = change.applied_to(_from_row(row))
        _write(tx, row, defaults.new_escalations, defaults.my_escalations, defaults.in_app_only)
        tx.touch(viewer.account_id)  # every user's effective preferences may have moved
    return defaults


# --- the link in each email ---


def link_token(
    settings: DeskSettings, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> str:
    """A token that opens one user's email preferences until it expires, and nothing else."""
    claims = {
        "sub": str(user_id),
        "acct": str(account_id),
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + LINK_TTL,
    }
    return jwt.encode(claims, settings.token_secret, algorithm=_ALGORITHM)


def preferences_link(
    settings: DeskSettings, user_id: uuid.UUID, account_id: uuid.UUID, now: datetime
) -> str:
    token = link_token(settings, user_id, account_id, now)
    return f"{settings.public_url}{LINK_PATH}?token={quote(token)}"


async def _link_user(desk: Desk, token: str) -> User:
    """The active user a link's token names; AuthenticationError for anything else (expired,
    forged, a login token, a user gone or deactivated)."""
    try:
        claims = jwt.decode(
            token,
            desk.settings.token_secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "sub", "acct", "aud"]},
        )
        user_id, account_id = parse_id(claims["sub"]), parse_id(claims["acct"])
    except jwt.ExpiredSignatureError:
        raise AuthenticationError(
            "This link has expired: open the desk and change your preferences there, or use "
            "the link in a newer email"
        ) from None
    except Exception:
        raise AuthenticationError("This link is not valid") from None
    async with desk.db.read() as db:
        user = await _user(db, account_id, user_id)
    if user is None or not user.active:
        raise AuthenticationError("This link is not valid")
    return user


async def preferences_by_link(desk: Desk, token: str) -> MyPreferences:
    user = await _link_user(desk, token)
    async with desk.db.read() as db:
        return await _mine(db, user)


async def set_preferences_by_link(desk: Desk, token: str, change: ChoiceChange) -> MyPreferences:
    """The link's user's email preferences, changed: the one thing a link's token may do."""
    user = await _link_user(desk, token)
    return await _set_choice(desk, user.account_id, user.id, change)
