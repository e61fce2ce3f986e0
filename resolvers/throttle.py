"""Login throttling: failed logins counted per email and per client address, in a sliding window.

The counts live in the database (`login_attempt`), not in process memory: every API process and
every restart sees the same counts, so spreading guesses over processes, or waiting for a deploy,
gains an attacker nothing. The cost is small next to the argon2 check a login pays anyway.

An attempt is written down before its password is checked, and counts only the attempts written
before it: concurrent guesses cannot all slip through while each one's check is still running.
A throttled attempt checks no password and is then forgotten (only failures count); a failed
one stays as a failure; a success clears its email's failures. Unknown and known emails are
counted, and answered, alike: throttling tells nothing about which emails exist. An email that
is a user of several accounts is one email here: its failures count together, whatever account
a login names.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Mapped
from sqlmodel import col, delete

from db.models import LoginAttempt
from db.types import utcnow
from resolvers.desk import Desk

_LOCK_KEY = 0x4C4F_6749  # any constant: serializes the writing of login attempts on PostgreSQL


@dataclass(frozen=True)
class Throttled:
    retry_after_seconds: int


class _Peer(Protocol):
    host: str  # what an ASGI request's `client` has


@dataclass(frozen=True)
class Attempt:
    """A login attempt written down and not throttled; its password may be checked now."""

    id: int | None  # None when throttling is off
    email_key: str


def client_address(request: object) -> str | None:
    """The caller's address from the ASGI scope (uvicorn fills it from X-Forwarded-For, for
    trusted proxies only). An IPv6 client is counted by its /64: one host usually holds all of
    it, so counting single addresses would let it rotate through billions."""
    client: _Peer | None = getattr(request, "client", None)
    if client is None or not client.host:
        return None
    try:
        address = ipaddress.ip_address(client.host)
    except ValueError:
        return client.host  # not an IP (a test client, a unix socket): counted as given
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _key(desk: Desk, kind: str, value: str) -> str:
    # A keyed digest: the table never holds what was typed (people type passwords as emails).
    secret = desk.settings.token_secret.encode()
    message = f"{kind}:{value}".encode("utf-8", "surrogatepass")  # any string a client sends
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


async def begin(desk: Desk, email: str, address: str | None) -> Attempt | Throttled:
    """Write the attempt down; Throttled if the failures before it exceed a limit."""
    settings = desk.settings
    email_key = _key(desk, "email", email)
    limits: list[tuple[Mapped[str | None], str, int]] = [
        (col(LoginAttempt.email_key), email_key, settings.login_max_failures)
    ]
    address_key = _key(desk, "address", address) if address is not None else None
    if address_key is not None:
        limits.append(
            (col(LoginAttempt.address_key), address_key, settings.login_max_failures_per_address)
        )
    limits = [(column, key, most) for column, key, most in limits if most > 0]
    if not limits:
        return Attempt(id=None, email_key=email_key)
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    async with desk.db.write() as session:
        if not desk.db.is_sqlite:  # (SQLite's writers are serialized already)
            # Attempts commit one at a time, so ids are in commit order: counting the ids below
            # its own, an attempt sees every attempt before it, even one still being checked.
            # (SQLModel types exec() for its own selects; it runs SQLAlchemy's just the same.)
            await session.exec(select(func.pg_advisory_xact_lock(_LOCK_KEY)))  # type: ignore[call-overload]
        # Attempts that left the window count no more; dropping them keeps the table small.
        await session.exec(
            delete(LoginAttempt).where(col(LoginAttempt.attempted_at) <= now - window)
        )
        attempt = LoginAttempt(email_key=email_key, address_key=address_key, attempted_at=now)
        session.add(attempt)
        await session.flush()
        attempt_id = attempt.id
    # Counted once committed: of two concurrent attempts, the later one sees the earlier.
    retry_after = 0.0
    async with desk.db.read_rows() as conn:
        for column, key, most in limits:
            # The failure that, once out of the window, leaves fewer than `most` before us.
            oldest_that_counts = await conn.scalar(
                select(col(LoginAttempt.attempted_at))
                .where(
                    column == key,
                    col(LoginAttempt.attempted_at) > now - window,
                    col(LoginAttempt.id) < attempt_id,
                )
                .order_by(col(LoginAttempt.attempted_at).desc(), col(LoginAttempt.id).desc())
                .offset(most - 1)
                .limit(1)
            )
            if oldest_that_counts is not None:
                wait = (oldest_that_counts + window - now).total_seconds()
                retry_after = max(retry_after, wait)
    if retry_after <= 0:
        return Attempt(id=attempt_id, email_key=email_key)
    async with desk.db.write() as session:
        await session.exec(delete(LoginAttempt).where(col(LoginAttempt.id) == attempt_id))
    return Throttled(retry_after_seconds=max(1, math.ceil(retry_after)))


async def succeeded(desk: Desk, attempt: Attempt) -> None:
    """The password was right: the email's failures, from any address, are forgiven."""
    if attempt.id is None:
        return
    async with desk.db.write() as session:
        await session.exec(
            delete(LoginAttempt).where(col(LoginAttempt.email_key) == attempt.email_key)
        )
