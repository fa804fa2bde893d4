"""forecast snapshots: the day-ahead PV and load forecasts as issued

Revision ID: 0013_forecast_snapshots
Revises: 0012_knowledge
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_forecast_snapshots"
down_revision: str | None = "0012_knowledge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_snapshots",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pv_p10_w", sa.Float(), nullable=False),
        sa.Column("pv_p50_w", sa.Float(), nullable=False),
        sa.Column("pv_p90_w", sa.Float(), nullable=False),
        sa.Column("load_p10_w", sa.Float(), nullable=False),
        sa.Column("load_p50_w", sa.Float(), nullable=False),
        sa.Column("load_p90_w", sa.Float(), nullable=False),
        sa.Column("weather_source", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["site"], ["sites.name"], name=op.f("fk_forecast_snapshots_site_sites")
        ),
        sa.PrimaryKeyConstraint(
            "site", "issued_at", "target_hour", name=op.f("pk_forecast_snapshots")
        ),
    )


def downgrade() -> None:
    op.drop_table("forecast_snapshots")
