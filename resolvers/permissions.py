"""Who may do what: the role rules of the desk, in one place."""

from enum import Enum, auto

from db.enums import Role


class Capability(Enum):
    READ = auto()  # includes marking what one read: a read mark is the reader's own
    WORK_SESSIONS = auto()  # start, add messages, resolve
    HAND_OFF = auto()  # park or escalate
    CLAIM = auto()  # claim and release escalations
    ADMINISTER = auto()  # add users, change roles, deactivate
    STEP_IN = auto()  # work any session of the account, not only those assigned to the caller


_GRANTS: dict[Role, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.READ}),
    Role.ENGINEER: frozenset(
        {Capability.READ, Capability.WORK_SESSIONS, Capability.HAND_OFF, Capability.CLAIM}
    ),
    Role.ADMIN: frozenset(Capability),
}

_DENIALS: dict[Capability, str] = {
    Capability.READ: "You may not read this account's desk.",
    Capability.WORK_SESSIONS: "Viewers may read sessions but not work them.",
    Capability.HAND_OFF: "Viewers may not hand off sessions.",
    Capability.CLAIM: "Viewers may not claim escalations.",
    Capability.ADMINISTER: "Only an admin of this account may manage its users.",
    Capability.STEP_IN: "Only the engineer working this session may work it.",
}


def allows(role: str, capability: Capability) -> bool:
    return capability in _GRANTS.get(Role(role), frozenset())


def denial(capability: Capability) -> str:
    return _DENIALS[capability]


def roles_with(capability: Capability) -> tuple[Role, ...]:
    """The roles granted a capability: for queries that pick users by what they may do."""
    return tuple(role for role, grants in _GRANTS.items() if capability in grants)


def may_work(viewer, session) -> bool:
    """The engineer a session is assigned to works it; an admin may step in."""
    return viewer.can(Capability.STEP_IN) or session.assignee_id == viewer.user_id
