"""readings unique per (site, device, metric, time)

Concurrent flushes and retried batches used to store the same reading twice. The
duplicates already stored are removed (the first row written is kept) and a unique
index makes every later insert of the same reading a no-op.

Revision ID: 0014_readings_unique
Revises: 0013_forecast_snapshots
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_readings_unique"
down_revision: str | None = "0013_forecast_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_readings_site_device_metric_time"


def upgrade() -> None:
    # Keep the earliest row of each (site, device, metric, time); window functions
    # exist on PostgreSQL and on SQLite >= 3.25.
    op.execute(
        sa.text(
            "DELETE FROM readings WHERE id IN ("
            " SELECT id FROM ("
            "  SELECT id, row_number() OVER ("
            "   PARTITION BY site, device, metric, time ORDER BY id) AS n"
            "  FROM readings) AS ranked"
            " WHERE n > 1)"
        )
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index(INDEX, ["site", "device", "metric", "time"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
