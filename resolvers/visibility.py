"""Who sees which handoff: escalations are the team's; a park handoff is its creator's alone."""

import uuid
from typing import Any

from sqlalchemy import BindParameter, ColumnElement
from sqlmodel import col

from db.enums import HandoffIntent
from db.models import Handoff
from resolvers.auth import Viewer
from resolvers.tenancy import in_account


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    return visible(viewer.account_id, viewer.user_id)


def visible(
    account_id: uuid.UUID | BindParameter[Any], user_id: uuid.UUID | BindParameter[Any]
) -> ColumnElement[bool]:
    """`visible_to`, given the caller's account and id as values or as bound parameters (for
    statements built once and bound per request)."""
    return in_account(Handoff, account_id) & (
        (col(Handoff.intent) == HandoffIntent.ESCALATE) | (col(Handoff.created_by_id) == user_id)
    )
