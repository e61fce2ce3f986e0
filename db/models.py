"""The desk's tables. Relationships are not declared: async code loads related rows explicitly
(DataLoaders, joins), never lazily."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlmodel import Field, SQLModel

from db.types import JSONType, UTCDateTime, utcnow


def _id() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def _when(nullable: bool = False, index: bool = False) -> Any:
    default = None if nullable else ...
    kwargs: dict[str, Any] = {"sa_type": UTCDateTime, "nullable": nullable, "index": index}
    if not nullable:
        return Field(default_factory=utcnow, **kwargs)
    return Field(default=default, **kwargs)


def _text(nullable: bool = False) -> Any:
    return Field(default=None if nullable else "", sa_type=Text, nullable=nullable)


def _short(length: int = 32, **kwargs: Any) -> Any:
    return Field(sa_type=String(length), **kwargs)


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: uuid.UUID = _id()
    name: str = _short(200)
    # The last sequence number handed out in this account's event log; bumped in the same
    # transaction as the event, so writers of one account are serialized and seqs never repeat.
    last_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Moves with every change a query of this account could see (events, and changes that are
    # not events: messages, users; a user's read marks move User.read_marks instead). Cached query
    # answers are valid for one version.
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = _when()
    # Whether a user may claim an escalation they raised themselves (off: they withdraw it).
    allow_self_claim: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # Whether the account's viewers read its internal notes (engineers and admins always do).
    notes_visible_to_viewers: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    # An address is a user of each account once, and may be one of several accounts (login then
    # asks which). Email first: login looks an address up across accounts.
    __table_args__ = (Index("ix_app_user_email_account_id", "email", "account_id", unique=True),)

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    name: str = _short(200)
    email: str = _short(320)  # stored lower-case
    password_hash: str = _short(200)
    role: str = _short(16)
    active: bool = Field(default=True)
    # Moves with each new read mark of this user: their answers change, nobody else's do, so a
    # read mark leaves the account's version (and everyone else's cached answers) alone.
    read_marks: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_at: datetime = _when()


class TroubleshootingSession(SQLModel, table=True):
    __tablename__ = "troubleshooting_session"

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    owner_id: uuid.UUID = Field(foreign_key="app_user.id")
    # Who works the session now: the owner, or the senior who claimed its escalation.
    assignee_id: uuid.UUID = Field(foreign_key="app_user.id")
    intake_type: str = _short(32)
    intake_content: str = _text()
    problem_summary: str = _short(500)
    status: str = _short(16)
    confidence_tier: str | None = _short(16, default=None, nullable=True)
    handoff_count: int = Field(default=0)
    message_count: int = Field(default=0)
    escalation_package: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class SessionMessage(SQLModel, table=True):
    __tablename__ = "session_message"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: uuid.UUID = _id()
    session_id: uuid.UUID = Field(foreign_key="troubleshooting_session.id")
    position: int
    role: str = _short(16)
    content: str = _text()
    created_at: datetime = _when()


class Handoff(SQLModel, table=True):
    __tablename__ = "handoff"
    __table_args__ = (
        # The team queue in its order (unclaimed first, priority, newest): PostgreSQL walks it
        # and stops after one page instead of sorting the account's every escalation. Of the
        # escalations still wanted only (as the queue is), so that the queue's count reads the
        # index alone, not a row of the table per escalation.
        Index(
            "ix_handoff_queue",
            "account_id",
            "intent",
            text("(claimed_by_id IS NULL)"),
            "priority_rank",
            "created_at",
            "id",
            postgresql_where=text("withdrawn_at IS NULL"),
            sqlite_where=text("withdrawn_at IS NULL"),
        ),
        # The same order across both intents: views of escalations and the caller's own parks
        # together (resolvers/views.py) walk it, where the queue's index has the intent first.
        Index(
            "ix_handoff_views",
            "account_id",
            text("(claimed_by_id IS NULL)"),
            "priority_rank",
            "created_at",
            "id",
        ),
    )

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id")
    session_id: uuid.UUID = Field(foreign_key="troubleshooting_session.id", index=True)
    intent: str = _short(16)
    engineer_notes: str = _text()
    priority: str = _short(16)
    priority_rank: int
    snapshot: dict[str, Any] = Field(sa_type=JSONType)  # the session's fields at handoff time
    # The snapshot's conversation is a reference, not a copy: the session's messages up to this
    # position (0: none). Messages are append-only, so they read back as they stood. If they
    # ever become editable or deletable, the snapshot must copy them again.
    snapshot_through: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_by_id: uuid.UUID = Field(foreign_key="app_user.id")
    created_at: datetime = _when()
    assessment_status: str = _short(16)
    assessment_summary: str | None = _text(nullable=True)
    assessment_likely_cause: str | None = _text(nullable=True)
    assessment_suggested_steps: list[str] | None = Field(
        default=None, sa_type=JSONType, nullable=True
    )
    assessment_confidence: str | None = _short(16, default=None, nullable=True)
    assessment_updated_at: datetime | None = _when(nullable=True)
    # Which of its assessments (AssessmentVersion.number) the assessment_* columns above show:
    # the latest that landed ready, else the first. 0: none (a park is never assessed).
    assessment_number: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    claimed_by_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    claimed_at: datetime | None = _when(nullable=True)
    # Taken back by its escalator (or an admin) before anyone claimed it: out of the queue, kept
    # as history. Never claimed after that.
    withdrawn_at: datetime | None = _when(nullable=True)
    withdrawn_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="app_user.id", nullable=True
    )


# Full-text search over a handoff (PostgreSQL): its problem summary (as the snapshot keeps it; a
# session's summary never changes), the engineer's notes and the assessment (summary, likely
# cause, suggested steps). The query matches this very expression, so the GIN index serves it;
# SQLite has no index here and matches words with LIKE instead (resolvers/views.py).
SEARCH_CONFIG = "english"


def handoff_search_vector() -> ColumnElement[str]:
    """`to_tsvector` of a handoff's searchable text, every constant written inline (a bound
    parameter would keep the planner from matching it to the index's expression)."""
    # (Text, not literal columns: the index attaches to the table of the first column it finds.)
    config = text(f"'{SEARCH_CONFIG}'::regconfig")
    handoff = Handoff.__table__.c  # type: ignore[attr-defined]
    blank = text("''")
    space = text("' '")
    words = (
        func.coalesce(handoff.snapshot.op("->>")(text("'problem_summary'")), blank)
        .op("||")(space)
        .op("||")(handoff.engineer_notes)
        .op("||")(space)
        .op("||")(func.coalesce(handoff.assessment_summary, blank))
        .op("||")(space)
        .op("||")(func.coalesce(handoff.assessment_likely_cause, blank))
    )
    # The steps are a JSON list: to_tsvector reads its strings (not its brackets and quotes).
    steps = func.coalesce(handoff.assessment_suggested_steps, text("'[]'::jsonb"))
    vector: ColumnElement[str] = func.to_tsvector(config, words).op("||")(
        func.to_tsvector(config, steps)
    )
    return vector


