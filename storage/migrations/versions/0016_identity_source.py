"""chat identities: where each role came from (the site file or a grant in chat)

Revision ID: 0016_identity_source
Revises: 0015_action_recovery
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_identity_source"
down_revision: str | None = "0015_action_recovery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows from before this revision were written from the site file at start-up (or by
    # a chat grant that the next start-up overwrote): call them the site file's, so a
    # person since removed from the file loses the role at the next start.
    with op.batch_alter_table("chat_identities") as batch:
        batch.add_column(
            sa.Column(
                "role_source", sa.String(length=16), nullable=False, server_default="site_file"
            )
        )
        batch.add_column(
            sa.Column("granted_by", sa.String(length=200), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_identities") as batch:
        batch.drop_column("granted_by")
        batch.drop_column("role_source")
