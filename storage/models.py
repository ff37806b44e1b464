"""The database schema as SQLAlchemy 2 typed declarative models.

Conventions: integer surrogate keys; every datetime is an aware UTC `UTCDateTime`; enums are
plain strings guarded by CHECK constraints (values in the tuples below); JSON columns map
Python None to SQL NULL. Defaults are computed in Python so frozen test clocks apply.
The Alembic migrations in `storage/migrations` must match this module exactly (a test checks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from storage.pseudonyms import new_pseudonym
from storage.types import JSONType, UTCDateTime, utcnow

CHANNELS = ("sms", "whatsapp", "telegram", "sim")
# Answers and check-ins may also come from a file import (see `Participant.external_ref`).
ANSWER_CHANNELS = (*CHANNELS, "import")
# "sim": a coordinator the Simulator plays (alerts and summaries on the test phone).
COORDINATOR_CHANNELS = ("sms", "whatsapp", "telegram", "sim")
DIRECTIONS = ("in", "out")
CHECKIN_STATUSES = ("active", "completed", "expired", "stopped", "superseded")
MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "cancelled")
FLOW_SAVE_WAYS = ("folder", "import", "web")
# "held": a WhatsApp message waiting for the person to write (their 24-hour window is
# closed); it becomes "queued" when they do (`bot.delivery.whatsapp_window`).
OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "cancelled", "held")
OUTBOX_HELD = "held"
# "message": a message to a person (has a `messages` row); "callback_answer": Telegram's
# answerCallbackQuery for a button press (`body` holds the callback_query_id, no message);
# "edit_buttons": Telegram's editMessageReplyMarkup ticking a multiple choice's buttons on
# the question itself (`body` the message id, `buttons` the new keyboard, no message);
# "template": an approved WhatsApp template (`body` JSON: which template, its variables).
OUTBOX_KINDS = ("message", "callback_answer", "edit_buttons", "template")
# The predicate of the partial index of rows still to send; a query must spell it exactly
# so (with literals, not parameters) for the databases to use that index.
OUTBOX_PENDING_SQL = "status IN ('queued', 'sending')"
#: The same states as a tuple, for `status.in_(...)` where no index is at stake.
OUTBOX_PENDING = ("queued", "sending")
ROLES = ("staff", "coordinator")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; the naming convention keeps constraint names stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType}  # noqa: RUF012


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for prepared statements (SQLAlchemy types `__table__` only as
    a FromClause, which `insert` and `update` do not take)."""
    return cast(Table, model.__table__)


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """CHECK that `column` holds one of `values` (NULL passes, as with any CHECK)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name or column)


class Group(Base):
    """A group of participants (a street, a project); `join_code` lets residents self-enrol."""

    __tablename__ = "groups"
    __table_args__ = (CheckConstraint("join_code = upper(join_code)", name="join_code_upper"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    join_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    default_flow: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("join_code")
    def _upper_join_code(self, _key: str, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None


class Participant(Base):
    """A resident. Staff see the pseudonym; contact details live in `channel_addresses`."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True, default=new_pseudonym)
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None]
    external_ref: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    forgotten_at: Mapped[datetime | None]
    # A staff test (the Simulator's test phone, or marked by staff): never in any report.
    is_test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    group: Mapped[Group | None] = relationship()
    addresses: Mapped[list[ChannelAddress]] = relationship(back_populates="participant")


class UnknownSender(Base):
    """An address we have no participant for; remembers when we last sent join instructions."""

    __tablename__ = "unknown_senders"
    __table_args__ = (one_of("channel", CHANNELS),)

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_hint_at: Mapped[datetime]


class ChannelAddress(Base):
    """How to reach a participant: E.164 phone, Telegram chat id, or simulator id."""

    __tablename__ = "channel_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"), one_of("channel", CHANNELS))

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))

    participant: Mapped[Participant] = relationship(back_populates="addresses")


