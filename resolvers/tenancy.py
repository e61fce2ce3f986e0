"""Tenancy: every query of the domain scopes its rows to one account through `in_account`.

tests/api/test_tenancy_walk.py walks the whole schema as a user of another account and finds
nothing of this one; this helper is how each query earns that.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import BindParameter, ColumnElement


class _OfAccount(Protocol):
    @property
    def account_id(self) -> uuid.UUID: ...


def in_account(
    entity: Any, account: _OfAccount | uuid.UUID | BindParameter[Any]
) -> ColumnElement[bool]:
    """`entity`'s rows of `account` (a viewer's own, an account id, or a bound parameter)."""
    account_id = getattr(account, "account_id", account)  # a viewer's, or the id itself
    condition: ColumnElement[bool] = entity.account_id == account_id
    return condition
