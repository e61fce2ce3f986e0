"""What every resolver gets: the desk's services, the caller, and this request's loaders."""

from __future__ import annotations

from typing import Any

from resolvers.auth import Viewer, authenticate, bearer_token
from resolvers.desk import Desk
from resolvers.events import EventSource
from resolvers.loaders import Loaders


class Context:
    """One per HTTP request, or one per websocket connection (shared by its subscriptions)."""

    def __init__(
        self,
        desk: Desk,
        events: EventSource | None,
        authorization: str | None,
        request: Any = None,
    ) -> None:
        self.desk = desk
        self.request = request
        self._events = events
        self._authorization = authorization
        self._viewer: Viewer | None = None
        self._loaders: Loaders | None = None
        # Set by Strawberry from the websocket's connection_init payload.
        self.connection_params: dict | None = None

    def _credentials(self) -> str | None:
        if self._authorization is not None:
            return self._authorization
        params = self.connection_params if isinstance(self.connection_params, dict) else {}
        value = params.get("Authorization") or params.get("authorization")
        if value is None and params.get("token"):
            value = f"Bearer {params['token']}"
        return value if isinstance(value, str) else None

    async def viewer(self) -> Viewer:
        """The authenticated caller; raises a clear authentication error otherwise."""
        if self._viewer is None:
            self._viewer = await authenticate(self.desk, bearer_token(self._credentials()))
        return self._viewer

    @property
    def loaders(self) -> Loaders:
        if self._viewer is None:
            raise RuntimeError("loaders are only available once the viewer is known")
        if self._loaders is None:
            self._loaders = Loaders(self.desk, self._viewer)
        return self._loaders

    def fresh_loaders(self) -> None:
        """A websocket's context lives as long as the socket: forget what loaders cached."""
        self._loaders = None

    async def close_connection(self, code: int, reason: str) -> None:
        """Close this context's websocket (a subscription's way to send its client away)."""
        close = getattr(self.request, "close", None)
        if close is not None:
            await close(code=code, reason=reason)

    def live_events(self) -> EventSource:
        if self._events is None:
            raise RuntimeError("this context serves no subscriptions")
        return self._events
