"""Multiple-choice answers: `answers.part` numbers each chosen value of one answer.

A `multiple: true` choice step stores one row per chosen value, `part` 1, 2, ... in the
flow's order of the choices; every other answer is `part` 0. The one-answer-per-step rule
becomes one row per step and part.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("part", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_answers_checkin_id_step_id", type_="unique")
        batch.create_unique_constraint(
            "uq_answers_checkin_id_step_id_part", ["checkin_id", "step_id", "part"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM answers WHERE part > 1")
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint("uq_answers_checkin_id_step_id_part", type_="unique")
        batch.create_unique_constraint("uq_answers_checkin_id_step_id", ["checkin_id", "step_id"])
        batch.drop_column("part")