class Enrolment(Base):
    """A participant's subscription to a flow; the clock claims rows whose `next_due_at` passed."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("participant_id", "flow_id"),
        Index("ix_enrolments_active_next_due_at", "active", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    flow_id: Mapped[str] = mapped_column(String(100))
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_due_at: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship()


class FlowVersion(Base):
    """The exact source of every flow version a check-in ever ran (content-addressed)."""

    __tablename__ = "flow_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    flow_id: Mapped[str] = mapped_column(String(100), index=True)
    source_text: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFlow(Base):
    """The flow every process runs now: the latest saved version of each flow id.

    One row per flow id; a save updates it under its row lock, so concurrent saves from
    different machines queue instead of losing one another.
    """

    __tablename__ = "flows"

    flow_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("flow_versions.version"))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by: Mapped[str] = mapped_column(String(200))


class FlowSave(Base):
    """Every save of a flow: which version, who saved it, when and how (history of `flows`)."""

    __tablename__ = "flow_saves"
    __table_args__ = (one_of("how", FLOW_SAVE_WAYS),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(ForeignKey("flow_versions.version"))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by: Mapped[str] = mapped_column(String(200))
    how: Mapped[str] = mapped_column(String(20))


class SendLimit(Base):
    """One sender limit shared by every worker: the earliest time its next send may go.

    `next_at` is seconds since the epoch on the database's clock (see
    `storage.send_limits`; production shares limits on PostgreSQL only). `key` names the
    limit, hashed when it includes a recipient.
    """

    __tablename__ = "send_limits"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


class Checkin(Base):
    """One run of a flow with one participant; `state` is the engine's conversation state.

    At most one active check-in per participant (partial unique index), and a scheduled
    check-in starts at most once per due time (unique enrolment_id + scheduled_for).
    """

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "scheduled_for"),
        Index(
            "uq_checkins_one_active",
            "participant_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_checkins_participant_id_started_at", "participant_id", "started_at"),
        one_of("status", CHECKIN_STATUSES),
        one_of("channel", ANSWER_CHANNELS),
        CheckConstraint("reminders_sent >= 0", name="reminders_sent_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"))
    flow_id: Mapped[str] = mapped_column(String(100))
    flow_version: Mapped[str] = mapped_column(ForeignKey("flow_versions.version"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None]
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)

    participant: Mapped[Participant] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="checkin")


class Answer(Base):
    """One answered step. `value` is int/float/str/bool/None; `score` feeds `measure`.

    A `multiple: true` choice is one row per chosen value, `part` 1, 2, ... (in the flow's
    order of the choices); every other answer, and a multiple choice with nothing chosen,
    is the one row with `part` 0.
    """

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("checkin_id", "step_id", "part"),
        Index(
            "ix_answers_flow_id_measure_participant_id_answered_at",
            "flow_id",
            "measure",
            "participant_id",
            "answered_at",
        ),
        one_of("channel", ANSWER_CHANNELS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    flow_id: Mapped[str] = mapped_column(String(100))
    flow_version: Mapped[str] = mapped_column(ForeignKey("flow_versions.version"))
    step_id: Mapped[str] = mapped_column(String(100))
    part: Mapped[int] = mapped_column(default=0, server_default="0")
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    score: Mapped[float | None] = mapped_column(Float)
    measure: Mapped[str | None] = mapped_column(String(100))
    raw_text: Mapped[str | None] = mapped_column(Text)  # erased on forget
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))

    checkin: Mapped[Checkin] = relationship(back_populates="answers")


class Message(Base):
    """Every message in or out. Inbound rows are deduplicated on the provider's id."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "provider_id"),
        Index("ix_messages_participant_id_created_at", "participant_id", "created_at"),
        one_of("direction", DIRECTIONS),
        one_of("channel", CHANNELS),
        one_of("status", MESSAGE_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    body: Mapped[str | None] = mapped_column(Text)  # erased on forget
    provider_id: Mapped[str | None] = mapped_column(String(64))  # MessageSid / update_id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(16))  # outbound delivery status
    error_code: Mapped[str | None] = mapped_column(String(32))


class OutboxItem(Base):
    """A send waiting for a worker: claimed with a lease, retried with backoff, sent once.

    `kind` "callback_answer" rows acknowledge a Telegram button press; they have no
    `message_id`. `ix_outbox_pending` holds only rows still to send, so a claim costs the
    same however long the history; the (channel, address, status) index serves the claim's
    "no earlier pending row for this address" check.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # Pending rows in queue order: the claim walks this and stops after a batch.
        Index(
            "ix_outbox_pending",
            "id",
            sqlite_where=text(OUTBOX_PENDING_SQL),
            postgresql_where=text(OUTBOX_PENDING_SQL),
        ),
        Index("ix_outbox_channel_address_status", "channel", "address", "status"),
        one_of("status", OUTBOX_STATUSES),
        one_of("channel", CHANNELS),
        one_of("kind", OUTBOX_KINDS),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24), default="message", server_default="message")
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType)  # [{value, label}]
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG chart
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)  # quiet hours, backoff
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]  # lease end
    provider_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    message: Mapped[Message | None] = relationship()


class Alert(Base):
    """An answer that a coordinator should look at (a step with `alert:`), raised once."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("checkin_id", "step_id"),
        Index("ix_alerts_group_id_handled_at", "group_id", "handled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"))
    step_id: Mapped[str | None] = mapped_column(String(100))
    flow_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(200))
    handled_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """A person on the team: signs in to the web app (email, password) and, as a
    coordinator, hears about their groups (alerts at once, a weekly summary) by SMS or
    Telegram. Coordinators see only their groups (`user_groups`). Someone added only to
    receive messages (`coordinators add`) has no email or password and cannot sign in.
    """

    __tablename__ = "users"
    __table_args__ = (
        one_of("role", ROLES),
        one_of("channel", COORDINATOR_CHANNELS),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint("summary_weekday BETWEEN 0 AND 6", name="summary_weekday_range"),
        CheckConstraint("(channel IS NULL) = (address IS NULL)", name="channel_with_address"),
        CheckConstraint("email IS NOT NULL OR channel IS NOT NULL", name="reachable"),
        UniqueConstraint("channel", "address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(16))  # alerts and summaries go here
    address: Mapped[str | None] = mapped_column(String(64))
    summary_weekday: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # 0 = Monday
    summary_time: Mapped[str] = mapped_column(
        String(5), default="09:00", server_default="09:00"
    )  # HH:MM local
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; None: deployment's
    next_summary_at: Mapped[datetime | None] = mapped_column(index=True)

    groups: Mapped[list[Group]] = relationship(secondary="user_groups")

    @validates("email")
    def _lower_email(self, _key: str, value: str | None) -> str | None:
        return None if value is None else value.strip().lower()

    @property
    def shown_name(self) -> str:
        """How the app names them: their name, else their email, else their address."""
        return self.name or self.email or f"{self.channel} {self.address}"


class UserGroup(Base):
    """Which groups a user may see."""

    __tablename__ = "user_groups"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditEntry(Base):
    """Who did what sensitive thing, e.g. `revealed phone of P-XXXXXX`.

    Append-only and hash-chained (`storage.audit`): each row stores the hash of the row
    before it (`prev_hash`) and of its own content with that link (`row_hash`), so an
    edited, deleted or inserted row breaks the chain that `groundswell audit verify` walks.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)


class WhatsAppWindow(Base):
    """When a WhatsApp number last wrote to us: free-form messages may go only within 24
    hours of it (WhatsApp's customer-service window); outside it only an approved template.

    Keyed by the E.164 number, so it serves residents and coordinators alike.
    """

    __tablename__ = "whatsapp_windows"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_inbound_at: Mapped[datetime]


class ClockTick(Base):
    """One row per clock tick: what it did. The health page shows the latest."""

    __tablename__ = "clock_ticks"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    process: Mapped[str] = mapped_column(String(100))
    started: Mapped[int] = mapped_column(Integer, default=0)
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)
    released: Mapped[int] = mapped_column(Integer, default=0)


class WebSession(Base):
    """A browser's session with the web app; the cookie holds a random token, this row its
    SHA-256, so a copy of the database cannot be replayed as a cookie.

    `user_id` is NULL before sign-in (the row then only carries the sign-in form's CSRF
    token); signing in replaces the row with a new one, so a token planted before sign-in
    is worth nothing after it. Signing out deletes the row.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SignInFailure(Base):
    """One failed sign-in: counted per email and per client address to slow down guessing."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_email_at", "email", "at"),
        Index("ix_sign_in_failures_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))


class SignInLock(Base):
    """A row per account (`account:EMAIL`) and client (`client:ADDRESS`) that a sign-in
    attempt holds while it counts and records its failure, so parallel attempts queue."""

    __tablename__ = "sign_in_locks"

    key: Mapped[str] = mapped_column(String(330), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# Chains every new AuditEntry as it is flushed (storage.audit imports this module).
import storage.audit  # noqa: E402, F401
