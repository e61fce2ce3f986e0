"""Notifications people control (issue 15): the types of preferences, account defaults and the
in-app notification list. The rules are resolvers/notification_prefs.py and resolvers/inbox.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from db import enums as db_enums
from db import models
from resolvers import accounts, inbox
from resolvers.notification_prefs import (
    ChoiceChange,
    DefaultsChange,
    MyPreferences,
    Preferences,
)
from schema.connections import PageInfo
from schema.results import NotPermitted
from schema.sharing import per_viewer
from schema.types import Account, Info, User, _user
from vendor_internals.strawberry import describe_enum_values

EscalationAlerts = db_enums.EscalationAlerts
strawberry.enum(
    EscalationAlerts,
    name="EscalationAlerts",
    description="Which of the team's new escalations a user hears of: ALL, HIGH_AND_URGENT "
    "(HIGH and URGENT priority only) or NONE.",
)
NotificationKind = db_enums.NotificationKind
strawberry.enum(
    NotificationKind,
    name="NotificationKind",
    description="NEW_ESCALATION: the team raised one. CLAIMED, TRANSFERRED, OVERDUE: one the "
    "user escalated was claimed, handed on to a colleague, or waited unclaimed past its due time.",
)
describe_enum_values(
    EscalationAlerts,
    {
        "ALL": "Every new escalation of the team.",
        "HIGH_AND_URGENT": "Only those of HIGH or URGENT priority.",
        "NONE": "None.",
    },
)
describe_enum_values(
    NotificationKind,
    {
        "NEW_ESCALATION": "The team raised an escalation (as the user's preferences ask).",
        "CLAIMED": "One the user escalated was claimed.",
        "TRANSFERRED": "One the user escalated was handed on by its claimer (or an admin) to "
        "a colleague.",
        "OVERDUE": "One the user escalated waited unclaimed past its due time.",
    },
)


@strawberry.type(description="What a user hears of, by email and in the desk.")
class NotificationPreferences:
    new_escalations: EscalationAlerts = strawberry.field(
        description="Which new escalations of the team (and their overdue reminders): by email, "
        "and in the notification list."
    )
    my_escalations: bool = strawberry.field(
        description="Whether to hear when one they escalated is claimed, transferred or overdue."
    )
    in_app_only: bool = strawberry.field(
        description="None of these by email: the desk's notification list only. What is "
        "addressed to the user about their own work (handed to them, a nudge, a release) is "
        "emailed all the same."
    )

    @strawberry.field(description="The account they apply in: the caller's.")
    async def account(self, info: Info) -> Account:
        viewer = await info.context.viewer()
        return Account.from_row(await accounts.get_account(info.context.desk, viewer))

    @classmethod
    def of(cls, prefs: Preferences) -> NotificationPreferences:
        return cls(
            new_escalations=prefs.new_escalations,
            my_escalations=prefs.my_escalations,
            in_app_only=prefs.in_app_only,
        )


@strawberry.type(
    description="The caller's notification preferences: their own choices (null: the "
    "account's default), what those come to, and the account's defaults."
)
class MyNotificationPreferences:
    new_escalations: EscalationAlerts | None = strawberry.field(
        description="Which of the team's new escalations they hear of; null: the account's default."
    )
    my_escalations: bool | None = strawberry.field(
        description="Whether they hear when one they escalated is claimed, transferred or "
        "overdue; null: the account's default."
    )
    in_app_only: bool | None = strawberry.field(
        description="Whether they hear of these in the desk only, not by email; null: the "
        "account's default."
    )
    effective: NotificationPreferences = strawberry.field(
        description="What the caller hears of now: their choices over the account's defaults."
    )
    account_defaults: NotificationPreferences = strawberry.field(
        description="The account's defaults, which a null choice follows."
    )
    user: User = strawberry.field(description="Whose they are: the caller.")

    @classmethod
    def of(cls, mine: MyPreferences) -> MyNotificationPreferences:
        return cls(
            user=User.from_row(mine.user),
            new_escalations=mine.choice.new_escalations,
            my_escalations=mine.choice.my_escalations,
            in_app_only=mine.choice.in_app_only,
            effective=NotificationPreferences.of(mine.effective),
            account_defaults=NotificationPreferences.of(mine.defaults),
        )


@strawberry.input(
    description="What to change of the caller's preferences: a field left out stays as it is; "
    "null follows the account's default."
)
class MyNotificationPreferencesInput:
    new_escalations: EscalationAlerts | None = strawberry.field(
        default=strawberry.UNSET,
        description="Which of the team's new escalations to hear of; null: the account's default.",
    )
    my_escalations: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether to hear when one the caller escalated is claimed, transferred or "
        "overdue; null: the account's default.",
    )
    in_app_only: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Whether to hear of these in the desk only, not by email; null: the "
        "account's default.",
    )

    def change(self) -> ChoiceChange:
        given = frozenset(
            name
            for name in ("new_escalations", "my_escalations", "in_app_only")
            if getattr(self, name) is not strawberry.UNSET
        )

        def value(name: str):
            return getattr(self, name) if name in given else None

        return ChoiceChange(
            new_escalations=value("new_escalations"),
            my_escalations=value("my_escalations"),
            in_app_only=value("in_app_only"),
            given=given,
        )


@strawberry.input(description="What to change of the account's defaults; null stays as it is.")
class NotificationDefaultsInput:
    new_escalations: EscalationAlerts | None = strawberry.field(
        default=None, description="Which of the team's new escalations users hear of."
    )
    my_escalations: bool | None = strawberry.field(
        default=None,
        description="Whether users hear when one they escalated is claimed, transferred or "
        "overdue.",
    )
    in_app_only: bool | None = strawberry.field(
        default=None, description="Whether users hear of these in the desk only, not by email."
    )

    def change(self) -> DefaultsChange:
        return DefaultsChange(self.new_escalations, self.my_escalations, self.in_app_only)


@strawberry.type(description="The caller's preferences are changed.")
class SetMyNotificationPreferencesSuccess:
    preferences: MyNotificationPreferences = strawberry.field(
        description="The caller's preferences, as they are now."
    )


@strawberry.type(description="The account's defaults are changed.")
class SetNotificationDefaultsSuccess:
    defaults: NotificationPreferences = strawberry.field(
        description="The account's defaults, as they are now."
    )


SetNotificationDefaultsResult = Annotated[
    SetNotificationDefaultsSuccess | NotPermitted,
    strawberry.union(
        "SetNotificationDefaultsResult",
        description="What setNotificationDefaults answers: its success, or an expected failure "
        "(a UserError).",
    ),
]


@strawberry.type(description="An in-app notification of the caller's.")
class Notification:
    id: strawberry.ID = strawberry.field(description="Its id (markNotificationsRead's ids).")
    kind: NotificationKind = strawberry.field(description="What it tells.")
    handoff_id: strawberry.ID = strawberry.field(description="The escalation it is about.")
    priority: db_enums.Priority = strawberry.field(description="Its priority when this was made.")
    summary: str = strawberry.field(description="Its problem summary.")
    created_at: datetime = strawberry.field(description="When it was made.")
    read: bool = strawberry.field(description="Whether the caller marked it read.")
    actor_id: strawberry.Private[object]

    @strawberry.field(description="Who did it (null: the desk itself, as for OVERDUE).")
    async def actor(self, info: Info) -> User | None:
        return await _user(info, self.actor_id)

    @classmethod
    def from_row(cls, row: models.Notification) -> Notification:
        return cls(
            id=strawberry.ID(inbox.cursor(row)),
            kind=NotificationKind(row.kind),
            handoff_id=strawberry.ID(str(row.handoff_id)),
            priority=db_enums.Priority(row.priority),
            summary=row.summary,
            created_at=row.created_at,
            read=row.read_at is not None,
            actor_id=row.actor_id,
        )


@strawberry.type(description="A notification in a page, with its place.")
class NotificationEdge:
    cursor: str = strawberry.field(description="Its place: `after` this, the page after it.")
    node: Notification = strawberry.field(description="The notification.")


@strawberry.type(description="A page of the caller's notifications.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(
        description="The page, newest first, with cursors."
    )
    page_info: PageInfo = strawberry.field(description="Where the page stands.")
    unread_count: int = strawberry.field(description="The caller's unread notifications (all).")

    @strawberry.field(description="The page's notifications (edges without cursors).")
    def nodes(self) -> list[Notification]:
        return [edge.node for edge in self.edges]

    @classmethod
    def of(cls, page: inbox.NotificationPage, after: str | None) -> NotificationConnection:
        edges = [
            NotificationEdge(cursor=inbox.cursor(n), node=Notification.from_row(n))
            for n in page.notifications
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
            ),
            unread_count=page.unread_count,
        )


@strawberry.type(description="The caller's unread notifications after marking.")
class MarkNotificationsReadSuccess:
    unread_count: int = strawberry.field(description="How many are unread now.")


@strawberry.type(
    description="The caller's unread in-app notifications: at once, then at each change."
)
class NotificationCountChanged:
    unread_count: int = per_viewer(description="How many are unread now.")
