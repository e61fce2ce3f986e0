"""Who is calling: passwords, tokens, and the viewer behind a request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlmodel import col, select

from db.models import Account, User
from db.types import utcnow
from resolvers import throttle
from resolvers.desk import Desk
from resolvers.errors import AccessRevoked, AuthenticationError
from resolvers.ids import parse_id
from resolvers.limits import storable
from resolvers.permissions import Capability, allows
from resolvers.tenancy import in_account

# The one place passwords' argon2id parameters come from: RFC 9106's low-memory profile.
PRODUCTION_HASHING = profiles.RFC_9106_LOW_MEMORY
_hashing = PRODUCTION_HASHING
_hasher = PasswordHasher.from_parameters(_hashing)
# Verified when the email is unknown, so that a wrong email costs as long as a wrong password.
# Made by the first login, not at import: a hash costs a quarter of a second of CPU, which every
# process (`serve`, `worker`, `migrate`) would otherwise spend before it starts.
_dummy_hash: str | None = None
_ALGORITHM = "HS256"


def use_hashing(parameters: Parameters) -> Parameters:
    """Hashes new passwords (and the dummy) with these parameters from now on and returns the
    previous ones. Only the test suite calls it, for a cheap profile; production never does."""
    global _hashing, _hasher, _dummy_hash
    previous, _hashing = _hashing, parameters
    _hasher = PasswordHasher.from_parameters(parameters)
    _dummy_hash = None
    return previous


async def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await asyncio.to_thread(_hasher.hash, "not-a-real-password")
    return _dummy_hash


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow and memory-hard: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    account_id: uuid.UUID
    role: str
    name: str
    # What this caller's answers depend on (the account's version plus the caller's own read
    # marks), as read when the request was authenticated: the answer cache keys on it.
    account_version: int = 0
    token_expires_at: datetime | None = None  # when the token it was authenticated by expires

    def can(self, capability: Capability) -> bool:
        return allows(self.role, capability)


@dataclass(frozen=True)
class Standing:
    """What decides a user's rights, as the account's users stand after an access change."""

    role: str
    active: bool


def still_allowed(viewer: Viewer, standing: Mapping[uuid.UUID, Standing]) -> bool:
    """Whether a live subscription may go on serving `viewer` once the account's users changed.

    The cheap twin of `authenticate` for open subscriptions: any change to the caller's role or
    standing ends what was authorized under the old one (the client reconnects and is
    authenticated afresh, with its new rights or not at all)."""
    now = standing.get(viewer.user_id)
    return now is not None and now.active and now.role == viewer.role


# What a stream serving several callers at once passes to check each of them at an access change
# (shared subscriptions), instead of the stream ending for its one caller.
AccessCheck = Callable[[Mapping[uuid.UUID, "Standing"]], None]


def recheck(
    viewer: Viewer, standing: Mapping[uuid.UUID, Standing], on_access_change: AccessCheck | None
) -> None:
    """At an access change in the account, while a live stream serves `viewer`: AccessRevoked
    when their role or standing changed (the stream ends), or `on_access_change` given the
    account's standing to check its several callers."""
    if on_access_change is not None:
        on_access_change(standing)
    elif not still_allowed(viewer, standing):
        raise AccessRevoked("your access changed: reconnect")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def normalize_email(email: str) -> str:
    return email.strip().lower()


# An address may be a user of several accounts, and each of them costs an argon2 check at login:
# at most this many are tried (an address in more accounts names the one it wants).
LOGIN_ACCOUNTS_MAX = 8


@dataclass(frozen=True)
class AccountChoice:
    """The password is right for the address's users of several accounts: the caller names
    one (`account_id`). Only accounts whose password was proved are listed."""

    accounts: list[Account]


