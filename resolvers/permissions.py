"""Who may do what: the role rules of the desk, in one place."""

from enum import Enum, auto

from db.enums import Role


class Capability(Enum):
    READ = auto()
    WORK_SESSIONS = auto()  # start, add messages, resolve
    HAND_OFF = auto()  # park or escalate
    CLAIM = auto()  # claim and release escalations
    ADMINISTER = auto()  # add users, change roles, deactivate


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
}


def allows(role: str, capability: Capability) -> bool:
    return capability in _GRANTS.get(Role(role), frozenset())


def denial(capability: Capability) -> str:
    return _DENIALS[capability]
