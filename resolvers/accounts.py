"""Accounts (tenants) and their users, administered by the account's admins."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.enums import EventKind, Role
from db.models import Account, User
from resolvers import claims, limits, pages
from resolvers.auth import Viewer, hash_password, normalize_email
from resolvers.desk import Abort, Desk, transaction
from resolvers.errors import BadInput
from resolvers.outcomes import EmailTaken, LastAdmin, NotFound, NotPermitted
from resolvers.permissions import Capability, denial, requires, roles_with
from resolvers.tenancy import in_account

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Who keeps an account administrable: the last of them cannot be demoted or deactivated.
_ADMIN_ROLES = roles_with(Capability.ADMINISTER)


def _check_email(email: str) -> str:
    email = normalize_email(limits.check_storable(email, "email"))
    if len(email) > limits.EMAIL_MAX or not _EMAIL.match(email):
        raise BadInput(f"{email!r} is not an email address")
    return email


def _check_password(password: str) -> str:
    limits.check_storable(password, "password")
    if not limits.PASSWORD_MIN <= len(password) <= limits.PASSWORD_MAX:
        raise BadInput(
            f"a password must have {limits.PASSWORD_MIN} to {limits.PASSWORD_MAX} characters"
        )
    return password


async def _new_user(
    account_id: uuid.UUID, name: str, email: str, role: Role, password: str
) -> User:
    return User(
        account_id=account_id,
        name=limits.check_text(name, "name", maximum=limits.NAME_MAX),
        email=_check_email(email),
        role=role,
        password_hash=await hash_password(_check_password(password)),
    )


async def create_account(
    desk: Desk, *, name: str, admin_name: str, admin_email: str, admin_password: str
) -> tuple[Account, User]:
    """Bring up a tenant with its first admin (the `create-account` command). Emails are unique
    per account, so the admin's address may be a user of other accounts too."""
    account = Account(name=limits.check_text(name, "name", maximum=limits.NAME_MAX))
    admin = await _new_user(account.id, admin_name, admin_email, Role.ADMIN, admin_password)
    async with transaction(desk) as tx:
        tx.session.add(account)
        await tx.session.flush()
        tx.session.add(admin)
    return account, admin


async def get_account(desk: Desk, viewer: Viewer) -> Account:
    async with desk.db.read() as db:
        return await db.get_one(Account, viewer.account_id)  # the caller's: it exists


async def list_users(desk: Desk, viewer: Viewer) -> list[User]:
    stmt = select(User).where(in_account(User, viewer)).order_by(col(User.name))
    async with desk.db.read() as db:
        return list((await db.exec(stmt)).all())


async def users_page(desk: Desk, viewer: Viewer, ask: pages.PageAsk[uuid.UUID]) -> pages.Page[User]:
    """The account's users by name (then id), a page beyond the cursor's user."""
    at = None
    if ask.cursor is not None:
        name = select(User.name).where(User.id == ask.cursor, in_account(User, viewer))
        at = (name.correlate(None).scalar_subquery(), ask.cursor)
    stmt = pages.keyset(
        select(User).where(in_account(User, viewer)),
        (col(User.name), col(User.id)),
        at,
        ask,
        descending=False,
    )
    async with desk.db.read() as db:
        return pages.in_order(list((await db.exec(stmt)).all()), ask)


@requires(Capability.ADMINISTER)
async def add_user(
    desk: Desk, viewer: Viewer, *, name: str, email: str, role: Role, password: str
) -> User | NotPermitted | EmailTaken:
    """Emails are unique per account: an address already in the caller's account is refused
    (the admin can list those anyway); one in other accounts only is added like any other, so
    the answer tells nothing about other tenants."""
    user = await _new_user(viewer.account_id, name, email, role, password)
    try:
        async with transaction(desk) as tx:
            await _lock_admins_as_one_of_them(tx.session, viewer)
            tx.session.add(user)
            tx.touch(viewer.account_id)
    except IntegrityError:  # the unique (email, account_id): in this account already
        return EmailTaken(user.email)
    except Abort as abort:
        assert isinstance(abort.outcome, NotPermitted)  # the admin check is all that aborts
        return abort.outcome
    return user