async def login(
    desk: Desk,
    email: str,
    password: str,
    address: str | None = None,
    account_id: uuid.UUID | None = None,
) -> IssuedToken | AccountChoice | throttle.Throttled | None:
    """A token for valid credentials of an active user; None otherwise, whatever the reason.
    An address that is a user of several accounts with this password gets the choice, unless
    `account_id` names one. Throttled, checking nothing, past too many failures for the email or
    the client's address."""
    email = normalize_email(email)
    attempt = await throttle.begin(desk, email, address)
    if isinstance(attempt, throttle.Throttled):
        return attempt
    dummy = await _dummy()  # made by the first login of any kind: no path pays it alone
    if not (storable(email) and storable(password)):
        # No stored user can have such an email or password; answer like any other miss.
        await verify_password(dummy, "not-the-password")
        return None
    candidates = await _candidates(desk, email, account_id)
    if not candidates:
        # So that an unknown email (or an account it is not in) costs what a wrong password does.
        await verify_password(dummy, password)
        return None
    # Every candidate is checked, matching or not, one after the other (each check holds 64 MiB).
    # So an address in two accounts takes twice as long: the time tells that it is a user of
    # several accounts, never which; zero and one cost the same.
    matched = [
        (user, account)
        for user, account in candidates
        if await verify_password(user.password_hash, password)
    ]
    if not matched:
        return None
    await throttle.succeeded(desk, attempt)
    if len(matched) > 1:
        return AccountChoice(accounts=[account for _, account in matched])
    return issue_token(desk, matched[0][0])


async def _candidates(
    desk: Desk, email: str, account_id: uuid.UUID | None
) -> list[tuple[User, Account]]:
    """The address's active users (of the account named, if one is), by account name."""
    stmt = (
        select(User, Account)
        .join(Account, col(Account.id) == col(User.account_id))
        .where(User.email == email, col(User.active))
        .order_by(col(Account.name), col(Account.id))
        .limit(LOGIN_ACCOUNTS_MAX)
    )
    if account_id is not None:
        stmt = stmt.where(in_account(User, account_id))
    async with desk.db.read() as session:
        return [(user, account) for user, account in (await session.exec(stmt)).all()]


def issue_token(desk: Desk, user: User) -> IssuedToken:
    now = utcnow()
    expires_at = now + timedelta(seconds=desk.settings.token_ttl_seconds)
    claims = {"sub": str(user.id), "acct": str(user.account_id), "iat": now, "exp": expires_at}
    token = jwt.encode(claims, desk.settings.token_secret, algorithm=_ALGORITHM)
    return IssuedToken(token=token, expires_at=expires_at.replace(microsecond=0), user=user)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError(
            "Authentication required: send 'Authorization: Bearer <token>' "
            "with a token from the login mutation"
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("The Authorization header must read 'Bearer <token>'")
    return token.strip()


def _decode(desk: Desk, token: str) -> tuple[uuid.UUID, uuid.UUID, datetime]:
    try:
        claims = jwt.decode(
            token,
            desk.settings.token_secret,
            algorithms=[_ALGORITHM],
            options={"require": ["exp", "sub", "acct"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("Your token has expired: log in again") from None
    except jwt.PyJWTError:
        raise AuthenticationError("Your token is not valid: log in again") from None
    try:
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        return parse_id(claims["sub"]), parse_id(claims["acct"]), expires_at
    except Exception:
        raise AuthenticationError("Your token is not valid: log in again") from None


# (SQLModel types select() for at most four columns, and declares no __table__; both work.)
_VIEWER = (
    select(  # type: ignore[call-overload]
        User.id,
        User.account_id,
        User.role,
        User.name,
        User.active,
        # Both only grow, and every change moves one: their sum is this caller's version.
        (col(Account.version) + col(User.read_marks)).label("version"),
    )
    .join(Account, col(Account.id) == col(User.account_id))
    .where(col(User.id) == bindparam("user_id", type_=User.__table__.c.id.type))  # type: ignore[attr-defined]
)


async def authenticate(desk: Desk, token: str) -> Viewer:
    user_id, account_id, expires_at = _decode(desk, token)
    async with desk.db.read_rows() as conn:
        row = (await conn.execute(_VIEWER, {"user_id": user_id})).first()
    # Checked on every request, so deactivation ends every token the user holds at once.
    if row is None or row.account_id != account_id or not row.active:
        raise AuthenticationError("This user no longer has access: ask an admin of your account")
    return Viewer(
        user_id=row.id,
        account_id=row.account_id,
        role=row.role,
        name=row.name,
        account_version=row.version,
        token_expires_at=expires_at,
    )
