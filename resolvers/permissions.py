"""Who may do what: the role rules of the desk, in one place; `requires` checks them once per
operation, before the service runs."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import Enum, auto
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from db.enums import Role
from db.models import Handoff, TroubleshootingSession
from resolvers.outcomes import NotPermitted

if TYPE_CHECKING:  # (resolvers.auth imports this module)
    from resolvers.auth import Viewer


class Capability(Enum):
    WORK_SESSIONS = auto()  # start, add messages, resolve
    HAND_OFF = auto()  # park or escalate
    CLAIM = auto()  # claim and release escalations
    ADMINISTER = auto()  # add users, change roles, deactivate
    STEP_IN = auto()  # work any session of the account, not only those assigned to the caller
    OVERSEE = auto()  # withdraw, re-prioritise or transfer any escalation of the account
    JUDGE_ASSESSMENTS = auto()  # rate the AI's assessments, and ask for fresh ones
    NOTE = auto()  # add internal notes to escalations (and read them, whatever the account says)


_GRANTS: dict[Role, frozenset[Capability]] = {
    Role.VIEWER: frozenset(),  # reads the desk (and marks what it read), nothing more
    Role.ENGINEER: frozenset(
        {
            Capability.WORK_SESSIONS,
            Capability.HAND_OFF,
            Capability.CLAIM,
            Capability.JUDGE_ASSESSMENTS,
            Capability.NOTE,
        }
    ),
    Role.ADMIN: frozenset(Capability),
}

_DENIALS: dict[Capability, str] = {
    Capability.WORK_SESSIONS: "Viewers may read sessions but not work them.",
    Capability.HAND_OFF: "Viewers may not hand off sessions.",
    Capability.CLAIM: "Viewers may not claim escalations.",
    Capability.ADMINISTER: "Only an admin of this account may manage its users.",
    Capability.STEP_IN: "Only the engineer working this session may work it.",
    Capability.OVERSEE: "Only an admin may change escalations that are not theirs.",
    Capability.JUDGE_ASSESSMENTS: "Viewers may not rate assessments or ask for new ones.",
    Capability.NOTE: "Viewers may not add notes.",
}


def allows(role: str, capability: Capability) -> bool:
    return capability in _GRANTS.get(Role(role), frozenset())


def denial(capability: Capability) -> str:
    return _DENIALS[capability]


def roles_with(capability: Capability) -> tuple[Role, ...]:
    """The roles granted a capability: for queries that pick users by what they may do."""
    return tuple(role for role, grants in _GRANTS.items() if capability in grants)


def may_work(viewer: Viewer, session: TroubleshootingSession) -> bool:
    """The engineer a session is assigned to works it; an admin may step in."""
    return viewer.can(Capability.STEP_IN) or session.assignee_id == viewer.user_id


class _Caller(Protocol):
    def can(self, capability: Capability) -> bool: ...


_P = ParamSpec("_P")
_R = TypeVar("_R")
_C = TypeVar("_C", bound=_Caller)


def requires(
    capability: Capability,
) -> Callable[
    [Callable[Concatenate[Any, _C, _P], Awaitable[_R]]],
    Callable[Concatenate[Any, _C, _P], Awaitable[_R | NotPermitted]],
]:
    """A service `(desk, viewer, ...)` that answers NotPermitted, without running, to a viewer
    whose role lacks `capability`."""

    def guard(
        service: Callable[Concatenate[Any, _C, _P], Awaitable[_R]],
    ) -> Callable[Concatenate[Any, _C, _P], Awaitable[_R | NotPermitted]]:
        @functools.wraps(service)
        async def guarded(
            desk: Any, viewer: _C, /, *args: _P.args, **kwargs: _P.kwargs
        ) -> _R | NotPermitted:
            if not viewer.can(capability):
                return NotPermitted(denial(capability))
            return await service(desk, viewer, *args, **kwargs)

        return guarded

    return guard


# --- an escalation's lifecycle: who may take it back, re-prioritise it, or hand it on ---


def may_withdraw(viewer: Viewer, handoff: Handoff) -> bool:
    """Its escalator takes it back; an admin may too."""
    return handoff.created_by_id == viewer.user_id or viewer.can(Capability.OVERSEE)


def may_reprioritise(viewer: Viewer, handoff: Handoff) -> bool:
    """Its escalator, its claimer, or an admin."""
    mine = viewer.user_id in (handoff.created_by_id, handoff.claimed_by_id)
    return mine or viewer.can(Capability.OVERSEE)


def may_transfer(viewer: Viewer, handoff: Handoff) -> bool:
    """Its claimer hands it to a colleague; an admin may hand on anyone's claim."""
    return handoff.claimed_by_id == viewer.user_id or viewer.can(Capability.OVERSEE)
