"""Per-request DataLoaders over the domain's batched reads (resolvers/batches.py).

Built once per request (and per subscription event), never per connection: a loader caches
what it loaded for as long as it lives.
"""

from __future__ import annotations

import functools

from strawberry.dataloader import DataLoader

from resolvers import sla
from resolvers.auth import Viewer
from resolvers.batches import Batches
from resolvers.desk import Desk


class Loaders:
    def __init__(self, desk: Desk, viewer: Viewer) -> None:
        batches = Batches(desk, viewer)
        self.user = DataLoader(batches.users)
        self.session = DataLoader(batches.sessions)
        self.messages = DataLoader(batches.messages)
        self.history = DataLoader(batches.history)
        self.notes = DataLoader(batches.notes)
        self.message_pages = DataLoader(batches.message_pages)
        self.history_pages = DataLoader(batches.history_pages)
        self.note_pages = DataLoader(batches.note_pages)
        self.note = DataLoader(batches.notes_by_id)
        self.session_handoffs = DataLoader(batches.session_handoffs)
        self.session_handoff_pages = DataLoader(batches.session_handoff_pages)
        self.handoff_view = DataLoader(batches.handoff_views)
        self.snapshot = DataLoader(batches.snapshots)
        self.snapshot_messages = DataLoader(batches.snapshot_messages)
        self.escalation_package = DataLoader(batches.escalation_packages)
        self.assessments = DataLoader(batches.assessments)
        self.ratings = DataLoader(batches.ratings)
        self.handoff_timer = DataLoader(functools.partial(sla.timers_by_handoff, desk, viewer))
