"""user alert rules: thresholds people set in chat, evaluated by the alert engine

Revision ID: 0021_user_alert_rules
Revises: 0020_ha_discovery
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_user_alert_rules"
down_revision: str | None = "0020_ha_discovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "user_alert_rules",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("comparator", sa.String(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("threshold_text", sa.String(length=64), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["site"], ["sites.name"], name=op.f("fk_user_alert_rules_site_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_alert_rules")),
    )
    op.create_index("ix_user_alert_rules_site", "user_alert_rules", ["site"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_alert_rules_site", table_name="user_alert_rules")
    op.drop_table("user_alert_rules")
