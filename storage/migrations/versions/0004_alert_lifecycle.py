"""alert lifecycle (pending, snooze, reminders, escalation, groups) and silences

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite so that the key is the autoincrementing ROWID.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("category", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("snoozed_by", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reminders", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("silenced_by", BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("message_key", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_alerts_message_key", ["message_key"], unique=False)
    op.create_table(
        "silences",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
    )


def downgrade() -> None:
    op.drop_table("silences")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_message_key")
        for column in (
            "message_key",
            "silenced_by",
            "escalated_at",
            "reminders",
            "last_notified_at",
            "snoozed_by",
            "snoozed_until",
            "fired_at",
            "evidence",
            "category",
        ):
            batch_op.drop_column(column)
