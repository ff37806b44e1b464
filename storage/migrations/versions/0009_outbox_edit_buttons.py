"""Outbox kind "edit_buttons": Telegram's editMessageReplyMarkup for a multiple choice.

A toggle press ticks the buttons on the question itself instead of sending a new message;
the edit goes through the outbox like every send (`body` the message id, `buttons` the new
keyboard, no `messages` row).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:50:00
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbox_kind"), "kind IN ('message', 'callback_answer', 'edit_buttons')"
        )


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE kind = 'edit_buttons'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbox_kind"), "kind IN ('message', 'callback_answer')"
        )
