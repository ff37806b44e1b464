"""Scale-out: flows kept in the database, and sender limits shared by every worker.

- `flows`: the version of each flow id every process runs now (who saved it, when).
- `flow_saves`: every save of a flow (folder import, `flows import`, the web editor).
- `send_limits`: one row per sender limit, the earliest time the next send may go
  (taken under a row lock by every worker on PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("flow_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"], ["flow_versions.version"], name=op.f("fk_flows_version_flow_versions")
        ),
        sa.PrimaryKeyConstraint("flow_id", name=op.f("pk_flows")),
    )
    op.create_table(
        "flow_saves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.String(length=200), nullable=False),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.CheckConstraint("how IN ('folder', 'import', 'web')", name=op.f("ck_flow_saves_how")),
        sa.ForeignKeyConstraint(
            ["version"],
            ["flow_versions.version"],
            name=op.f("fk_flow_saves_version_flow_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_saves")),
    )
    op.create_index(op.f("ix_flow_saves_flow_id"), "flow_saves", ["flow_id"], unique=False)
    op.create_table(
        "send_limits",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_limits")),
    )


def downgrade() -> None:
    op.drop_table("send_limits")
    op.drop_index(op.f("ix_flow_saves_flow_id"), table_name="flow_saves")
    op.drop_table("flow_saves")
    op.drop_table("flows")
