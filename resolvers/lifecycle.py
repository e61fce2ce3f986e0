"""An escalation's life after it is raised: taken back by its escalator, re-prioritised, handed
to a colleague. Withdrawing and handing on are each one conditional UPDATE, as a claim is: of a
withdrawal and a claim racing, or a transfer and a release, exactly one wins in the database, and
the other is told what happened instead (withdrawn, claimed by whom, released)."""

from __future__ import annotations

import uuid

from sqlmodel import col, select, update

from db.enums import EventKind, NotificationKind, Priority, SessionStatus
from db.models import Handoff, User
from resolvers import sla
from resolvers.auth import Viewer
from resolvers.claims import (
    _escalation,
    _free_escalation,
    _fresh_handoff,
    _is_open_claim,
    _locked_session,
    may_claim,
    withdrawn,
)
from resolvers.desk import Abort, Desk, Tx, transaction
from resolvers.notifications import record_escalator_news, record_transfer_email
from resolvers.outcomes import (
    AlreadyClaimed,
    CannotClaim,
    InvalidState,
    NotClaimedByYou,
    NotFound,
    NotPermitted,
    Withdrawn,
)
from resolvers.permissions import (
    Capability,
    may_reprioritise,
    may_transfer,
    may_withdraw,
    requires,
)
from resolvers.sessions import reactivate
from resolvers.tenancy import in_account

_NOBODY_HOLDS = "Nobody holds this escalation now (it was released): claim it instead."


@requires(Capability.HAND_OFF)
async def withdraw_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | NotFound | NotPermitted | AlreadyClaimed | Withdrawn | InvalidState:
    """Take an unclaimed escalation back: it leaves the queue (kept as history) and its session
    is its escalator's to work again. A claim racing it either wins (AlreadyClaimed) or loses."""
    try:
        async with transaction(desk) as tx:
            handoff = await _fresh_handoff(tx, viewer, handoff_id)
            if handoff is None:
                return NotFound("handoff")
            if not may_withdraw(viewer, handoff):
                return NotPermitted(
                    "Only the engineer who raised this escalation, or an admin, may withdraw it."
                )
            now = tx.now()
            session_id = (
                await tx.session.exec(
                    update(Handoff)
                    .where(_free_escalation(viewer, handoff_id))
                    .values(withdrawn_at=now, withdrawn_by_id=viewer.user_id)
                    .returning(col(Handoff.session_id))
                )
            ).scalar_one_or_none()
            if session_id is None:  # claimed or withdrawn first: by whom, and when
                return await _not_free(tx, viewer, handoff_id)
            # Locked after its handoff, the order claims use: what we check is what we change.
            session = await _locked_session(tx, session_id)
            if session.status != SessionStatus.ESCALATED:
                raise Abort(
                    InvalidState(
                        f"The session is {session.status}, not waiting for a claim.",
                        session.status,
                    )
                )
            await reactivate(tx, session, now, assignee_id=handoff.created_by_id)  # its raiser's
            await tx.record(
                viewer.account_id,
                EventKind.WITHDRAWN,
                handoff_id=handoff_id,
                actor_id=viewer.user_id,
                at=now,
            )
    except Abort as abort:
        assert isinstance(abort.outcome, InvalidState)
        return abort.outcome
    return handoff


async def _not_free(
    tx: Tx, viewer: Viewer, handoff_id: uuid.UUID
) -> Handoff | AlreadyClaimed | Withdrawn:
    """Why a withdrawal changed nothing: claimed first (by whom, when), or withdrawn already
    (the caller's own repeated withdrawal is a harmless no-op)."""
    handoff = await _fresh_handoff(tx, viewer, handoff_id)
    assert handoff is not None  # escalations are never deleted
    if handoff.withdrawn_at is not None:
        mine = handoff.withdrawn_by_id == viewer.user_id
        return handoff if mine else await withdrawn(tx, handoff)
    return await _claimed(tx, handoff)


async def _claimed(tx: Tx, handoff: Handoff) -> AlreadyClaimed:
    assert handoff.claimed_by_id is not None and handoff.claimed_at is not None
    claimer = await tx.session.get_one(User, handoff.claimed_by_id)
    return AlreadyClaimed(handoff=handoff, claimer=claimer, claimed_at=handoff.claimed_at)


@requires(Capability.HAND_OFF)
async def set_handoff_priority(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID, priority: Priority
) -> Handoff | NotFound | NotPermitted | Withdrawn:
    """Re-prioritise an escalation: its escalator, its claimer, or an admin. The row is locked
    while it is checked and changed, so the priority it had is the one the history records."""
    async with transaction(desk) as tx:
        handoff = await _fresh_handoff(tx, viewer, handoff_id, lock=True)
        if handoff is None:
            return NotFound("handoff")
        if not may_reprioritise(viewer, handoff):
            return NotPermitted(
                "Only the engineer who raised or claimed this escalation, or an admin, "
                "may change its priority."
            )
        if handoff.withdrawn_at is not None:
            return await withdrawn(tx, handoff)
        previous = Priority(handoff.priority)
        if previous == priority:
            return handoff  # nothing changes, nothing to tell
        handoff.priority = priority
        handoff.priority_rank = priority.rank
        tx.session.add(handoff)
        await tx.session.flush()
        await sla.reprioritise(tx, handoff)  # due by the new priority's time
        await tx.record(
            viewer.account_id,
            EventKind.PRIORITY_CHANGED,
            handoff_id=handoff_id,
            actor_id=viewer.user_id,
            priority=priority,
            previous_priority=previous,
        )
        return handoff


