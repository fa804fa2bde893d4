"""ha discovery: the Home Assistant MQTT discovery topics the bot published

Revision ID: 0020_ha_discovery
Revises: 0019_forecast_calibration
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_ha_discovery"
down_revision: str | None = "0019_forecast_calibration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ha_discovery",
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("state_topics", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_ha_discovery")),
    )
    op.create_index(op.f("ix_ha_discovery_site"), "ha_discovery", ["site"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ha_discovery_site"), table_name="ha_discovery")
    op.drop_table("ha_discovery")
