"""Claiming an escalation: exactly one senior wins, in the database itself."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, exists
from sqlmodel import col, select, update

from db.enums import EventKind, EventReason, HandoffIntent, NotificationKind, SessionStatus
from db.models import Account, AccountEvent, Handoff, TroubleshootingSession, User
from resolvers import notifications, sla
from resolvers.auth import Viewer
from resolvers.desk import Desk, Tx, transaction
from resolvers.outcomes import (
    AlreadyClaimed,
    InvalidState,
    NotFound,
    NotPermitted,
    OwnEscalation,
    Withdrawn,
)
from resolvers.permissions import Capability, allows, requires
from resolvers.tenancy import in_account
from resolvers.unread import mark_claimed


def _escalation(viewer: Viewer, handoff_id: uuid.UUID) -> ColumnElement[bool]:
    return (
        (col(Handoff.id) == handoff_id)
        & in_account(Handoff, viewer)
        & (col(Handoff.intent) == HandoffIntent.ESCALATE)
    )


ClaimOutcome = Handoff | AlreadyClaimed | NotFound | NotPermitted | Withdrawn | OwnEscalation


@requires(Capability.CLAIM)
async def claim_handoff(desk: Desk, viewer: Viewer, handoff_id: uuid.UUID) -> ClaimOutcome:
    first_claim: list[float] = []  # how long it waited, when this claim is its first
    async with transaction(desk) as tx:
        outcome = await _claim(tx, desk, viewer, handoff_id, first_claim)
    # Committed: only now is it counted (desk.meter, for the operators' metrics).
    for waited in first_claim:
        desk.meter.first_claim(waited)
    if isinstance(outcome, AlreadyClaimed):
        desk.meter.claim_contended()
    return outcome


async def _claim(
    tx: Tx, desk: Desk, viewer: Viewer, handoff_id: uuid.UUID, first_claim: list[float]
) -> ClaimOutcome:
    if not await _still_may_claim(tx, viewer):
        return NotPermitted(_NO_LONGER)
    refused = await _not_to_claim(tx, viewer, handoff_id)
    if refused is not None:
        return refused
    now = tx.now()
    won = await _claim_if_free(tx, viewer, handoff_id, now)
    if won is None:
        # Lost, or found the holder mid-release: their release may have committed since
        # our update looked. Under the row lock the answer is final; a free row is ours.
        current = await _fresh_handoff(tx, viewer, handoff_id, lock=True)
        if current is not None and current.claimed_by_id is None and not current.withdrawn_at:
            won = await _claim_if_free(tx, viewer, handoff_id, now)
    if won is not None:
        taken = await _take_over_session(tx, viewer, won.session_id, now)
        await mark_claimed(tx, viewer.user_id, handoff_id)  # their other clients hear of it
        if not await _claimed_before(tx, handoff_id):
            first_claim.append((now - won.created_at).total_seconds())
        await notifications.record_escalator_news(
            tx, desk.settings.public_url, won, NotificationKind.CLAIMED, actor=viewer
        )
        await tx.record(
            viewer.account_id,
            EventKind.CLAIMED,
            handoff_id=handoff_id,
            actor_id=viewer.user_id,
            at=now,
        )
        assert taken.assignee_id == viewer.user_id
        return won  # ours, as the claim's update returned it
    handoff = await _fresh_handoff(tx, viewer, handoff_id)
    if handoff is None:
        return NotFound("handoff")
    if handoff.claimed_by_id == viewer.user_id:
        return handoff  # the win, or the winner's repeated claim: a harmless no-op
    if handoff.withdrawn_at is not None:
        return await withdrawn(tx, handoff)  # its escalator took it back first
    # Claimed by another: the claim we lost to, or the one we found under the row lock.
    assert handoff.claimed_by_id is not None and handoff.claimed_at is not None
    claimer = await tx.session.get_one(User, handoff.claimed_by_id)
    return AlreadyClaimed(handoff=handoff, claimer=claimer, claimed_at=handoff.claimed_at)


_NO_LONGER = "Your access changed since this request began: you may no longer claim escalations."


async def _still_may_claim(tx: Tx, viewer: Viewer) -> bool:
    """The caller's standing as the claim commits, not as the request began: read under a
    share lock, so a deactivation or demotion that commits first refuses this claim, and one
    that commits later waits for it and then gives the claim back with the others."""
    role = (
        await tx.session.exec(
            select(User.role)
            .where(User.id == viewer.user_id, in_account(User, viewer), User.active)
            .with_for_update(read=True)
        )
    ).first()
    return role is not None and allows(role, Capability.CLAIM)


async def _claim_if_free(
    tx: Tx, viewer: Viewer, handoff_id: uuid.UUID, now: datetime
) -> Handoff | None:
    """One conditional update, no read-then-write window: on PostgreSQL a concurrent claimer
    waits for the winner's row lock, re-checks `claimed_by_id IS NULL` and matches nothing;
    SQLite runs write transactions one at a time. The won handoff as the update left it (its
    row returned by the update, not read again), or None."""
    stmt = (
        update(Handoff)
        .where(_free_escalation(viewer, handoff_id))
        .values(claimed_by_id=viewer.user_id, claimed_at=now)
        .returning(Handoff)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    won: Handoff | None = (await tx.session.exec(stmt)).scalars().first()
    return won


async def _claimed_before(tx: Tx, handoff_id: uuid.UUID) -> bool:
    """Whether the escalation was claimed before (and given back or handed on since): its time
    to a first claim was counted then."""
    earlier = select(AccountEvent.seq).where(
        col(AccountEvent.handoff_id) == handoff_id, col(AccountEvent.kind) == EventKind.CLAIMED
    )
    return (await tx.session.exec(earlier.limit(1))).first() is not None


@requires(Capability.CLAIM)
async def release_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | NotFound | NotPermitted | InvalidState:
    """Give a claimed escalation back to the queue: its claimer may, and so may an admin once
    the claimer may no longer claim (deactivation and demotion give open claims back
    themselves; this frees one that was not open then, or was claimed as they committed)."""
    async with transaction(desk) as tx:
        handoff = await _fresh_handoff(tx, viewer, handoff_id, lock=True)
        if handoff is None:
            return NotFound("handoff")
        if handoff.claimed_by_id != viewer.user_id and not await _admin_frees_inactive(
            tx, viewer, handoff
        ):
            return NotPermitted(await _only_the_claimer(tx, handoff))
        session = await _locked_session(tx, handoff.session_id)
        if not await _is_open_claim(tx, handoff, session):
            return InvalidState(
                "The session has moved on since the claim (handed off again or resolved).",
                session.status,
            )
        await give_back(tx, handoff, session, actor_id=viewer.user_id)
        return handoff


async def release_claims_of(
    tx: Tx, account_id: uuid.UUID, user_id: uuid.UUID, actor_id: uuid.UUID
) -> None:
    """Give back every open claim the user holds (deactivated or demoted), each with its RELEASED
    event, oldest escalation first; claims whose session has moved on stay as history."""
    held = (
        select(Handoff)
        .where(
            # The first two change no answer (a user claims only escalations, and only in their
            # own account): the tenancy rule, stated where rows are fetched, and the queue
            # index's leading columns. Mutation testing finds them equivalent.
            in_account(Handoff, account_id),
            Handoff.intent == HandoffIntent.ESCALATE,
            Handoff.claimed_by_id == user_id,
        )
        .order_by(col(Handoff.created_at))
        .order_by(col(Handoff.id))  # equal stamps: still one lock order for everyone
        .with_for_update()
    )
    for handoff in (await tx.session.exec(held)).all():
        session = await _locked_session(tx, handoff.session_id)
        if await _is_open_claim(tx, handoff, session):
            await give_back(tx, handoff, session, actor_id=actor_id)


async def give_back(
    tx: Tx,
    handoff: Handoff,
    session: TroubleshootingSession,
    *,
    actor_id: uuid.UUID | None,
    reason: EventReason | None = None,
) -> None:
    """The escalation is unclaimed again and its session waits in the queue for a claimer.
    (No actor: the desk itself, for `reason`.)"""
    handoff.claimed_by_id = None
    handoff.claimed_at = None
    session.status = SessionStatus.ESCALATED
    session.assignee_id = handoff.created_by_id
    session.updated_at = tx.now()
    tx.session.add_all([handoff, session])
    await tx.session.flush()
    await sla.rearm(tx, handoff)  # timers (issue 14): back in the queue, it waits afresh
    await tx.record(
        handoff.account_id,
        EventKind.RELEASED,
        handoff_id=handoff.id,
        actor_id=actor_id,
        reason=reason,
    )


async def _admin_frees_inactive(tx: Tx, viewer: Viewer, handoff: Handoff) -> bool:
    """An admin may give back a claim whose holder may no longer work it (deactivated, or
    now in a role without the right to claim): nobody else could."""
    if handoff.claimed_by_id is None or not viewer.can(Capability.ADMINISTER):
        return False
    holder = await tx.session.get(User, handoff.claimed_by_id)
    return holder is not None and not may_claim(holder)


def may_claim(user: User) -> bool:
    return user.active and allows(user.role, Capability.CLAIM)


async def _is_open_claim(
    tx: Tx,
    handoff: Handoff,
    session: TroubleshootingSession,
    holder: uuid.UUID | None = None,
) -> bool:
    """The claimer (`holder`, if the handoff's row has changed hands already) still works the
    session on this escalation's behalf: it is active, theirs, and no newer escalation of it
    exists (a withdrawn one does not count). Releasing a superseded escalation would put the
    session back in the queue under the old one while a newer one owns it."""
    claimer = handoff.claimed_by_id if holder is None else holder
    if session.status != SessionStatus.ACTIVE or session.assignee_id != claimer:
        return False
    newer = exists().where(
        col(Handoff.session_id) == session.id,
        col(Handoff.intent) == HandoffIntent.ESCALATE,
        col(Handoff.created_at) > handoff.created_at,
        col(Handoff.withdrawn_at).is_(None),
    )
    return not (await tx.session.exec(select(newer))).one()


async def _locked_session(tx: Tx, session_id: uuid.UUID) -> TroubleshootingSession:
    """Locked after its handoff (the order claims use too): a concurrent handoff of the session
    waits, so what we check is what we change. (No caller's transaction holds an older copy of
    the session: none read it before, and one giving back two claims of it wrote its copy
    itself; so the row needs no `populate_existing`. A caller that reads it first would.)"""
    stmt = (
        select(TroubleshootingSession)
        .where(TroubleshootingSession.id == session_id)
        .with_for_update()
    )
    return (await tx.session.exec(stmt)).one()


async def _take_over_session(
    tx: Tx, viewer: Viewer, session_id: uuid.UUID, now: datetime
) -> TroubleshootingSession:
    """The claimer works the session from now on: the session as the update returned it (held,
    it is the transaction's copy, so what the escalator is told does not read it again)."""
    stmt = (
        update(TroubleshootingSession)
        .where(col(TroubleshootingSession.id) == session_id)
        .values(status=SessionStatus.ACTIVE, assignee_id=viewer.user_id, updated_at=now)
        .returning(TroubleshootingSession)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    taken: TroubleshootingSession = (await tx.session.exec(stmt)).scalars().one()
    return taken


async def _fresh_handoff(
    # Locking every read (the default flipped) would only make PostgreSQL's concurrent
    # claimers wait longer: no answer changes, and SQLite has no row locks to show it.
    tx: Tx,
    viewer: Viewer,
    handoff_id: uuid.UUID,
    *,
    lock: bool = False,  # pragma: no mutate
) -> Handoff | None:
    stmt = select(Handoff).where(_escalation(viewer, handoff_id))
    if lock:
        stmt = stmt.with_for_update()
    # populate_existing: what the database says now, not what this session saw earlier.
    stmt = stmt.execution_options(populate_existing=True)
    return (await tx.session.exec(stmt)).first()


# --- an escalation's lifecycle: claims of one's own, withdrawn escalations ---


def _free_escalation(viewer: Viewer, handoff_id: uuid.UUID) -> ColumnElement[bool]:
    """The escalation, if nobody holds it and nobody took it back: what a claim and a
    withdrawal each take, in one conditional update (so that one of them does)."""
    return (
        _escalation(viewer, handoff_id)
        & col(Handoff.claimed_by_id).is_(None)
        & col(Handoff.withdrawn_at).is_(None)
    )


async def _not_to_claim(
    tx: Tx, viewer: Viewer, handoff_id: uuid.UUID
) -> NotFound | Withdrawn | OwnEscalation | None:
    """What refuses a claim before it is tried: no such escalation, one withdrawn already, or
    the caller's own (unless their account lets people claim their own; a holder's repeated
    claim is still the harmless no-op). None: try the claim. (The transaction's first read of
    the handoff: it comes from the database, with no need to `populate_existing`.)"""
    row = (
        await tx.session.exec(
            select(Handoff, Account.allow_self_claim)
            .join(Account)  # by the handoff's one foreign key to it
            .where(_escalation(viewer, handoff_id))
        )
    ).first()
    if row is None:
        return NotFound("handoff")
    handoff, self_claim = row
    if handoff.withdrawn_at is not None:
        return await withdrawn(tx, handoff)
    own = handoff.created_by_id == viewer.user_id and handoff.claimed_by_id != viewer.user_id
    return OwnEscalation() if own and not self_claim else None


async def withdrawn(tx: Tx, handoff: Handoff) -> Withdrawn:
    """The answer to acting on a withdrawn escalation: who took it back, and when."""
    assert handoff.withdrawn_at is not None
    assert handoff.withdrawn_by_id is not None
    by = await tx.session.get_one(User, handoff.withdrawn_by_id)
    return Withdrawn(handoff=handoff, by=by, at=handoff.withdrawn_at)


async def _only_the_claimer(tx: Tx, handoff: Handoff) -> str:
    """Why a release is refused, naming who holds the escalation now (it may have been handed
    on while the caller released it)."""
    refusal = "Only the engineer who claimed this escalation may release it."
    if handoff.claimed_by_id is None:
        return f"{refusal} Nobody holds it now."
    holder = await tx.session.get_one(User, handoff.claimed_by_id)
    return f"{refusal} {holder.name} holds it now."
