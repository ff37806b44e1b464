"""Outbox kinds (messages and Telegram callback answers) and indexes for the ordered claim.

- `outbox.kind`: "message" (default, every existing row) or "callback_answer" (Telegram's
  answerCallbackQuery for a button press; `body` holds the callback_query_id).
- `outbox.message_id` becomes nullable: a callback answer is not a message to anyone.
- `ix_outbox_channel_address_status`: the claim only takes the head of each address's
  queue, a NOT EXISTS over (channel, address, status) that would otherwise scan the table.
- `ix_outbox_pending` (id, partial: status queued or sending) replaces
  `ix_outbox_status_not_before`: the claim walks the pending rows in queue order and stops
  after one batch, instead of sorting every due row on each claim (SQLite without
  statistics chose the old index and spent ~40 ms per claim on a 20,000-row queue,
  0.2 ms with this one), and its cost no longer depends on the length of the history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status IN ('queued', 'sending')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=24), nullable=False, server_default="message")
        )
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_outbox_kind"), "kind IN ('message', 'callback_answer')"
        )
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")
    op.create_index("ix_outbox_channel_address_status", "outbox", ["channel", "address", "status"])
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_index("ix_outbox_channel_address_status", table_name="outbox")
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    # Callback answers have no message and cannot survive message_id NOT NULL.
    op.execute("DELETE FROM outbox WHERE kind = 'callback_answer'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.alter_column("message_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("kind")