async def set_user_role(
    desk: Desk, viewer: Viewer, user_id: uuid.UUID, role: Role
) -> User | NotPermitted | NotFound | LastAdmin:
    return await _change_user(desk, viewer, user_id, role=role)


async def deactivate_user(
    desk: Desk, viewer: Viewer, user_id: uuid.UUID
) -> User | NotPermitted | NotFound | LastAdmin:
    return await _change_user(desk, viewer, user_id, active=False)


async def _lock_admins_as_one_of_them(session: AsyncSession, viewer: Viewer) -> None:
    """Lock the account's active admins, and go on only if the caller is still one of them.

    The lock makes two admins demoting each other at once see each other's change; the check
    refuses a request that was authenticated before its caller lost the admin role.
    """
    admins = select(User.id).where(
        in_account(User, viewer), col(User.role).in_(_ADMIN_ROLES), User.active
    )
    if viewer.user_id not in set((await session.exec(admins.with_for_update())).all()):
        raise Abort(NotPermitted(denial(Capability.ADMINISTER)))


@requires(Capability.ADMINISTER)
async def _change_user(
    desk: Desk,
    viewer: Viewer,
    user_id: uuid.UUID,
    *,
    role: Role | None = None,
    active: bool | None = None,
) -> User | NotPermitted | NotFound | LastAdmin:
    try:
        async with transaction(desk) as tx:
            await _lock_admins_as_one_of_them(tx.session, viewer)
            user = (
                await tx.session.exec(
                    select(User)
                    .where(User.id == user_id, in_account(User, viewer))
                    .with_for_update()
                )
            ).first()
            if user is None:
                return NotFound("user")
            standing = (user.role, user.active)
            if role is not None:
                user.role = role
            if active is not None:
                user.active = active
            tx.session.add(user)
            tx.touch(viewer.account_id)
            await tx.session.flush()
            if await _active_admins(tx.session, viewer.account_id) == 0:
                raise Abort(LastAdmin())
            if not claims.may_claim(user):
                # Claims nobody is working any more go back to the queue, in this transaction.
                await claims.release_claims_of(tx, viewer.account_id, user.id, viewer.user_id)
            if (user.role, user.active) != standing:
                # Last: live subscriptions check their callers' rights again on this event.
                await tx.record(
                    viewer.account_id, EventKind.ACCESS_CHANGED, actor_id=viewer.user_id
                )
    except Abort as abort:
        assert isinstance(abort.outcome, NotPermitted | LastAdmin)
        return abort.outcome
    return user


async def _active_admins(db: AsyncSession, account_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        in_account(User, account_id), col(User.role).in_(_ADMIN_ROLES), User.active
    )
    return (await db.exec(stmt)).one()


# --- the account's settings for an escalation's lifecycle ---


@requires(Capability.ADMINISTER)
async def set_self_claim_allowed(
    desk: Desk, viewer: Viewer, allowed: bool
) -> Account | NotPermitted:
    """Whether the account's users may claim escalations they raised themselves (by default
    they may not: they withdraw them instead)."""
    return await _set_account(desk, viewer, allow_self_claim=allowed)


@requires(Capability.ADMINISTER)
async def set_notes_visible_to_viewers(
    desk: Desk, viewer: Viewer, visible: bool
) -> Account | NotPermitted:
    """Whether the account's viewers read its internal notes (by default they do; engineers and
    admins always do: resolvers/visibility.notes_visible). From the next read on: their
    history, their notes, their live events."""
    return await _set_account(desk, viewer, notes_visible_to_viewers=visible)


async def _set_account(desk: Desk, viewer: Viewer, **settings: bool) -> Account | NotPermitted:
    """One of the account's settings, set by one of its admins (as they still are)."""
    try:
        async with transaction(desk) as tx:
            await _lock_admins_as_one_of_them(tx.session, viewer)
            account = await tx.session.get_one(Account, viewer.account_id)
            for name, value in settings.items():
                setattr(account, name, value)
            tx.session.add(account)
            tx.touch(viewer.account_id)
    except Abort as abort:
        assert isinstance(abort.outcome, NotPermitted)  # the admin check is all that aborts
        return abort.outcome
    return account
