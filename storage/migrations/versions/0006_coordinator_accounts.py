"""One coordinator: the web user and the alert/summary recipient become one `users` row.

`users` gains a name, a contact (channel and address, for alerts and the weekly summary)
and the summary calendar (weekday, time, time zone, next due); email and password become
optional, for someone who only receives messages. Every `coordinators` row is carried over:
rows with the same contact become one user in all of their groups (`user_groups`), keeping
the first row's name and calendar. Then `coordinators` goes. The downgrade reverses it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERS = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("email", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("role", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("name", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("address", sa.String()),
    sa.column("summary_weekday", sa.Integer()),
    sa.column("summary_time", sa.String()),
    sa.column("timezone", sa.String()),
    sa.column("next_summary_at", sa.DateTime(timezone=True)),
)
_USER_GROUPS = sa.table("user_groups", sa.column("user_id"), sa.column("group_id"))
_CALENDAR = ("summary_weekday", "summary_time", "timezone", "next_summary_at")


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if op.get_bind().dialect.name == "sqlite" else now


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)
        batch_op.alter_column("password_hash", existing_type=sa.String(length=255), nullable=True)
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("summary_weekday", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("summary_time", sa.String(length=5), nullable=False, server_default="09:00")
        )
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("next_summary_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f("ck_users_channel"), "channel IN ('sms', 'telegram')")
        batch_op.create_check_constraint(
            op.f("ck_users_summary_weekday_range"), "summary_weekday BETWEEN 0 AND 6"
        )
        batch_op.create_check_constraint(
            op.f("ck_users_channel_with_address"), "(channel IS NULL) = (address IS NULL)"
        )
        batch_op.create_check_constraint(
            op.f("ck_users_reachable"), "email IS NOT NULL OR channel IS NOT NULL"
        )
        batch_op.create_unique_constraint(op.f("uq_users_channel_address"), ["channel", "address"])
        batch_op.create_index(op.f("ix_users_next_summary_at"), ["next_summary_at"])

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT name, channel, address, group_id, summary_weekday, summary_time, "
            "timezone, next_summary_at FROM coordinators ORDER BY id"
        )
    ).all()
    made: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.channel, row.address)
        if key not in made:
            values = {
                "role": "coordinator",
                "created_at": _now(),
                "name": row.name,
                "channel": row.channel,
                "address": row.address,
                **{column: getattr(row, column) for column in _CALENDAR},
            }
            made[key] = bind.execute(
                sa.insert(_USERS).values(**values).returning(_USERS.c.id)
            ).scalar_one()
        bind.execute(sa.insert(_USER_GROUPS).values(user_id=made[key], group_id=row.group_id))
    op.drop_index(op.f("ix_coordinators_next_summary_at"), table_name="coordinators")
    op.drop_table("coordinators")


def downgrade() -> None:
    op.create_table(
        "coordinators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("summary_weekday", sa.Integer(), nullable=False),
        sa.Column("summary_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("next_summary_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'telegram')", name=op.f("ck_coordinators_channel")),
        sa.CheckConstraint(
            "summary_weekday BETWEEN 0 AND 6", name=op.f("ck_coordinators_summary_weekday_range")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_coordinators_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordinators")),
        sa.UniqueConstraint(
            "group_id", "channel", "address", name=op.f("uq_coordinators_group_id_channel_address")
        ),
    )
    op.create_index(
        op.f("ix_coordinators_next_summary_at"), "coordinators", ["next_summary_at"], unique=False
    )
    op.execute(
        "INSERT INTO coordinators (name, channel, address, group_id, summary_weekday, "
        "summary_time, timezone, next_summary_at) "
        "SELECT COALESCE(u.name, u.email, u.address), u.channel, u.address, ug.group_id, "
        "u.summary_weekday, u.summary_time, u.timezone, u.next_summary_at "
        "FROM users u JOIN user_groups ug ON ug.user_id = u.id WHERE u.channel IS NOT NULL"
    )
    op.execute(
        "DELETE FROM user_groups WHERE user_id IN "
        "(SELECT id FROM users WHERE email IS NULL OR password_hash IS NULL)"
    )
    op.execute(
        "DELETE FROM web_sessions WHERE user_id IN "
        "(SELECT id FROM users WHERE email IS NULL OR password_hash IS NULL)"
    )
    op.execute("DELETE FROM users WHERE email IS NULL OR password_hash IS NULL")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_index(op.f("ix_users_next_summary_at"))
        batch_op.drop_constraint(op.f("uq_users_channel_address"), type_="unique")
        batch_op.drop_constraint(op.f("ck_users_reachable"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_channel_with_address"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_summary_weekday_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_users_channel"), type_="check")
        for column in ("next_summary_at", "timezone", "summary_time", "summary_weekday"):
            batch_op.drop_column(column)
        for column in ("address", "channel", "name"):
            batch_op.drop_column(column)
        batch_op.alter_column("password_hash", existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
