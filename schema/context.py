"""What every resolver gets: the desk's services, the caller, and this request's loaders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from db.types import utcnow
from resolvers.auth import Standing, Viewer, authenticate, bearer_token
from resolvers.desk import Desk
from resolvers.events import EventSource
from resolvers.presence import PresenceSource
from resolvers.read_marks import ReadMarkSource
from schema.loaders import Loaders


class LiveSource(EventSource, ReadMarkSource, PresenceSource, Protocol):
    """What serves a process's subscriptions (the hub): each account's events, each user's
    read marks with them, and who has which escalation open."""


# Both websocket protocols: the caller's rights ended (token expired, deactivated, role changed).
ACCESS_ENDED_CLOSE_CODE = 4403


class Context:
    """One per HTTP request, or one per websocket operation.

    A websocket's connection has one too (it holds the connection_init payload and answers the
    handshake), but no operation runs with it: each query, mutation and subscription gets its own
    from `for_operation`, so the caller is authenticated from the database's current state, and
    loaders start empty, at every operation.
    """

    def __init__(
        self,
        desk: Desk,
        events: LiveSource | None,
        authorization: str | None,
        request: Any = None,
    ) -> None:
        self.desk = desk
        self.request = request
        self._events = events
        self._authorization = authorization
        self._viewer: Viewer | None = None
        # A websocket connection's caller at its handshake, for its operations' log lines.
        self.connected_as: Viewer | None = None
        self._authenticating: asyncio.Future[Viewer] | None = None
        self._loaders: Loaders | None = None
        # Set by Strawberry from the websocket's connection_init payload.
        self.connection_params: dict | None = None
        self._expiry: asyncio.TimerHandle | None = None

    # A stream serving several callers sets this to check each of them on an access change;
    # None: the stream's own caller is checked (see events.live_events).
    on_access_change: Callable[[Mapping[Any, Standing]], None] | None = None

    def _credentials(self) -> str | None:
        if self._authorization is not None:
            return self._authorization
        params = self.connection_params if isinstance(self.connection_params, dict) else {}
        value = params.get("Authorization") or params.get("authorization")
        if value is None and params.get("token"):
            value = f"Bearer {params['token']}"
        return value if isinstance(value, str) else None

    def for_operation(self) -> Context:
        """A context for one operation of this websocket: same credentials, nothing cached."""
        context = Context(self.desk, self._events, self._authorization, self.request)
        context.connection_params = self.connection_params
        return context

    async def viewer(self) -> Viewer:
        """The authenticated caller; raises a clear authentication error otherwise.

        Fields resolve concurrently: they share one authentication (one read), and when it fails
        they fail in the order they asked, which is the document's, so an answer names the same
        field every time."""
        if self._viewer is None:
            if self._authenticating is None:
                self._authenticating = asyncio.ensure_future(self.authenticate())
            self._viewer = await self._authenticating
        return self._viewer

    @property
    def known_viewer(self) -> Viewer | None:
        """The caller, if this context has authenticated it already (never reads anything)."""
        return self._viewer

    async def authenticate(self) -> Viewer:
        """The caller as the database has it now, kept nowhere (a websocket's handshake: its
        connection context lives as long as the socket, and no operation runs with it)."""
        return await authenticate(self.desk, bearer_token(self._credentials()))

    @property
    def loaders(self) -> Loaders:
        if self._viewer is None:
            raise RuntimeError("loaders are only available once the viewer is known")
        if self._loaders is None:
            self._loaders = Loaders(self.desk, self._viewer)
        return self._loaders

    def fresh_loaders(self) -> None:
        """A subscription lives as long as it is open: forget what loaders cached."""
        self._loaders = None

    def close_when_token_expires(self, expires_at: datetime | None) -> None:
        """A websocket outlives no token: at its expiry the socket is closed with 4403."""
        self.stop_expiry()
        if expires_at is None:
            return
        delay = max(0.0, (expires_at - utcnow()).total_seconds())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._on_expiry)

    def _on_expiry(self) -> None:
        self._closing = asyncio.ensure_future(self._expired())  # held: a task is weakly kept

    def stop_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    async def _expired(self) -> None:
        with contextlib.suppress(Exception):  # closed already
            await self.close_connection(ACCESS_ENDED_CLOSE_CODE, "your token expired: log in again")

    async def close_connection(self, code: int, reason: str) -> None:
        """Close this context's websocket (a subscription's way to send its client away)."""
        close = getattr(self.request, "close", None)
        if close is not None:
            await close(code=code, reason=reason)

    def live_events(self) -> LiveSource:
        if self._events is None:
            raise RuntimeError("this context serves no subscriptions")
        return self._events

    def read_marks(self) -> ReadMarkSource:
        """The caller's own read notices with their account's events."""
        return self.live_events()

    def presence(self) -> PresenceSource:
        """Who has which of the account's escalations open, with its access changes."""
        return self.live_events()
