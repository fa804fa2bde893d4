"""forecast calibration: the model's own P10/P90 beside the calibrated band in snapshots

The bands a forecast is issued with are calibrated on the site's own past errors
against the model's band; to calibrate again later, the model's band as issued is
kept too (NULL in rows stored before this revision: their band was the model's).

Revision ID: 0019_forecast_calibration
Revises: 0016_identity_source
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_forecast_calibration"
down_revision: str | None = "0016_identity_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("pv_model_p10_w", "pv_model_p90_w", "load_model_p10_w", "load_model_p90_w")


def upgrade() -> None:
    with op.batch_alter_table("forecast_snapshots") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forecast_snapshots") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
