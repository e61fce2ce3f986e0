"""Queries: reads of the caller's account only."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import (
    accounts,
    caps,
    handoffs,
    inbox,
    limits,
    notification_prefs,
    pages,
    queue,
    sessions,
    views,
)
from resolvers import sla as sla_settings
from resolvers.ids import parse_id
from resolvers.queue import QueueFilter, QueueOrder, QueuePage
from schema import enums, inputs
from schema import nodes as relay_nodes
from schema import notifications as nt
from schema.connections import Connection, PageInfo
from schema.node import Node
from schema.types import (
    Account,
    Handoff,
    HandoffConnection,
    HandoffEdge,
    Info,
    PageAfter,
    PageBefore,
    Session,
    TimerSettings,
    User,
    deprecated_for,
    page_first,
    page_last,
)

# Pages: how many, and where the last page ended.
PageSize = Annotated[
    int,
    strawberry.argument(
        description=f"How many to list: 1 to {limits.QUEUE_PAGE_MAX}; fewer come back on the "
        "last page."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="The endCursor of the page before (pageInfo); null: from the start."
    ),
]

# Connections of the account's users and the caller's sessions (Relay).
_LIST = caps.Cap(default=20, maximum=limits.QUEUE_PAGE_MAX)
USERS_CURSOR = "users"
SESSIONS_CURSOR = "mySessions"
ListFirst = Annotated[int | None, page_first(_LIST)]
ListLast = Annotated[int | None, page_last(_LIST)]

# Timers (issue 14): the queue by SLA state, and by due time.
SlaFilter = Annotated[
    list[enums.SlaState] | None,
    strawberry.argument(description="Only escalations in these SLA states (Handoff.slaState)."),
]
QueueOrdering = Annotated[
    enums.QueueOrder,
    strawberry.argument(description="QUEUE (the default) or DUE: the soonest due first."),
]


@strawberry.type(description="Reads, of the caller's account only.")
class Query:
    @strawberry.field(description="The caller.")
    async def me(self, info: Info) -> User:
        viewer = await info.context.viewer()
        user = await info.context.loaders.user.load(viewer.user_id)
        assert user is not None  # authenticated from the database just now
        return User.from_row(user)

    @strawberry.field(description="The caller's account.")
    async def account(self, info: Info) -> Account:
        viewer = await info.context.viewer()
        return Account.from_row(await accounts.get_account(info.context.desk, viewer))

    @strawberry.field(
        description="The users of the caller's account.",
        deprecation_reason=deprecated_for("usersConnection"),
    )
    async def users(self, info: Info) -> list[User]:
        viewer = await info.context.viewer()
        return [User.from_row(u) for u in await accounts.list_users(info.context.desk, viewer)]

    @strawberry.field(description="The users of the caller's account, by name, a page at a time.")
    async def users_connection(
        self,
        info: Info,
        first: ListFirst = None,
        after: PageAfter = None,
        last: ListLast = None,
        before: PageBefore = None,
    ) -> Connection[User]:
        viewer = await info.context.viewer()
        ask = pages.ask(
            _LIST, USERS_CURSOR, pages.row_id, first=first, after=after, last=last, before=before
        )
        page = await accounts.users_page(info.context.desk, viewer, ask)
        return Connection.of(page, User.from_row, lambda u: pages.encode(USERS_CURSOR, u.id))

    @strawberry.field(
        description="The handoff, session or user with this id (Node), as its own query finds "
        "it (handoff, session, users); null for any other id: unknown, another account's, or "
        "not one the caller may see."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Its id (Node.id).")],
    ) -> Node | None:
        await info.context.viewer()
        return await relay_nodes.node(info, parse_id(id))

    @strawberry.field(
        description=f"node for each id, in the ids' order (null where node is null); at most "
        f"{limits.NODES_MAX} ids."
    )
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Node ids: at most {limits.NODES_MAX}."),
        ],
    ) -> list[Node | None]:
        await info.context.viewer()
        return await relay_nodes.nodes(info, relay_nodes.parse_node_ids(ids))

    @strawberry.field(description="A session of the caller's account; null if there is none.")
    async def session(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")]
    ) -> Session | None:
        viewer = await info.context.viewer()
        row = await sessions.get_session(info.context.desk, viewer, parse_id(id))
        return Session.from_row(row) if row else None

    @strawberry.field(
        description="Sessions the caller owns or works, most recently changed first.",
        deprecation_reason=deprecated_for("mySessionsConnection"),
    )
    async def my_sessions(
        self,
        info: Info,
        status: Annotated[
            enums.SessionStatus | None,
            strawberry.argument(description="Only sessions of this status (null: any)."),
        ] = None,
        first: Annotated[
            int,
            strawberry.argument(description=f"At most this many: 1 to {limits.QUEUE_PAGE_MAX}."),
        ] = 20,
    ) -> list[Session]:
        viewer = await info.context.viewer()
        rows = await sessions.my_sessions(info.context.desk, viewer, status, first)
        return [Session.from_row(r) for r in rows]

    @strawberry.field(
        description="Sessions the caller owns or works, most recently changed first (then by "
        "id), a page at a time. A session that changes while a client pages moves to the front."
    )
    async def my_sessions_connection(
        self,
        info: Info,
        status: Annotated[
            enums.SessionStatus | None,
            strawberry.argument(description="Only sessions of this status (null: any)."),
        ] = None,
        first: ListFirst = None,
        after: PageAfter = None,
        last: ListLast = None,
        before: PageBefore = None,
    ) -> Connection[Session]:
        viewer = await info.context.viewer()
        ask = pages.ask(
            _LIST, SESSIONS_CURSOR, pages.row_id, first=first, after=after, last=last, before=before
        )
        page = await sessions.my_sessions_page(info.context.desk, viewer, status, ask)
        return Connection.of(page, Session.from_row, lambda r: pages.encode(SESSIONS_CURSOR, r.id))

    @strawberry.field(description="A handoff visible to the caller; null if there is none.")
    async def handoff(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")]
    ) -> Handoff | None:
        viewer = await info.context.viewer()
        view = await handoffs.get_handoff(info.context.desk, viewer, parse_id(id))
        return Handoff.from_view(view) if view else None

    @strawberry.field(
        description="The account's escalations: unclaimed first, then by priority, newest first. "
        "Listing never clears unread marks."
    )
    async def handoff_queue(
        self,
        info: Info,
        first: PageSize = 20,
        after: After = None,
        status: Annotated[
            enums.QueueStatus,
            strawberry.argument(description="Claimed, unclaimed or both (ALL, the default)."),
        ] = QueueFilter.ALL,
        sla: SlaFilter = None,
        order: QueueOrdering = QueueOrder.QUEUE,
    ) -> HandoffConnection:
        viewer = await info.context.viewer()
        page: QueuePage
        if sla is None and order is QueueOrder.QUEUE:
            page = await queue.handoff_queue(
                info.context.desk, viewer, first=first, after=after, status=status
            )
        else:  # timers (issue 14)
            page = await queue.timed_queue(
                info.context.desk,
                viewer,
                first=first,
                after=after,
                status=status,
                sla=frozenset(sla) if sla is not None else None,
                order=order,
            )
        return _connection(page)

    @strawberry.field(
        description="The handoffs the caller may see (the account's escalations, and their own "
        "parks), filtered, in the queue's order. Cursors are the queue's: one names the same "
        "place under any filters. Listing never clears unread marks."
    )
    async def handoffs(
        self,
        info: Info,
        first: PageSize = 20,
        after: After = None,
        filter: Annotated[
            inputs.HandoffFilter | None,
            strawberry.argument(description="Which to list (null: all the caller may see)."),
        ] = None,
    ) -> HandoffConnection:
        viewer = await info.context.viewer()
        filters = filter.to_domain() if filter is not None else views.HandoffFilter()
        page = await views.handoff_view(
            info.context.desk, viewer, filters, first=first, after=after
        )
        return _connection(page)

    @strawberry.field(
        description="The caller's escalations, whoever holds them now (claimedBy, claimedAt), "
        "in the queue's order."
    )
    async def my_escalations(
        self,
        info: Info,
        first: PageSize = 20,
        after: After = None,
        status: Annotated[
            enums.HandoffStatus | None,
            strawberry.argument(description="Open or resolved (null: both)."),
        ] = None,
    ) -> HandoffConnection:
        viewer = await info.context.viewer()
        page = await views.my_escalations(
            info.context.desk, viewer, first=first, after=after, status=status
        )
        return _connection(page)

    @strawberry.field(
        description="The caller's parks that still hold their session (paused, not handed off "
        "again): each with its session. resumeParkedHandoff resumes one."
    )
    async def my_parked_sessions(
        self, info: Info, first: PageSize = 20, after: After = None
    ) -> HandoffConnection:
        viewer = await info.context.viewer()
        page = await views.my_parked_sessions(info.context.desk, viewer, first=first, after=after)
        return _connection(page)

    # --- timers (issue 14) ---

    @strawberry.field(description="The caller's account's timers.")
    async def timer_settings(self, info: Info) -> TimerSettings:
        viewer = await info.context.viewer()
        return TimerSettings.from_policy(
            await sla_settings.get_timer_settings(info.context.desk, viewer)
        )

    # --- notifications people control (issue 15) ---

    @strawberry.field(description="The caller's notification preferences.")
    async def my_notification_preferences(self, info: Info) -> nt.MyNotificationPreferences:
        viewer = await info.context.viewer()
        mine = await notification_prefs.my_preferences(info.context.desk, viewer)
        return nt.MyNotificationPreferences.of(mine)

    @strawberry.field(
        description="The account's notification defaults (admins change them: "
        "setNotificationDefaults)."
    )
    async def notification_defaults(self, info: Info) -> nt.NotificationPreferences:
        viewer = await info.context.viewer()
        defaults = await notification_prefs.notification_defaults(info.context.desk, viewer)
        return nt.NotificationPreferences.of(defaults)

    @strawberry.field(
        description="The caller's in-app notifications, newest first (the desk keeps the "
        "newest few hundred: HANDOFF_NOTIFICATIONS_KEPT). Listing marks nothing read."
    )
    async def notifications(
        self, info: Info, first: PageSize = 20, after: After = None
    ) -> nt.NotificationConnection:
        viewer = await info.context.viewer()
        page = await inbox.notifications(info.context.desk, viewer, first=first, after=after)
        return nt.NotificationConnection.of(page, after)


def _connection(page: QueuePage) -> HandoffConnection:
    edges = [HandoffEdge(cursor=page.cursor(h), node=Handoff.from_view(h)) for h in page.handoffs]
    return HandoffConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            end_cursor=edges[-1].cursor if edges else None,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
        ),
        unread_count=page.unread_count,
        total_count=page.total_count,
    )
