"""Who sees which handoff: escalations are the team's; a park handoff is its creator's alone."""

from db.enums import HandoffIntent
from db.models import Handoff
from resolvers.auth import Viewer
from resolvers.tenancy import in_account


def visible_to(viewer: Viewer):
    return in_account(Handoff, viewer) & (
        (Handoff.intent == HandoffIntent.ESCALATE) | (Handoff.created_by_id == viewer.user_id)
    )
