"""What every resolver gets: the desk's services, the caller, and this request's loaders."""

from __future__ import annotations

from typing import Any

from resolvers.auth import Viewer, authenticate, bearer_token
from resolvers.desk import Desk
from resolvers.loaders import Loaders


class Context:
    def __init__(self, desk: Desk, authorization: str | None, request: Any = None) -> None:
        self.desk = desk
        self.request = request
        self._authorization = authorization
        self._viewer: Viewer | None = None
        self._loaders: Loaders | None = None

    async def viewer(self) -> Viewer:
        """The authenticated caller; raises a clear authentication error otherwise."""
        if self._viewer is None:
            self._viewer = await authenticate(self.desk, bearer_token(self._authorization))
        return self._viewer

    @property
    def loaders(self) -> Loaders:
        if self._viewer is None:
            raise RuntimeError("loaders are only available once the viewer is known")
        if self._loaders is None:
            self._loaders = Loaders(self.desk, self._viewer)
        return self._loaders
