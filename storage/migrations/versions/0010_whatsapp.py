"""WhatsApp as a channel, and each WhatsApp number's customer-service window.

`whatsapp` joins the channels a resident, a message, the outbox and a coordinator may use;
`whatsapp_windows` records when each WhatsApp number last wrote to us, because WhatsApp
allows free-form messages only within 24 hours of that (outside it, approved templates).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("sms", "telegram", "sim")
AFTER = ("sms", "whatsapp", "telegram", "sim")
# table -> the channels its CHECK allows besides the message channels
TABLES = {
    "unknown_senders": (),
    "channel_addresses": (),
    "checkins": ("import",),
    "messages": (),
    "answers": ("import",),
    "outbox": (),
}


def _listed(values: Sequence[str]) -> str:
    return "channel IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _set_channels(channels: Sequence[str], coordinator: Sequence[str]) -> None:
    for table, extra in TABLES.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_channel"), type_="check")
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_channel"), _listed((*channels, *extra))
            )
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(op.f("ck_users_channel"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_channel"), _listed(coordinator))


def upgrade() -> None:
    _set_channels(AFTER, ("sms", "whatsapp", "telegram"))
    op.create_table(
        "whatsapp_windows",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("last_inbound_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_whatsapp_windows")),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_windows")
    for table in ("outbox", "messages", "answers", "checkins", "channel_addresses"):
        op.execute(f"DELETE FROM {table} WHERE channel = 'whatsapp'")
    op.execute("DELETE FROM unknown_senders WHERE channel = 'whatsapp'")
    op.execute("UPDATE users SET channel = NULL, address = NULL WHERE channel = 'whatsapp'")
    _set_channels(BEFORE, ("sms", "telegram"))
