"""The survey engine: a pure function from (flow, state, event, context, now) to an outcome.

Like RapidPro's goflow, it touches no database, network or clock: the host loads the
state, calls `advance`, and applies the outcome (store answers, queue messages, raise
alerts) in one transaction. Any text from a resident is safe to pass in: nothing raises.

The outcome says everything the host must do, so the host never asks twice or reads the
answers itself:
- `next_timer_at`: when to wake the conversation next (None: no timer), so the host does
  not call `next_timer` after `advance`;
- `opted_out` / `opted_in`: STOP or START was said;
- `consent` / `name` (like goflow's modifiers): when the check-in completes in this event,
  the answer of the step marked `sets: consent` (True only for YES; a skipped or refused
  consent is False) and of the step marked `sets: name` (None when not given). A flow
  without such a step reports None. The host enrols on consent, opts out on its refusal,
  and keeps the name. The welcome flow (the one sent to new joiners) must have a
  `sets: consent` step; `flows check` enforces it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from survey_flows import expressions
from survey_flows.engine_values import (
    ChannelTraits,
    Conversation,
    Event,
    Expire,
    MessageKind,
    Option,
    Outcome,
    Outgoing,
    Participant,
    RaisedAlert,
    RecordedAnswer,
    ReminderDue,
    Reply,
    Start,
)
from survey_flows.keywords import Keyword, classify
from survey_flows.languages import system_text
from survey_flows.model import Flow, Step, Text, pick_text
from survey_flows.reading import Reading, default_invalid_text, read_button, read_reply

MAX_STORED_REPLY = 4000  # characters of a raw reply kept beside an answer
#: The value of the Done button under a multiple choice question on button channels. A
#: choice's value starting with "#" is sent as its position, so this names no choice; nor
#: does it read as a number, so a late press cannot answer the next question.
DONE = "#done"
PLAIN_CHANNEL = ChannelTraits()
_NO_CHECKIN = Conversation(flow_id="", flow_version="")


def new_conversation(flow: Flow) -> Conversation:
    """A conversation that has not started yet, pinned to this version of the flow."""
    return Conversation(flow_id=flow.id, flow_version=flow.version)


def advance(
    flow: Flow,
    state: Conversation,
    event: Event,
    participant: Participant,
    now: datetime,
    channel: ChannelTraits = PLAIN_CHANNEL,
) -> Outcome:
    """Apply one event to one conversation and say what follows from it."""
    if state.flow_version and flow.version and state.flow_version != flow.version:
        raise ValueError(
            f"conversation is on version {state.flow_version[:12]} of '{flow.id}', "
            f"not {flow.version[:12]}: load the version it started on"
        )
    turn = _Turn(flow, state, participant, now, channel)
    if isinstance(event, Start):
        turn.start()
    elif isinstance(event, Reply):
        turn.reply(event)
    elif isinstance(event, ReminderDue):
        turn.remind()
    elif isinstance(event, Expire):
        turn.expire()
    return turn.outcome()


def reply_without_checkin(
    event: Reply, participant: Participant, now: datetime, channel: ChannelTraits = PLAIN_CHANNEL
) -> Outcome:
    """A message when no check-in is open: STOP, START and HELP still work; the rest waits.

    The outcome's state is a placeholder; only its messages and opt-in/out flags matter.
    """
    turn = _Turn(None, _NO_CHECKIN, participant, now, channel)
    turn.reply(event)
    return turn.outcome()


def next_timer(flow: Flow, state: Conversation) -> tuple[datetime, Event] | None:
    """When the host must next wake this conversation, and with which event."""
    if not state.open or flow.schedule is None or state.started_at is None:
        return None
    expires_at = (
        datetime.fromisoformat(state.started_at) + flow.schedule.expires
        if flow.schedule.expires
        else None
    )
    reminders = flow.schedule.reminders
    if state.waiting_for and state.asked_at and state.reminders_sent < len(reminders):
        remind_at = datetime.fromisoformat(state.asked_at) + reminders[state.reminders_sent]
        if expires_at is None or remind_at < expires_at:
            return remind_at, ReminderDue()
    if expires_at is not None:
        return expires_at, Expire()
    return None


def due_event(flow: Flow, state: Conversation, now: datetime) -> Event | None:
    """The timer event due by `now`, if any. Expiry wins: a late clock never sends a
    reminder for a check-in that has already run out of time."""
    timer = next_timer(flow, state)
    if timer is None or timer[0] > now:
        return None
    if isinstance(timer[1], ReminderDue) and flow.schedule and flow.schedule.expires:
        assert state.started_at is not None  # next_timer returns None for unstarted states
        if now >= datetime.fromisoformat(state.started_at) + flow.schedule.expires:
            return Expire()
    return timer[1]


class _Turn:
    """The working of one `advance` call: collects messages, answers and alerts."""

    def __init__(
        self,
        flow: Flow | None,
        state: Conversation,
        participant: Participant,
        now: datetime,
        channel: ChannelTraits,
    ) -> None:
        # `flow` is None only for replies outside a check-in, which never reach a step.
        self.flow: Flow = flow  # type: ignore[assignment]
        self.state, self.participant = state, participant
        self.now, self.channel = now, channel
        self.messages: list[Outgoing] = []
        self.answers: list[RecordedAnswer] = []
        self.alerts: list[RaisedAlert] = []
        self.opted_out = self.opted_in = False
        self.was_open = state.status in ("new", "active")

    def outcome(self) -> Outcome:
        consent = name = None
        if self.flow is not None and self.was_open and self.state.status == "completed":
            answers = self.state.answers
            consent_step = self.flow.step_setting("consent")
            if consent_step is not None:
                consent = answers.get(consent_step.id) is True
            name_step = self.flow.step_setting("name")
            if name_step is not None and answers.get(name_step.id):
                name = str(answers[name_step.id])
        timer = next_timer(self.flow, self.state) if self.flow is not None else None
        return Outcome(
            state=self.state,
            messages=tuple(self.messages),
            answers=tuple(self.answers),
            alerts=tuple(self.alerts),
            opted_out=self.opted_out,
            opted_in=self.opted_in,
            consent=consent,
            name=name,
            next_timer_at=timer[0] if timer else None,
        )

    # --- events ------------------------------------------------------------------------

    def start(self) -> None:
        if self.state.status != "new" or self.participant.opted_out:
            return
        self.state = self.state.evolve(
            status="active",
            language=self.participant.language,
            started_at=self.now.isoformat(),
            answers={},
        )
        if self.flow.intro:
            self.send(self.text(self.flow.intro), "intro")
        self.run_from(0)

    def reply(self, event: Reply) -> None:
        opted_out = self.participant.opted_out
        keyword = None if event.button else classify(event.text, opted_out=opted_out)
        if opted_out:
            if keyword is Keyword.START:
                self.opted_in = True
                self.send(self.system("opted_in"), "opt_in")
            return
        if keyword is Keyword.STOP:
            self.opted_out = True
            if self.state.open:
                self.state = self.state.evolve(status="stopped", waiting_for=None)
            if not self.channel.confirms_opt_out:
                self.send(self.system("opted_out"), "opt_out")
            return
        if keyword is Keyword.HELP:
            self.send(self.system("help"), "help")
            waiting = self.waiting_step()
            if waiting is not None:
                self.ask(waiting, "question", fresh=False)
            return
        step = self.waiting_step()
        if step is None:
            return  # nothing open: the host decides what an unprompted message means
        if keyword is Keyword.SKIP:
            if step.optional:
                self.record(step, None, None, event.text, skipped=True)
                self.run_from(self.flow.index_of(step.id) + 1)
            else:
                self.send(self.system("cannot_skip"), "notice", step.id)
            return
        if keyword is Keyword.START:
            self.ask(step, "question", fresh=False)
            return
        if event.button is not None and step.multiple:
            self.press(step, event.button)
            return
        if event.button is not None and step.type == "text":
            # A button from an earlier question (a late or double press) is never a story.
            self.ask(step, "question", fresh=False)
            return
        reading = (
            read_button(step, event.button)
            if event.button is not None
            else read_reply(step, event.text, self.state.language)
        )
        self.answer(step, reading, event.text)

    def press(self, step: Step, data: str) -> None:
        """A button under a multiple choice: toggle its option, or Done to answer."""
        shown = self.options(step)
        index = data[1:]
        if data.startswith("#") and index.isascii() and index.isdigit() and len(index) < 4 \
                and 1 <= int(index) <= len(shown):  # fmt: skip
            data = shown[int(data[1:]) - 1].value  # Telegram sends long values by position
        if data == DONE:
            if self.state.picked:
                chosen = [c.value for c in step.choices if c.value in self.state.picked]
                self.answer(step, Reading.answer(chosen, None), ", ".join(chosen))
            else:
                self.send(self.system("pick_first"), "notice", step.id, shown)
            return
        if not any(c.value == data for c in step.choices):
            self.answer(step, read_reply(step, data, self.state.language), data)
            return
        picked = [v for v in self.state.picked if v != data]
        if len(picked) == len(self.state.picked):
            picked.append(data)
        self.state = self.state.evolve(picked=picked)
        labels = [o.label for o in _options(step, self.state.language, self.flow.language)]
        named = [label for c, label in zip(step.choices, labels, strict=True) if c.value in picked]
        text = (
            self.system("picked", chosen=", ".join(named)) if named else self.system("pick_first")
        )
        self.send(text, "question", step.id, self.options(step), updates_pressed=True)

    def remind(self) -> None:
        step = self.waiting_step()
        if step is None or self.participant.opted_out:
            return
        self.state = self.state.evolve(reminders_sent=self.state.reminders_sent + 1)
        self.ask(step, "reminder", fresh=False)

    def expire(self) -> None:
        if self.state.open:
            self.state = self.state.evolve(status="expired", waiting_for=None)

    # --- moving through the steps ------------------------------------------------------

    def waiting_step(self) -> Step | None:
        if not self.state.open or self.state.waiting_for is None:
            return None
        try:
            return self.flow.step(self.state.waiting_for)
        except KeyError:
            return None

    def answer(self, step: Step, reading: Reading, raw: str) -> None:
        if reading.ok:
            self.record(step, reading.value, reading.score, raw)
            self.run_from(self.flow.index_of(step.id) + 1)
            return
        attempts = self.state.attempts + 1
        if attempts >= step.max_attempts:
            self.record(step, None, None, raw)
            self.run_from(self.flow.index_of(step.id) + 1)
            return
        self.state = self.state.evolve(attempts=attempts)
        self.send(self.invalid_text(step, reading), "invalid", step.id)

    def record(
        self, step: Step, value: Any, score: float | None, raw: str, skipped: bool = False
    ) -> None:
        if step.multiple and value is None:
            value = []  # nothing chosen: `'x' in answers.ID` still works in conditions
        self.state = self.state.evolve(
            answers={**self.state.answers, step.id: value}, attempts=0, picked=[]
        )
        # One stored answer per chosen value (part 1, 2, ...); part 0 for any other answer.
        parts: list[tuple[int, Any]] = [(0, value)]
        if isinstance(value, list):
            parts = list(enumerate(value, 1)) or [(0, None)]
        for part, single in parts:
            self.answers.append(
                RecordedAnswer(
                    step_id=step.id,
                    value=single,
                    score=score,
                    measure=step.measure,
                    raw_text=_clean_raw(raw),
                    answered_at=self.now,
                    skipped=skipped,
                    part=part,
                )
            )
        if step.alert and value is not None and expressions.holds(step.alert, self.names()):
            self.alerts.append(RaisedAlert(step_id=step.id, condition=step.alert))

    def run_from(self, index: int) -> None:
        """Send `say` steps and stop at the next question whose `when` holds, or finish."""
        for step in self.flow.steps[index:]:
            if step.when and not expressions.holds(step.when, self.names()):
                self.state = self.state.evolve(answers={**self.state.answers, step.id: None})
                continue
            if step.asks:
                self.ask(step, "question", fresh=True)
                return
            self.send(self.text(step.text), "say", step.id)
        self.state = self.state.evolve(status="completed", waiting_for=None, attempts=0)
        if self.flow.outro:
            self.send(self.text(self.flow.outro), "outro")

    def ask(self, step: Step, kind: MessageKind, *, fresh: bool) -> None:
        if fresh:
            self.state = self.state.evolve(
                waiting_for=step.id, attempts=0, asked_at=self.now.isoformat(), picked=[]
            )
        text = self.text(step.text)
        if step.multiple:
            hint = "multiple_buttons_hint" if self.channel.buttons else "multiple_numbers_hint"
            text = f"{text} {self.system(hint)}"
        if kind == "reminder":
            text = self.system("reminder", question=text)
        self.send(text, kind, step.id, self.options(step))

    def options(self, step: Step) -> tuple[Option, ...]:
        """The step's options as shown: on button channels a multiple choice marks what is
        picked with ✓ and ends with a Done button."""
        options = _options(step, self.state.language, self.flow.language)
        if not (step.multiple and self.channel.buttons):
            return options
        picked = self.state.picked
        marked = tuple(Option(o.value, f"✓ {o.label}" if o.value in picked else o.label)
                       for o in options)  # fmt: skip
        return (*marked, Option(DONE, self.system("done")))

    # --- texts -------------------------------------------------------------------------

    def names(self) -> dict[str, Any]:
        p = self.participant
        return expressions.context(
            participant={"name": p.name, "language": p.language, "id": p.id},
            answers=self.state.answers,
            previous=p.previous,
        )

    def text(self, text: Text) -> str:
        language = self.state.language or self.participant.language
        source = pick_text(text, language, self.flow.language)
        return expressions.render(source, self.names()).strip()

    def system(self, key: str, **values: Any) -> str:
        return system_text(key, self.state.language or self.participant.language, **values)

    def invalid_text(self, step: Step, reading: Reading) -> str:
        if step.invalid:
            return self.text(step.invalid)
        return default_invalid_text(
            step, self.state.language or self.participant.language, reading.error
        )

    def send(
        self,
        text: str,
        kind: MessageKind,
        step_id: str | None = None,
        options: tuple[Option, ...] = (),
        *,
        updates_pressed: bool = False,
    ) -> None:
        if not text:
            return
        step = self.flow.step(step_id) if step_id else None
        numbered = bool(options) and step is not None and step.type == "choice"
        self.messages.append(
            Outgoing(
                text=text,
                kind=kind,
                step_id=step_id,
                options=options,
                numbered=numbered,
                updates_pressed=updates_pressed,
            )
        )


def _options(step: Step, language: str | None, default_language: str) -> tuple[Option, ...]:
    if step.type == "choice":
        return tuple(
            Option(c.value, pick_text(c.label, language, default_language)) for c in step.choices
        )
    if step.type == "yes_no":
        return (
            Option("yes", system_text("yes", language)),
            Option("no", system_text("no", language)),
        )
    return ()


def _clean_raw(raw: str) -> str:
    return raw[:MAX_STORED_REPLY]
