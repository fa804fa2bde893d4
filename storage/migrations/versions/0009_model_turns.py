"""model turns: tokens, latency and estimated cost of each assistant turn

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite so that the key is the autoincrementing ROWID.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "model_turns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("thread_id", sa.String(length=300), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("model_calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("tokens_counted", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_turns")),
    )
    op.create_index("ix_model_turns_created_at", "model_turns", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_model_turns_created_at", table_name="model_turns")
    op.drop_table("model_turns")
