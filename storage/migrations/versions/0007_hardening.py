"""Hardening: a hash-chained audit log and per-account/per-client sign-in lock rows.

- `audit_log.prev_hash` / `row_hash`: each entry's link to the one before it and the hash
  of its own content with that link (see `storage.audit`). Existing entries are chained
  here, in id order.
- `sign_in_locks`: one row per account and per client that a sign-in attempt holds while
  it counts its failure, so parallel attempts cannot overtake the limit.
- `web_sessions`: anonymous rows (from sign-in forms, before this version) are deleted;
  the sign-in form's token is now a cookie of its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.audit import GENESIS, chain_hash
from storage.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_locks",
        sa.Column("key", sa.String(length=330), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_locks")),
    )
    op.create_index(op.f("ix_sign_in_locks_used_at"), "sign_in_locks", ["used_at"], unique=False)
    op.execute("DELETE FROM web_sessions WHERE user_id IS NULL")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    previous = GENESIS
    rows = connection.execute(
        sa.text("SELECT id, at, actor, action, subject FROM audit_log ORDER BY id").columns(
            at=UTCDateTime()
        )
    ).all()
    for row_id, at, actor, action, subject in rows:
        row_hash = chain_hash(previous, at, actor, action, subject)
        connection.execute(
            sa.text("UPDATE audit_log SET prev_hash = :p, row_hash = :r WHERE id = :i"),
            {"p": previous, "r": row_hash, "i": row_id},
        )
        previous = row_hash
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_log_row_hash"), ["row_hash"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("uq_audit_log_row_hash"), type_="unique")
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
    op.drop_index(op.f("ix_sign_in_locks_used_at"), table_name="sign_in_locks")
    op.drop_table("sign_in_locks")
