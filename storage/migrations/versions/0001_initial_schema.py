"""Initial schema: every table of storage.models.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 11:35:13.738417
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)

    op.create_table(
        "clock_ticks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("process", sa.String(length=100), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("reminded", sa.Integer(), nullable=False),
        sa.Column("expired", sa.Integer(), nullable=False),
        sa.Column("released", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_ticks")),
    )
    op.create_index(op.f("ix_clock_ticks_at"), "clock_ticks", ["at"], unique=False)

    op.create_table(
        "flow_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=100), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_flow_versions")),
    )
    op.create_index(op.f("ix_flow_versions_flow_id"), "flow_versions", ["flow_id"], unique=False)

    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("join_code", sa.String(length=32), nullable=True),
        sa.Column("default_flow", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("join_code = upper(join_code)", name=op.f("ck_groups_join_code_upper")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("join_code", name=op.f("uq_groups_join_code")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )
    op.create_table(
        "unknown_senders",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("last_hint_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram', 'sim')", name=op.f("ck_unknown_senders_channel")
        ),
        sa.PrimaryKeyConstraint("channel", "address", name=op.f("pk_unknown_senders")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('staff', 'coordinator')", name=op.f("ck_users_role")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
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

    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_participants_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_participants_external_ref")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_participants_pseudonym")),
    )
    op.create_index(op.f("ix_participants_group_id"), "participants", ["group_id"], unique=False)

    op.create_table(
        "user_groups",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_user_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_groups_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_user_groups")),
    )
    op.create_index(op.f("ix_user_groups_group_id"), "user_groups", ["group_id"], unique=False)

    op.create_table(
        "channel_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram', 'sim')", name=op.f("ck_channel_addresses_channel")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_channel_addresses_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_addresses")),
        sa.UniqueConstraint(
            "channel", "address", name=op.f("uq_channel_addresses_channel_address")
        ),
    )
    op.create_index(
        op.f("ix_channel_addresses_participant_id"),
        "channel_addresses",
        ["participant_id"],
        unique=False,
    )

    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("flow_id", sa.String(length=100), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_enrolments_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_enrolments_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint(
            "participant_id", "flow_id", name=op.f("uq_enrolments_participant_id_flow_id")
        ),
    )
    op.create_index(
        "ix_enrolments_active_next_due_at", "enrolments", ["active", "next_due_at"], unique=False
    )
    op.create_index(op.f("ix_enrolments_group_id"), "enrolments", ["group_id"], unique=False)

    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("flow_id", sa.String(length=100), nullable=False),
        sa.Column("flow_version", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "state",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram', 'sim', 'import')", name=op.f("ck_checkins_channel")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'expired', 'stopped', 'superseded')",
            name=op.f("ck_checkins_status"),
        ),
        sa.CheckConstraint(
            "reminders_sent >= 0", name=op.f("ck_checkins_reminders_sent_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolments.id"], name=op.f("fk_checkins_enrolment_id_enrolments")
        ),
        sa.ForeignKeyConstraint(
            ["flow_version"],
            ["flow_versions.version"],
            name=op.f("fk_checkins_flow_version_flow_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_checkins_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint(
            "enrolment_id", "scheduled_for", name=op.f("uq_checkins_enrolment_id_scheduled_for")
        ),
    )
    op.create_index(op.f("ix_checkins_next_timer_at"), "checkins", ["next_timer_at"], unique=False)
    op.create_index(
        "ix_checkins_participant_id_started_at",
        "checkins",
        ["participant_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "uq_checkins_one_active",
        "checkins",
        ["participant_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.String(length=100), nullable=True),
        sa.Column("flow_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_by", sa.String(length=200), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_alerts_checkin_id_checkins")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_alerts_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_alerts_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("checkin_id", "step_id", name=op.f("uq_alerts_checkin_id_step_id")),
    )
    op.create_index(
        "ix_alerts_group_id_handled_at", "alerts", ["group_id", "handled_at"], unique=False
    )
    op.create_index(op.f("ix_alerts_participant_id"), "alerts", ["participant_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram', 'sim')", name=op.f("ck_messages_channel")
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', "
            "'undelivered', 'failed', 'cancelled')",
            name=op.f("ck_messages_status"),
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_messages_checkin_id_checkins")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_messages_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "channel",
            "direction",
            "provider_id",
            name=op.f("uq_messages_channel_direction_provider_id"),
        ),
    )
    op.create_index(op.f("ix_messages_checkin_id"), "messages", ["checkin_id"], unique=False)
    op.create_index(
        "ix_messages_participant_id_created_at",
        "messages",
        ["participant_id", "created_at"],
        unique=False,
    )

    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=100), nullable=False),
        sa.Column("flow_version", sa.String(length=64), nullable=False),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column(
            "value",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("measure", sa.String(length=100), nullable=True),
        sa.Column("raw_text", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram', 'sim', 'import')", name=op.f("ck_answers_channel")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_answers_checkin_id_checkins")
        ),
        sa.ForeignKeyConstraint(
            ["flow_version"],
            ["flow_versions.version"],
            name=op.f("fk_answers_flow_version_flow_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_answers_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_answers_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("checkin_id", "step_id", name=op.f("uq_answers_checkin_id_step_id")),
    )
    op.create_index(
        "ix_answers_flow_id_measure_participant_id_answered_at",
        "answers",
        ["flow_id", "measure", "participant_id", "answered_at"],
        unique=False,
    )
    op.create_index(op.f("ix_answers_participant_id"), "answers", ["participant_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "buttons",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.CheckConstraint("channel IN ('sms', 'telegram', 'sim')", name=op.f("ck_outbox_channel")),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_outbox_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_nonnegative")),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_outbox_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_message_id"), "outbox", ["message_id"], unique=False)
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")
    op.drop_index(op.f("ix_outbox_message_id"), table_name="outbox")

    op.drop_table("outbox")
    op.drop_index(op.f("ix_answers_participant_id"), table_name="answers")
    op.drop_index("ix_answers_flow_id_measure_participant_id_answered_at", table_name="answers")

    op.drop_table("answers")
    op.drop_index("ix_messages_participant_id_created_at", table_name="messages")
    op.drop_index(op.f("ix_messages_checkin_id"), table_name="messages")

    op.drop_table("messages")
    op.drop_index(op.f("ix_alerts_participant_id"), table_name="alerts")
    op.drop_index("ix_alerts_group_id_handled_at", table_name="alerts")

    op.drop_table("alerts")
    op.drop_index(
        "uq_checkins_one_active",
        table_name="checkins",
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index("ix_checkins_participant_id_started_at", table_name="checkins")
    op.drop_index(op.f("ix_checkins_next_timer_at"), table_name="checkins")

    op.drop_table("checkins")
    op.drop_index(op.f("ix_enrolments_group_id"), table_name="enrolments")
    op.drop_index("ix_enrolments_active_next_due_at", table_name="enrolments")

    op.drop_table("enrolments")
    op.drop_index(op.f("ix_channel_addresses_participant_id"), table_name="channel_addresses")

    op.drop_table("channel_addresses")
    op.drop_index(op.f("ix_user_groups_group_id"), table_name="user_groups")

    op.drop_table("user_groups")
    op.drop_index(op.f("ix_participants_group_id"), table_name="participants")

    op.drop_table("participants")
    op.drop_index(op.f("ix_coordinators_next_summary_at"), table_name="coordinators")

    op.drop_table("coordinators")
    op.drop_table("users")
    op.drop_table("unknown_senders")
    op.drop_table("groups")
    op.drop_index(op.f("ix_flow_versions_flow_id"), table_name="flow_versions")

    op.drop_table("flow_versions")
    op.drop_index(op.f("ix_clock_ticks_at"), table_name="clock_ticks")

    op.drop_table("clock_ticks")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")

    op.drop_table("audit_log")
