"""emails unique per account: the same address may be a user of several accounts, once in each

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:00:00

The global unique constraint on app_user.email goes; a unique index on (email, account_id)
takes its place (email first: login looks an address up across accounts, and this index serves
that lookup as the old constraint did).

The downgrade restores the global constraint. It FAILS (and changes nothing) if an address is
a user of more than one account by then: decide which of those users keep the address, change
or remove the others, and run it again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_app_user_email_account_id"
_GLOBAL = "app_user_email_key"  # PostgreSQL's name for 0001's unnamed UNIQUE (email)
_HOLDING = "_app_user_0007"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(globally_unique=False)
        return
    op.drop_constraint(_GLOBAL, "app_user", type_="unique")
    op.create_index(_INDEX, "app_user", ["email", "account_id"], unique=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(globally_unique=True)
        return
    op.drop_index(_INDEX, table_name="app_user")
    op.create_unique_constraint(_GLOBAL, "app_user", ["email"])


def _columns() -> list[sa.Column]:
    """app_user's columns as 0001 and 0006 left them."""
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_marks", sa.Integer(), server_default="0", nullable=False),
    ]


def _rebuild_on_sqlite(*, globally_unique: bool) -> None:
    """SQLite keeps a table's UNIQUE constraint in the table itself: the table is made again.

    Not a batch: a batch fills a new table and renames it over the old one, and dropping the
    old one (with foreign keys on, inside the migration's transaction, where they cannot be
    turned off) leaves the rows that point at users counted as violations at commit. Here the
    rows go aside, the table is made again under its own name and filled back, which settles
    those counts; until the commit, foreign keys are checked at the end (defer_foreign_keys)."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    names = ", ".join(column.name for column in _columns())
    op.execute(f"CREATE TABLE {_HOLDING} AS SELECT {names} FROM app_user")
    op.drop_table("app_user")  # its indexes go with it
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    ]
    if globally_unique:
        constraints.append(sa.UniqueConstraint("email"))
    op.create_table("app_user", *_columns(), *constraints)
    op.create_index("ix_app_user_account_id", "app_user", ["account_id"], unique=False)
    if not globally_unique:
        op.create_index(_INDEX, "app_user", ["email", "account_id"], unique=True)
    # With the global constraint back, a duplicate address fails here, and nothing changes.
    op.execute(f"INSERT INTO app_user ({names}) SELECT {names} FROM {_HOLDING}")
    op.drop_table(_HOLDING)
