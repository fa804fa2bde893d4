"""chat platforms: handled inbound events, multi-person approvals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite so that the key is the autoincrementing ROWID.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint("platform", "event_id", name=op.f("uq_inbound_events_platform")),
    )
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approvals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.drop_column("approvals")
    op.drop_table("inbound_events")
