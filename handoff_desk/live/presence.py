"""Presence across processes: who has which escalation of an account open, now.

Nothing of it is stored. Each process knows the viewers it serves (its subscribers of
`handoffViewers`) and tells the other processes on the account's presence channel
(`presence_<account>`), in short messages of its own:

    {"p": <process>, "k": "here", "v": [<handoff hex><user hex>, ...]}   these view, from p
    {"p": <process>, "k": "gone", "v": [...]}                           these stopped, in p
    {"p": <process>, "k": "sync"}          p just started listening: tell it who views, now

A process says "here" when one of its viewers opens an escalation, "gone" when the last of its
subscribers of that user and escalation leaves, and "here" again for every viewer it serves each
heartbeat (`HANDOFF_PRESENCE_HEARTBEAT_SECONDS`). What it heard of another process is kept until
that process says "gone" or for the TTL (`HANDOFF_PRESENCE_TTL_SECONDS`) after its last "here":
the viewers of a process that vanished (killed, cut off) are gone within the TTL. A message
names at most 64 pairs (under PostgreSQL's 8000-byte NOTIFY limit); a heartbeat sends as many as
it takes. When the broadcast comes back after an outage (its backend rings every channel with
"reconnected"), the process asks the others again and says again who it serves.

One feed per account per process, started by its first subscriber and stopped with its last,
like the account's event feed. Its subscribers get a snapshot first, then each change. The users
a message names are read from the database in the feed's account only (an id of another account
names nobody); the broadcast is the desk's own, and only the processes of the desk publish on it.

Bounded: an escalation lists at most `VIEWERS_PER_HANDOFF` viewers (a further one is not tracked,
nor announced, until the process next hears of it with room to spare), and a process tracks at
most `MAX_TRACKED` viewer-escalation pairs in all.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handoff_desk.live.broadcast import presence_channel
from handoff_desk.live.tasks import stop_all
from resolvers.handoff_views import UserView
from resolvers.presence import (
    VIEWERS_PER_HANDOFF,
    PresenceChange,
    PresenceSnapshot,
    Viewing,
    users_in_account,
)

if TYPE_CHECKING:  # (the hub imports this module)
    from handoff_desk.live.hub import Hub, LocalSubscriber

log = logging.getLogger(__name__)

# Viewer-escalation pairs one process tracks, across its accounts (its own viewers and those it
# heard of); past it, a new one is not tracked until some leave.
MAX_TRACKED = 10_000
# Processes one pair is remembered from (a user with the escalation open through several).
_PROCESSES_PER_PAIR = 32
PAIRS_PER_MESSAGE = 64
# Users of an account whose names a feed keeps, so that a heartbeat reads none again.
_NAMES_KEPT = 1_000
# How long a presence message may hold its sender (the broadcast away: it is said next beat).
_PUBLISH_SECONDS = 0.5

HERE, GONE, SYNC = "here", "gone", "sync"
RECONNECTED = "reconnected"  # what our broadcast backends ring every channel with (broadcast.py)

Pair = tuple[uuid.UUID, uuid.UUID]  # (handoff, user)


@dataclass(frozen=True)
class Announcement:
    process: str
    kind: str  # HERE, GONE or SYNC
    pairs: tuple[Pair, ...] = ()


def announcements(process: str, kind: str, pairs: Iterable[Pair]) -> Iterator[str]:
    """The messages that say `kind` of these pairs, PAIRS_PER_MESSAGE at a time."""
    pairs = list(pairs)
    for start in range(0, len(pairs), PAIRS_PER_MESSAGE):
        chunk = pairs[start : start + PAIRS_PER_MESSAGE]
        yield json.dumps({"p": process, "k": kind, "v": [h.hex + u.hex for h, u in chunk]})


def sync_request(process: str) -> str:
    return json.dumps({"p": process, "k": SYNC})


def parse(message: str) -> Announcement | None:
    """A presence message, or None if it is none (malformed)."""
    try:
        body = json.loads(message)
        process, kind = body["p"], body["k"]
        pairs = tuple(
            (uuid.UUID(hex=pair[:32]), uuid.UUID(hex=pair[32:])) for pair in body.get("v", ())
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(process, str) or kind not in (HERE, GONE, SYNC):
        return None
    return Announcement(process, kind, pairs)


@dataclass
class _Entry:
    """One user viewing one escalation: through this process's subscribers (`local`, a count),
    and through others (their process ids, each with when it expires unless heard of again)."""

    user: UserView
    local: int = 0
    remote: dict[str, float] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.local > 0 or bool(self.remote)


class PresenceFeed:
    """One account's presence in this process."""

    def __init__(self, hub: Hub, account_id: uuid.UUID) -> None:
        self.hub = hub
        self.account_id = account_id
        self.subscribers: set[LocalSubscriber[Any]] = set()
        # handoff -> user -> entry; both in the order they arrived.
        self._viewers: dict[uuid.UUID, dict[uuid.UUID, _Entry]] = {}
        self._names: dict[uuid.UUID, UserView] = {}
        self._channel = presence_channel(account_id)
        self._ready = asyncio.Event()
        self._sending = asyncio.Lock()  # one message at a time, each true when it is sent
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # Fresh contexts: the feed outlives the request that started it (and its request id).
        self._spawn(self._listen(), "presence")
        try:
            await self._ready.wait()  # listening before asking: no answer falls in between
        except BaseException:
            await self.stop()
            raise
        await self._publish(sync_request(self.hub.process_id))
        self._spawn(self._beat(), "presence heartbeat")

    async def stop(self) -> None:
        await stop_all(self._tasks)
        self.hub.presence_tracked -= sum(len(users) for users in self._viewers.values())
        self._viewers.clear()

    def snapshot(self) -> PresenceSnapshot:
        return PresenceSnapshot(
            {
                handoff_id: tuple(entry.user for entry in users.values())
                for handoff_id, users in self._viewers.items()
            }
        )

    def view(self, viewing: Viewing) -> bool:
        """A subscriber of this process has the escalation open (counted at once; `announce`
        tells the other processes). False: over a cap, it is not counted (nor to be unviewed)."""
        entry = self._entry(viewing.handoff_id, viewing.user)
        if entry is None:
            log.warning("%s on %s not counted: over a cap", viewing.user.id, viewing.handoff_id)
            return False
        entry.local += 1
        self._names[viewing.user.id] = viewing.user
        return True

    def unview(self, viewing: Viewing) -> None:
        """That subscriber left (at once; `announce` tells the others)."""
        entry = self._viewers.get(viewing.handoff_id, {}).get(viewing.user.id)
        if entry is None or entry.local == 0:
            return
        entry.local -= 1
        if entry.local == 0:
            self._drop_if_gone(viewing.handoff_id, entry)

    async def announce(self, viewing: Viewing) -> None:
        """Tells the other processes whether this one has the viewer on the escalation now."""
        pair = (viewing.handoff_id, viewing.user.id)
        await self._announce(HERE if self._is_local(pair) else GONE, [pair])

    # --- what this process says ---

    def _local_pairs(self) -> list[Pair]:
        return [
            (handoff_id, user_id)
            for handoff_id, users in self._viewers.items()
            for user_id, entry in users.items()
            if entry.local > 0
        ]

    def _is_local(self, pair: Pair) -> bool:
        entry = self._viewers.get(pair[0], {}).get(pair[1])
        return entry is not None and entry.local > 0

    async def _announce(self, kind: str, pairs: list[Pair] | None = None) -> None:
        """Says `kind` of the pairs (HERE with None: of every viewer this process serves). Each
        message is made when its turn comes, of what is true then: a viewer who left meanwhile is
        not said to be here after being said gone."""
        async with self._sending:
            if pairs is None:
                pairs = self._local_pairs()
            else:
                pairs = [pair for pair in pairs if self._is_local(pair) == (kind == HERE)]
            for message in announcements(self.hub.process_id, kind, pairs):
                await self._publish(message)

    async def _publish(self, message: str) -> None:
        try:
            async with asyncio.timeout(_PUBLISH_SECONDS):
                await self.hub.broadcast.publish(self._channel, message)
        except Exception as error:  # TimeoutError included: said again at the next heartbeat
            log.warning("could not announce presence in account %s: %r", self.account_id, error)

    async def _beat(self) -> None:
        """Says who this process serves every heartbeat; forgets, at their time, the viewers of
        other processes that stopped saying so."""
        heartbeat = self.hub.presence_heartbeat_seconds
        next_beat = time.monotonic() + heartbeat
        while True:
            now = time.monotonic()
            wake = min([next_beat, *self._expiries()])
            await asyncio.sleep(max(0.0, wake - now))
            now = time.monotonic()
            self._expire(now)
            if now >= next_beat:
                next_beat = now + heartbeat
                await self._announce(HERE)

    def _expiries(self) -> Iterator[float]:
        for users in self._viewers.values():
            for entry in users.values():
                yield from entry.remote.values()

    def _expire(self, now: float) -> None:
        for handoff_id, users in list(self._viewers.items()):
            for entry in list(users.values()):
                stale = [process for process, until in entry.remote.items() if until <= now]
                for process in stale:
                    del entry.remote[process]
                if stale:
                    self._drop_if_gone(handoff_id, entry)

    # --- what this process hears ---

    async def _listen(self) -> None:
        try:
            async with self.hub.broadcast.subscribe(self._channel) as messages:
                self._ready.set()
                async for event in messages:  # type: ignore[union-attr]
                    if event is None:
                        continue
                    try:
                        await self._heard(event.message)
                    except Exception as error:  # the database away: the next heartbeat retells
                        log.warning("presence message of %s skipped: %r", self.account_id, error)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Its subscribers still see this process's own viewers come and go.
            log.exception("presence channel of account %s stopped", self.account_id)
            self._ready.set()

    async def _heard(self, message: str) -> None:
        if message == RECONNECTED:
            # Whatever was said while the broadcast was away is lost: ask again, tell again.
            await self._publish(sync_request(self.hub.process_id))
            await self._announce(HERE)
            return
        said = parse(message)
        if said is None:
            log.warning("not a presence message on %s: %.80r", self._channel, message)
            return
        if said.process == self.hub.process_id:
            return  # this process's own: its viewers are known here already
        if said.kind == SYNC:
            await self._announce(HERE)
        elif said.kind == HERE:
            await self._heard_here(said)
        else:
            for handoff_id, user_id in said.pairs:
                entry = self._viewers.get(handoff_id, {}).get(user_id)
                if entry is not None and entry.remote.pop(said.process, None) is not None:
                    self._drop_if_gone(handoff_id, entry)

    async def _heard_here(self, said: Announcement) -> None:
        unknown = {user_id for _, user_id in said.pairs if user_id not in self._names}
        if unknown:
            if len(self._names) + len(unknown) > _NAMES_KEPT:
                self._names = {}  # read again as they come
            self._names.update(await users_in_account(self.hub.desk, self.account_id, unknown))
        until = time.monotonic() + self.hub.presence_ttl_seconds
        for handoff_id, user_id in said.pairs:
            user = self._names.get(user_id)
            if user is None:
                continue  # nobody of this account
            entry = self._entry(handoff_id, user)
            if entry is None:
                continue
            if said.process in entry.remote or len(entry.remote) < _PROCESSES_PER_PAIR:
                entry.remote[said.process] = until

    # --- the state, and its subscribers ---

    def _entry(self, handoff_id: uuid.UUID, user: UserView) -> _Entry | None:
        """The user's entry on the escalation, made (the user joins) if there is room."""
        users = self._viewers.get(handoff_id)
        entry = users.get(user.id) if users is not None else None
        if entry is not None:
            return entry
        if users is not None and len(users) >= VIEWERS_PER_HANDOFF:
            return None
        if self.hub.presence_tracked >= MAX_TRACKED:
            return None
        entry = _Entry(user)
        self._viewers.setdefault(handoff_id, {})[user.id] = entry
        self.hub.presence_tracked += 1
        self._offer(PresenceChange(handoff_id, user, joined=True))
        return entry

    def _drop_if_gone(self, handoff_id: uuid.UUID, entry: _Entry) -> None:
        if entry.present:
            return
        users = self._viewers[handoff_id]
        del users[entry.user.id]
        if not users:
            del self._viewers[handoff_id]
        self.hub.presence_tracked -= 1
        self._offer(PresenceChange(handoff_id, entry.user, joined=False))

    def _offer(self, change: PresenceChange) -> None:
        for subscriber in list(self.subscribers):
            subscriber.offer(change)

    def _spawn(self, work: Any, what: str) -> None:
        self._tasks.append(
            asyncio.create_task(
                work, name=f"{what} {self.account_id}", context=contextvars.Context()
            )
        )