Index("ix_handoff_search", handoff_search_vector(), postgresql_using="gin").ddl_if(
    dialect="postgresql"
)


class HandoffNote(SQLModel, table=True):
    """An internal note on an escalation, by one of the account's engineers or admins (issue
    15). Append-only; its NOTE_ADDED event (AccountEvent.note_id) puts it in the history."""

    __tablename__ = "handoff_note"
    __table_args__ = (Index("ix_handoff_note_handoff", "handoff_id", "created_at"),)

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id")
    handoff_id: uuid.UUID = Field(foreign_key="handoff.id")
    author_id: uuid.UUID = Field(foreign_key="app_user.id")
    body: str = _text()
    created_at: datetime = _when()


class HandoffSeen(SQLModel, table=True):
    """A user's read mark: an escalation without a row for the user is unread to them."""

    __tablename__ = "handoff_seen"
    # Who has read a handoff (the catch-up's and every live event's payload): the primary key
    # leads with the user.
    __table_args__ = (Index("ix_handoff_seen_handoff", "handoff_id", "user_id"),)

    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True)
    handoff_id: uuid.UUID = Field(foreign_key="handoff.id", primary_key=True)
    seen_at: datetime = _when()


class AccountEvent(SQLModel, table=True):
    """The account's event log: what clients hear of, and each handoff's history."""

    __tablename__ = "account_event"
    __table_args__ = (Index("ix_account_event_handoff", "handoff_id", "seq"),)

    account_id: uuid.UUID = Field(foreign_key="account.id", primary_key=True)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = _short(32)
    handoff_id: uuid.UUID | None = Field(default=None, foreign_key="handoff.id", nullable=True)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    occurred_at: datetime = _when()
    # What a lifecycle event says besides who and when: TRANSFERRED names the colleague it was
    # handed to; PRIORITY_CHANGED the priority before and after.
    to_user_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    priority: str | None = _short(16, default=None, nullable=True)
    previous_priority: str | None = _short(16, default=None, nullable=True)
    # Why, where the desk says (db.enums.EventReason): `idle` on a RELEASED the timers made.
    reason: str | None = _short(16, default=None, nullable=True)
    # MESSAGE_ADDED: the session the message was added to (no handoff: a session's own news).
    session_id: uuid.UUID | None = Field(
        default=None, foreign_key="troubleshooting_session.id", nullable=True
    )
    # NOTE_ADDED: the note.
    note_id: uuid.UUID | None = Field(default=None, foreign_key="handoff_note.id", nullable=True)


