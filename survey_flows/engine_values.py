"""The plain values the engine takes and returns: state, events, context and outcome.

A conversation's state is small and JSON-serialisable, so the host can keep it in a
database column and pick it up in any process after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["new", "active", "completed", "expired", "stopped"]
Value = int | float | str | bool | list[str] | None  # a list: a `multiple: true` choice


@dataclass(frozen=True)
class Conversation:
    """Where one check-in stands. `flow_version` pins the flow it started on."""

    flow_id: str
    flow_version: str
    status: Status = "new"
    waiting_for: str | None = None  # id of the step whose reply we wait for
    attempts: int = 0  # unreadable replies to the waiting step so far
    answers: dict[str, Value] = field(default_factory=dict)
    language: str | None = None
    started_at: str | None = None  # ISO 8601, UTC
    asked_at: str | None = None  # when the waiting question was last asked (not reminded)
    reminders_sent: int = 0
    picked: list[str] = field(default_factory=list)  # buttons pressed so far (multiple choice)

    @property
    def open(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict: this runs for every check-in started.
        data = {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "answers": dict(self.answers),
            "picked": list(self.picked),
        }
        if not self.picked:
            del data["picked"]  # kept only while a multiple choice is being picked
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conversation:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def evolve(self, **changes: Any) -> Conversation:
        """A copy with some fields changed (dataclasses.replace, without its per-call cost:
        the engine makes several copies for every reply)."""
        unknown = changes.keys() - self.__dataclass_fields__.keys()
        if unknown:
            raise TypeError(f"Conversation has no field(s) {sorted(unknown)}")
        copy = object.__new__(Conversation)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """Begin the check-in: send the intro and the first question."""


@dataclass(frozen=True)
class Reply:
    """A message from the participant; `button` is the data of a pressed button, if any."""

    text: str
    button: str | None = None


@dataclass(frozen=True)
class ReminderDue:
    """No reply came in time: ask the waiting question again."""


@dataclass(frozen=True)
class Expire:
    """The check-in's time is up: close it as incomplete with the answers given so far."""


Event = Start | Reply | ReminderDue | Expire


# --- context ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    """What the engine may know of the person: no phone numbers, no database ids."""

    id: str = ""  # pseudonymous id, e.g. P-7F3K2Q
    name: str | None = None
    language: str | None = None
    opted_out: bool = False
    previous: Mapping[str, Value] = field(default_factory=dict)  # last completed check-in


@dataclass(frozen=True)
class ChannelTraits:
    """What the channel does by itself, so the engine neither repeats nor omits it."""

    confirms_opt_out: bool = False  # Twilio long codes answer STOP themselves
    buttons: bool = False  # options show as buttons (Telegram): multiple choice ends with Done


# --- outcome ---------------------------------------------------------------------------

MessageKind = Literal[
    "intro", "question", "say", "invalid", "notice",
    "help", "reminder", "outro", "opt_out", "opt_in",
]  # fmt: skip


@dataclass(frozen=True)
class Option:
    """A choice the channel may offer as a button; pressing it sends `value`."""

    value: str
    label: str


@dataclass(frozen=True)
class Outgoing:
    """One message to send. `options` become buttons; `numbered` lists them on SMS;
    `updates_pressed` marks new buttons for the message whose button was just pressed."""

    text: str
    kind: MessageKind
    step_id: str | None = None
    options: tuple[Option, ...] = ()
    numbered: bool = False
    # A toggle press's new buttons: a channel that can edit the pressed message's buttons
    # (Telegram) does that instead of sending this as a new message.
    updates_pressed: bool = False


@dataclass(frozen=True)
class RecordedAnswer:
    """An answer to store. `value` None means skipped or unanswered after max_attempts.

    A `multiple: true` choice gives one RecordedAnswer per chosen value, `part` 1, 2, ...
    in the flow's order of the choices; every other answer (and a multiple choice with
    nothing chosen) is `part` 0.
    """

    step_id: str
    value: Value
    score: float | None
    measure: str | None
    raw_text: str | None
    answered_at: datetime
    skipped: bool = False
    part: int = 0


@dataclass(frozen=True)
class RaisedAlert:
    """A step's `alert` condition held: the coordinators of the group must hear of it."""

    step_id: str
    condition: str


@dataclass(frozen=True)
class Outcome:
    """What one event did: the new state plus everything the host must apply.

    `consent` and `name` are set when the check-in completes in this event and its flow has
    a step marked `sets: consent` / `sets: name` (see `engine`); `next_timer_at` is when
    the host must wake the conversation next (None: never).
    """

    state: Conversation
    messages: tuple[Outgoing, ...] = ()
    answers: tuple[RecordedAnswer, ...] = ()
    alerts: tuple[RaisedAlert, ...] = ()
    opted_out: bool = False
    opted_in: bool = False
    consent: bool | None = None
    name: str | None = None
    next_timer_at: datetime | None = None
