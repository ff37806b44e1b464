"""Outbox kind "template" and status "held": WhatsApp's 24-hour window.

Outside the window WhatsApp takes only approved templates: the outbox sends one (kind
"template", `body` JSON naming the template and its variables) and holds the free-form
messages (status "held") until the person writes back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('message', 'callback_answer', 'edit_buttons')"
KINDS_AFTER = "kind IN ('message', 'callback_answer', 'edit_buttons', 'template')"
STATUSES_BEFORE = "status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')"
STATUSES_AFTER = "status IN ('queued', 'sending', 'sent', 'failed', 'cancelled', 'held')"


def _set(kinds: str, statuses: str) -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_kind"), kinds)
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_status"), statuses)


def upgrade() -> None:
    _set(KINDS_AFTER, STATUSES_AFTER)


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'cancelled' WHERE status = 'held'")
    op.execute("UPDATE outbox SET status = 'cancelled' WHERE kind = 'template'")
    op.execute("UPDATE outbox SET kind = 'message' WHERE kind = 'template'")
    _set(KINDS_BEFORE, STATUSES_BEFORE)