# A W3C traceparent is 55 characters in version 00, the one the desk writes.
TRACE_PARENT_CHARS = 64


class Job(SQLModel, table=True):
    """Work done after commit (assessments, emails), leased by workers from this table."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_ready", "state", "run_after"),  # what waits, of every kind (metrics)
        # A worker leases due jobs of its kinds only, oldest first.
        Index("ix_job_kind_ready", "kind", "state", "run_after"),
        # A timer's job, by its timer (resolvers/sla.py).
        Index("ix_job_subject", "subject_id"),
    )

    id: uuid.UUID = _id()
    kind: str = _short(16)
    account_id: uuid.UUID = Field(foreign_key="account.id")
    subject_id: uuid.UUID  # the handoff to assess, or the email to send
    state: str = _short(16, default="pending")
    attempts: int = Field(default=0)
    run_after: datetime = _when()
    lease_owner: str | None = _short(64, default=None, nullable=True)
    lease_expires_at: datetime | None = _when(nullable=True)
    last_error: str | None = _text(nullable=True)
    # The request that enqueued it (X-Request-ID), or the one its enqueuing job had: the
    # worker's lines about it carry this id. Null when no request caused it.
    request_id: str | None = _short(64, default=None, nullable=True)
    # Its request's trace (a W3C traceparent), when traces are on: the worker's span for the
    # job joins it. Null with traces off, or when no traced request caused it.
    trace_parent: str | None = _short(TRACE_PARENT_CHARS, default=None, nullable=True)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class EmailMessage(SQLModel, table=True):
    """An email owed to a teammate; recorded with the escalation, sent by a worker."""

    __tablename__ = "email_message"

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id")
    handoff_id: uuid.UUID = Field(foreign_key="handoff.id", index=True)
    recipient_id: uuid.UUID = Field(foreign_key="app_user.id")
    to_address: str = _short(320)
    subject: str = _short(300)
    body: str = _text()
    status: str = _short(16)
    attempts: int = Field(default=0)
    last_error: str | None = _text(nullable=True)
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)


class LoginAttempt(SQLModel, table=True):
    """A login attempt within the throttling window: a failure, or one still being checked.
    Email and address are kept as keyed digests, never as typed (people type passwords there)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email", "email_key", "attempted_at"),
        Index("ix_login_attempt_address", "address_key", "attempted_at"),
    )

    # Ordered as inserted: an attempt counts the attempts before it (BIGINT: throttled attempts
    # take ids too; SQLite autoincrements only an INTEGER primary key).
    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    email_key: str = _short(64)
    address_key: str | None = _short(64, default=None, nullable=True)
    attempted_at: datetime = _when(index=True)


class TimerSettings(SQLModel, table=True):
    """An account's timers (issue 14), in minutes; an account without a row has the defaults
    (resolvers/sla.py). How long an escalation may wait unclaimed, by priority, before it is
    overdue, and how much longer before the admins are told; how long a claimer may do nothing
    on a claimed one before a nudge, and after the nudge before it goes back to the queue."""

    __tablename__ = "timer_settings"

    account_id: uuid.UUID = Field(foreign_key="account.id", primary_key=True)
    urgent_overdue_minutes: int
    high_overdue_minutes: int
    normal_overdue_minutes: int
    low_overdue_minutes: int
    urgent_admins_minutes: int
    high_admins_minutes: int
    normal_admins_minutes: int
    low_admins_minutes: int
    nudge_minutes: int
    release_minutes: int
    release_idle: bool
    updated_at: datetime = _when()


