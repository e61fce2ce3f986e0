"""What a process does after a commit: ring the event doorbell (and a reader's own, for new read
marks), wake the local workers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from db.enums import JobKind
from handoff_desk.live.hub import Hub


class LiveNotifier:
    def __init__(
        self, hub: Hub, wake_workers: Callable[[Iterable[str]], None] | None = None
    ) -> None:
        self._hub = hub
        self._wake_workers = wake_workers

    async def events_committed(self, account_id: uuid.UUID, last_seq: int) -> None:
        await self._hub.publish(account_id, last_seq)

    async def marks_committed(self, user_id: uuid.UUID, handoff_ids: list[uuid.UUID]) -> None:
        await self._hub.publish_marks(user_id, handoff_ids)

    async def notifications_committed(self, user_id: uuid.UUID) -> None:
        await self._hub.publish_notifications(user_id)

    def jobs_committed(self, kinds: frozenset[JobKind]) -> None:
        if self._wake_workers is not None:
            self._wake_workers(kinds)
