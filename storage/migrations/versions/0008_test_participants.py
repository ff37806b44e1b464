"""Test participants: `participants.is_test` marks people whose answers are staff tests.

The Simulator's test participants (`external_ref` "simulator:<user id>") are marked at once;
reports, summaries and charts never count a test participant, and exports leave them out
unless asked for.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE participants SET is_test = TRUE WHERE external_ref LIKE 'simulator:%'")


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("is_test")