class HandoffTimer(SQLModel, table=True):
    """An escalation's timers (issue 14): its current wait in the queue and when that falls due,
    what the desk did about it, and its claimer's nudge. One job (kind `timer`, subject this
    row's id) checks it at each due time and whenever it may have changed."""

    __tablename__ = "handoff_timer"
    __table_args__ = (
        Index("ix_handoff_timer_handoff_id", "handoff_id", unique=True),
        Index("ix_handoff_timer_due", "account_id", "due_at"),
    )

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id")
    handoff_id: uuid.UUID = Field(foreign_key="handoff.id")
    waiting_since: datetime = _when()  # its current wait in the queue began (escalated, released)
    due_at: datetime = _when()  # that wait is overdue from then on
    overdue_at: datetime | None = _when(nullable=True)  # the desk found it overdue, told the team
    admins_alerted_at: datetime | None = _when(nullable=True)  # ... and later, the admins
    nudged_at: datetime | None = _when(nullable=True)  # the claimer's last nudge
    closed_at: datetime | None = _when(nullable=True)  # resolved, withdrawn or superseded


class AssessmentVersion(SQLModel, table=True):
    """One assessment asked of an escalation (issue 15): number 1 is asked by the escalation
    itself, each later one by a senior (reassessHandoff). Kept for good, with what it said; the
    handoff's assessment_* columns copy the one it shows (Handoff.assessment_number). At most one
    of a handoff's is pending at a time (resolvers/assessments.py)."""

    __tablename__ = "assessment_version"
    __table_args__ = (
        Index("ix_assessment_version_handoff_number", "handoff_id", "number", unique=True),
    )

    id: uuid.UUID = _id()
    account_id: uuid.UUID = Field(foreign_key="account.id")
    handoff_id: uuid.UUID = Field(foreign_key="handoff.id")
    number: int
    # Who asked for it: None for the first (the escalation asked), a senior for a reassessment.
    requested_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="app_user.id", nullable=True
    )
    requested_at: datetime = _when()
    status: str = _short(16)
    # Which assessor made it (HANDOFF_ASSESSOR: rules, openai); None until it lands (and for
    # those made before this was recorded).
    assessor: str | None = _short(32, default=None, nullable=True)
    summary: str | None = _text(nullable=True)
    likely_cause: str | None = _text(nullable=True)
    suggested_steps: list[str] | None = Field(default=None, sa_type=JSONType, nullable=True)
    confidence: str | None = _short(16, default=None, nullable=True)
    landed_at: datetime | None = _when(nullable=True)  # ready or failed, when


class AssessmentRating(SQLModel, table=True):
    """A senior's rating of an assessment: one per user and assessment; rating again replaces
    it."""

    __tablename__ = "assessment_rating"

    assessment_id: uuid.UUID = Field(foreign_key="assessment_version.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id")
    rating: str = _short(16)
    reason: str | None = _text(nullable=True)
    rated_at: datetime = _when()


class NotificationDefaults(SQLModel, table=True):
    """An account's notification preferences for users who did not choose (issue 15); an account
    without a row has the desk's (resolvers/notification_prefs.py). Admins set them."""

    __tablename__ = "notification_defaults"

    account_id: uuid.UUID = Field(foreign_key="account.id", primary_key=True)
    new_escalations: str = _short(16)  # db.enums.EscalationAlerts
    my_escalations: bool  # email when one I escalated is claimed, transferred or overdue
    in_app_only: bool  # no such emails at all: the desk's notification list only
    updated_at: datetime = _when()


class NotificationPreference(SQLModel, table=True):
    """A user's own notification preferences; each None follows the account's default."""

    __tablename__ = "notification_preference"

    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id")
    new_escalations: str | None = _short(16, default=None, nullable=True)
    my_escalations: bool | None = Field(default=None, nullable=True)
    in_app_only: bool | None = Field(default=None, nullable=True)
    updated_at: datetime = _when()


class Notification(SQLModel, table=True):
    """An in-app notification of one user (issue 15): recorded in the transaction of what it
    tells, at most `notifications_kept` per user (the oldest go)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user", "user_id", "id"),)

    # Ordered as inserted: the list's order and its cursor (BIGINT; SQLite autoincrements only an
    # INTEGER primary key).
    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    account_id: uuid.UUID = Field(foreign_key="account.id")
    user_id: uuid.UUID = Field(foreign_key="app_user.id")
    kind: str = _short(16)  # db.enums.NotificationKind
    handoff_id: uuid.UUID = Field(foreign_key="handoff.id")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id", nullable=True)
    priority: str = _short(16)  # the escalation's, when this was recorded
    summary: str = _short(500)  # its problem summary
    created_at: datetime = _when()
    read_at: datetime | None = _when(nullable=True)
