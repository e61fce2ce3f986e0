"""Who sees which handoff: escalations are the team's; a park handoff is its creator's alone."""

from sqlalchemy import ColumnElement
from sqlmodel import col

from db.enums import HandoffIntent
from db.models import Handoff
from resolvers.auth import Viewer
from resolvers.tenancy import in_account


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    return in_account(Handoff, viewer) & (
        (col(Handoff.intent) == HandoffIntent.ESCALATE)
        | (col(Handoff.created_by_id) == viewer.user_id)
    )
