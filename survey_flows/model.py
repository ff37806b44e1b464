"""The parsed form of a survey flow: plain frozen values that the engine and tools share.

`checks.flow` builds these from YAML; nothing here knows about files, databases or clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

StepType = Literal["scale", "number", "choice", "yes_no", "text"]
STEP_TYPES: tuple[str, ...] = ("scale", "number", "choice", "yes_no", "text")
# What a step's answer may set about the participant (`sets:`), and the step type each needs:
# `consent` (yes_no) decides whether they take part; `name` (text) is what to call them.
Sets = Literal["consent", "name"]
SETS_TYPES: dict[str, str] = {"consent": "yes_no", "name": "text"}
# The flow the host sends to everyone who joins; `flows check` requires its consent step.
JOINING_FLOW = "welcome"

# A text as staff wrote it, normalised to a mapping from language code to template source.
Text = dict[str, str]


def pick_text(text: Text, language: str | None, default_language: str) -> str:
    """The participant's own language, else the flow's language, else any translation."""
    if language and language in text:
        return text[language]
    if default_language in text:
        return text[default_language]
    return next(iter(text.values()))


@dataclass(frozen=True)
class Choice:
    """One option of a `choice` step: `value` is stored, `score` feeds a measure."""

    value: str
    label: Text
    score: float | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step of a flow: a `say` (no reply) or an `ask` (waits for a reply)."""

    id: str
    kind: Literal["say", "ask"]
    text: Text
    type: StepType | None = None
    min: float | None = None
    max: float | None = None
    choices: tuple[Choice, ...] = ()
    measure: str | None = None
    when: str | None = None
    optional: bool = False
    invalid: Text | None = None
    max_attempts: int = 3
    alert: str | None = None
    max_length: int | None = None
    multiple: bool = False  # a `choice` step that takes one or more of its options
    sets: Sets | None = None
    line: int = 0

    @property
    def asks(self) -> bool:
        return self.kind == "ask"


@dataclass(frozen=True)
class Band:
    """A named range of a measure's scale (e.g. ONS "low" life satisfaction, 0 to 4)."""

    label: str
    min: float
    max: float

    def contains(self, value: float) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True)
class Measure:
    """Metadata for a numeric measure tracked across check-ins.

    `reference_sd` is the standard deviation Jacobson-Truax uses for reliable change (from a
    published norm, named in `reference`); `bands` are ordered, non-overlapping ranges that
    cover the scale, for the share of people in each.
    """

    name: str
    label: str
    higher_is_better: bool = True
    reliability: float | None = None
    meaningful_change: float | None = None
    reference_sd: float | None = None
    reference: str | None = None
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class Schedule:
    """When a periodic check-in falls due, in the participant's local time."""

    every: Literal["day", "week", "fortnight", "month"] | None = None
    on: str | int | None = None  # weekday name for week/fortnight, day 1-28 for month
    at: str = "18:00"  # HH:MM local time
    cron: str | None = None  # standard cron: "MIN HOUR DOM MON DOW", Sunday = 0 or 7
    expires: timedelta | None = None
    reminders: tuple[timedelta, ...] = ()


@dataclass(frozen=True)
class Flow:
    """A validated survey flow. `version` is the content hash of its source text."""

    id: str
    title: str
    steps: tuple[Step, ...]
    language: str = "en"
    schedule: Schedule | None = None
    intro: Text | None = None
    outro: Text | None = None
    measures: dict[str, Measure] = field(default_factory=dict)
    version: str = ""
    source_path: str = ""
    source_text: str = ""

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def index_of(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)

    def step_setting(self, sets: str) -> Step | None:
        """The step whose answer sets `consent` or `name` (`sets:`), if the flow has one."""
        for step in self.steps:
            if step.sets == sets:
                return step
        return None

    def measure_label(self, name: str) -> str:
        measure = self.measures.get(name)
        return measure.label if measure else name.replace("_", " ").capitalize()
