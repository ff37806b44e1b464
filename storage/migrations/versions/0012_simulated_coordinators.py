"""Simulated coordinators: a coordinator's alerts and summaries may go to the simulator.

The Simulator page can play a coordinator: a `users` row whose contact is on the 'sim'
channel, so staff see alerts and summaries arrive through the real outbox without any
SMS or Telegram credentials. Only the users table's channel CHECK changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:15:00
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("sms", "whatsapp", "telegram")
AFTER = ("sms", "whatsapp", "telegram", "sim")


def _listed(values: Sequence[str]) -> str:
    return "channel IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _set_channels(channels: Sequence[str]) -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(op.f("ck_users_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_channel"), _listed(channels))


def upgrade() -> None:
    _set_channels(AFTER)


def downgrade() -> None:
    # Simulated coordinators have no sign-in: they go; their group links go with them.
    op.execute(
        "DELETE FROM user_groups WHERE user_id IN "
        "(SELECT id FROM users WHERE channel = 'sim' AND email IS NULL)"
    )
    op.execute("DELETE FROM users WHERE channel = 'sim' AND email IS NULL")
    op.execute("UPDATE users SET channel = NULL, address = NULL WHERE channel = 'sim'")
    _set_channels(BEFORE)
