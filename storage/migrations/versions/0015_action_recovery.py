"""action recovery: which worker executes a request, and until when its claim holds

Revision ID: 0015_action_recovery
Revises: 0014_readings_unique
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_action_recovery"
down_revision: str | None = "0014_readings_unique"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("executor", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("executor")