@requires(Capability.CLAIM)
async def transfer_handoff(
    desk: Desk, viewer: Viewer, handoff_id: uuid.UUID, to_user_id: uuid.UUID
) -> (
    Handoff
    | NotFound
    | NotPermitted
    | AlreadyClaimed
    | NotClaimedByYou
    | Withdrawn
    | CannotClaim
    | InvalidState
):
    """Hand a claimed escalation to a colleague who may claim (an active engineer or admin of
    the account): its claimer may, and so may an admin. The colleague holds it from now on, works
    its session, and is told (an email, and the TRANSFERRED event). A user of another account is
    not found, exactly as an unknown one."""
    try:
        async with transaction(desk) as tx:
            return await _transfer(tx, desk, viewer, handoff_id, to_user_id)
    except Abort as abort:
        assert isinstance(abort.outcome, InvalidState)
        return abort.outcome


async def _transfer(
    tx: Tx, desk: Desk, viewer: Viewer, handoff_id: uuid.UUID, to_user_id: uuid.UUID
) -> Handoff | NotFound | AlreadyClaimed | NotClaimedByYou | Withdrawn | CannotClaim:
    handoff = await _fresh_handoff(tx, viewer, handoff_id)
    if handoff is None:
        return NotFound("handoff")
    if handoff.withdrawn_at is not None:
        return await withdrawn(tx, handoff)
    holder = handoff.claimed_by_id
    if holder is None:
        return NotClaimedByYou(_NOBODY_HOLDS)
    if holder == to_user_id:
        return handoff  # theirs already (a retried transfer): nothing changes, nobody is told
    if not may_transfer(viewer, handoff):
        return await _claimed(tx, handoff)  # someone else's to hand on: theirs, since when
    colleague = await _colleague(tx, viewer, to_user_id)
    if colleague is None:
        return NotFound("user")
    if not may_claim(colleague):
        why = "is deactivated" if not colleague.active else f"is a {colleague.role}"
        return CannotClaim(colleague, f"{colleague.name} {why}: they may not take escalations.")
    now = tx.now()
    # One conditional update: a release or another transfer that commits first leaves nothing
    # held by `holder` to match (on PostgreSQL this waits for its row lock, then re-checks).
    session_id = (
        await tx.session.exec(
            update(Handoff)
            .where(
                _escalation(viewer, handoff_id),
                col(Handoff.claimed_by_id) == holder,
                col(Handoff.withdrawn_at).is_(None),
            )
            .values(claimed_by_id=colleague.id, claimed_at=now)
            .returning(col(Handoff.session_id))
        )
    ).scalar_one_or_none()
    if session_id is None:
        current = await _fresh_handoff(tx, viewer, handoff_id)
        assert current is not None  # escalations are never deleted
        if current.claimed_by_id is None:
            return NotClaimedByYou(_NOBODY_HOLDS)
        if current.claimed_by_id == colleague.id:
            return current  # the same transfer, by a retry or another tab, won first
        return await _claimed(tx, current)
    session = await _locked_session(tx, session_id)
    if not await _is_open_claim(tx, handoff, session, holder=holder):
        raise Abort(
            InvalidState(
                "The session has moved on since the claim (handed off again or resolved).",
                session.status,
            )
        )
    session.assignee_id = colleague.id
    session.updated_at = now
    tx.session.add(session)
    await tx.session.flush()
    await record_transfer_email(tx, desk.settings.public_url, handoff, session, viewer, colleague)
    await record_escalator_news(
        tx,
        desk.settings.public_url,
        handoff,
        NotificationKind.TRANSFERRED,
        actor=viewer,
        colleague=colleague,
    )
    await tx.record(
        viewer.account_id,
        EventKind.TRANSFERRED,
        handoff_id=handoff_id,
        actor_id=viewer.user_id,
        at=now,
        to_user_id=colleague.id,
    )
    return handoff


async def _colleague(tx: Tx, viewer: Viewer, user_id: uuid.UUID) -> User | None:
    """The user named, if of the caller's account, read under a share lock: a deactivation or
    demotion that commits first is seen here; one that commits later waits for this transfer
    and then gives the claim back with the colleague's others."""
    stmt = (
        select(User)
        .where(User.id == user_id, in_account(User, viewer))
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    return (await tx.session.exec(stmt)).first()
