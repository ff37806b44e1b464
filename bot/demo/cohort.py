"""The made-up cohort behind `groundswell demo`: people, their check-ins, answers and messages.

Why: a newcomer running `make run` should see a full report (honest intervals, attrition,
places side by side, stories) before they have a single resident. So the cohort behaves
like a real one: some people never answer, others drift away, many miss a week, answers
come after a reminder, a few say STOP; and one place (Riverside) has a modest *true*
improvement (life satisfaction up by about 0.8 points, loneliness a little down) while
the others only have noise. A report should find the one and not the others.

Pure: no database and no clock. Every check-in walks its flow's steps the way the engine
does (intro, `say` steps, `when` conditions, reminders, expiry, outro, alerts) and every
reply is read by `survey_flows.reading.read_reply`, so values, scores and transcripts are
what a real run would have stored. The engine itself is not called: 4,000 check-ins of
eight steps each would take several seconds, and the demo must take about one.
Everything comes from one seeded `random.Random`, so a seed always makes the same cohort.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage.pseudonyms import ALPHABET, LENGTH, PREFIX
from survey_flows import expressions
from survey_flows.keywords import Keyword, classify
from survey_flows.languages import system_text
from survey_flows.model import Flow, Step, pick_text
from survey_flows.reading import Reading, read_reply

Value = int | float | str | bool | list[str] | None  # a list: a multiple choice


@dataclass(frozen=True)
class Place:
    """A demo group; `shifts` is the true change (score points) each measure makes there."""

    name: str
    join_code: str
    shifts: dict[str, float] = field(default_factory=dict)


PLACES = (
    Place("Elm Street", "ELM-STREET"),
    Place("Riverside", "RIVERSIDE", {"life_satisfaction": 0.9, "loneliness": -0.4}),
    Place("Northgate", "NORTHGATE"),
)


@dataclass(frozen=True)
class Trait:
    """How a measure varies: the cohort's mean, the spread between people, week-to-week noise.

    For a yes/no measure `mean` is the chance of yes and the spreads are unused.
    """

    mean: float
    between: float
    within: float


TRAITS = {
    "life_satisfaction": Trait(6.4, 1.5, 0.8),
    "worthwhile": Trait(6.9, 1.4, 0.8),
    "happiness": Trait(6.6, 1.6, 1.1),
    "anxiety": Trait(3.4, 1.9, 1.2),
    "loneliness": Trait(1.8, 0.8, 0.45),
    "feeling_safe": Trait(2.9, 0.6, 0.35),
    "belonging": Trait(2.6, 0.7, 0.35),
    "neighbourly_help": Trait(0.45, 0.0, 0.0),
}
NEVER_ANSWER = 0.12  # share of people who never answer a check-in
QUIT_PER_WEEK = 0.03  # chance each week that someone stops answering for good
SAY_STOP = 0.03  # share of people who text STOP at some point
PARTIAL = 0.05  # share of answered check-ins left unfinished
NEIGHBOURHOOD_SHARE = 0.35  # share of people also enrolled in the fortnightly flow
STORY_CHANCE = 0.3  # chance of writing something in a story step rather than SKIP
CALLBACK_YES = 0.12  # chance of asking for a call when offered one

FIRST_NAMES = (
    "Aisha", "Alan", "Amira", "Ann", "Bashir", "Bernadette", "Bronwen", "Chen", "Chloe",
    "Dafydd", "Dev", "Doreen", "Eileen", "Emeka", "Fatima", "Gareth", "Grace", "Hamza",
    "Hannah", "Imran", "Irene", "Jack", "Jas", "Joan", "Kofi", "Krystyna", "Leon", "Lily",
    "Malik", "Margaret", "Maria", "Mo", "Nadia", "Nia", "Olu", "Pat", "Priya", "Rhys",
    "Rosa", "Ruth", "Sam", "Sandra", "Shirin", "Sian", "Tariq", "Tom", "Val", "Wei",
    "Yusuf", "Zofia",
)  # fmt: skip
NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)  # fmt: skip
STORIES = {
    "Riverside": (
        "The community garden by the river opened, I went twice",
        "Met my neighbour at the new cafe in the old library",
        "Joined the litter pick on Saturday, good to know a few more faces",
        "The footpath lights by the river are fixed, feel better walking home",
        "Someone from the tenants group knocked to check on me",
        "Went to the coffee morning at the community hall, will go again",
        "Kids from the estate painted the underpass, looks great",
        "The bus to town runs on Sundays again",
    ),
    "Elm Street": (
        "Bins not collected again this week",
        "Nothing much, quiet week",
        "Parking is still a nightmare near the school",
        "Neighbour brought round some soup when I was ill",
        "The corner shop closed, have to go further for milk",
        "Fireworks kept us up most nights",
    ),
    "Northgate": (
        "Library hours cut to three days",
        "Pothole on Mill Lane still not fixed",
        "Had a chat with the new family next door",
        "Quiet week, mostly stayed in",
        "The lift in our block was broken for four days",
        "Someone cleared the snicket, it was overgrown",
    ),
}
NAME_STEP = "name"
CONSENT_STEP = "consent"
NEIGHBOURHOOD = "neighbourhood"


# --- people --------------------------------------------------------------------------


@dataclass
class Person:
    """One made-up resident and what drives their answers."""

    index: int
    place: int
    name: str
    pseudonym: str
    address: str
    joined_at: datetime
    responsiveness: float  # chance of answering a check-in while still taking part
    quits_at: int  # the week from which they never answer again
    stops_at: int | None  # the week in which they text STOP
    neighbourhood: bool
    levels: dict[str, float]  # their own usual score per measure
    opted_out_at: datetime | None = None


def pseudonyms(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` new pseudonyms, none in `taken`, drawn from `rng` (so a seed repeats them)."""
    chosen: list[str] = []
    seen = set(taken)
    while len(chosen) < count:
        candidate = PREFIX + "".join(rng.choice(ALPHABET) for _ in range(LENGTH))
        if candidate not in seen:
            seen.add(candidate)
            chosen.append(candidate)
    return chosen


def make_people(
    rng: random.Random, count: int, weeks: int, first_due: datetime, taken: set[str]
) -> list[Person]:
    """The cohort, spread evenly over the places, joined in the ten days before week 1."""
    people = []
    # Pseudonyms come from a stream of their own: redrawing one that is taken (when the demo
    # is added to a database again) must not change anyone's answers.
    own = random.Random(rng.getrandbits(64))
    for index, pseudonym in enumerate(pseudonyms(own, count, taken)):
        never = rng.random() < NEVER_ANSWER
        quits_at = next((w for w in range(1, weeks) if rng.random() < QUIT_PER_WEEK), weeks)
        stops_at = rng.randrange(2, weeks) if weeks > 2 and rng.random() < SAY_STOP else None
        joined = first_due - timedelta(days=rng.uniform(1, 10))
        people.append(
            Person(
                index=index,
                place=index % len(PLACES),
                name=rng.choice(FIRST_NAMES),
                pseudonym=pseudonym,
                address=f"demo-{pseudonym.removeprefix(PREFIX).lower()}",
                joined_at=joined.replace(hour=rng.randrange(9, 20), minute=rng.randrange(60)),
                responsiveness=0.0 if never else min(0.98, max(0.35, rng.gauss(0.8, 0.15))),
                quits_at=quits_at,
                stops_at=stops_at,
                neighbourhood=rng.random() < NEIGHBOURHOOD_SHARE,
                levels={
                    name: trait.mean + rng.gauss(0, trait.between) for name, trait in TRAITS.items()
                },
            )
        )
    return people


# --- one check-in --------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One message of a transcript: "in" from the resident, "out" to them."""

    direction: str
    body: str
    at: datetime


@dataclass(frozen=True)
class Given:
    """One stored answer; `message` is the index of the reply in its run's messages."""

    step: Step
    value: Value
    score: float | None
    raw: str
    at: datetime
    message: int


@dataclass
class Run:
    """One check-in as a real run would have left it."""

    person: int
    flow: Flow
    week: int
    scheduled_for: datetime | None
    started_at: datetime
    status: str = "active"
    finished_at: datetime | None = None
    reminders_sent: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    messages: list[Sent] = field(default_factory=list)
    answers: list[Given] = field(default_factory=list)
    alerts: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class Behaviour:
    """How a person deals with one check-in.

    `first_reply`: delay before answering the first question (None: never answers);
    `answers`: how many questions they answer before going quiet (None: all of them);
    `stop`: they reply STOP to the first question; `reply`: the text they send to a step.
    """

    first_reply: timedelta | None
    answers: int | None
    stop: bool
    reply: Callable[[Step, dict[str, Value]], str]


class Reader:
    """`read_reply`, remembered: the demo sends the same few hundred texts thousands of times."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, str], Reading] = {}

    def __call__(self, flow: Flow, step: Step, text: str) -> Reading:
        key = (flow.version, step.id, text)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = read_reply(step, text, flow.language)
        return found


def converse(
    flow: Flow,
    person: Person,
    run: Run,
    behaviour: Behaviour,
    deadline: datetime | None,
    rng: random.Random,
    reader: Reader,
    previous: dict[str, Value],
) -> None:
    """Fill `run` with what the engine would do: messages, answers, alerts and the end state.

    `deadline` is when the next check-in starts (this one is then superseded), if that is
    before the flow's own expiry.
    """
    answers: dict[str, Value] = {}
    who = {"name": person.name, "language": None, "id": person.pseudonym}

    def names() -> dict[str, Any]:
        return expressions.context(participant=who, answers=answers, previous=previous)

    def say(text: str, at: datetime, direction: str = "out") -> int:
        if text:
            run.messages.append(Sent(direction, text, at))
        return len(run.messages) - 1

    def render(text: dict[str, str]) -> str:
        return expressions.render(pick_text(text, None, flow.language), names()).strip()

    schedule = flow.schedule
    expires = run.started_at + schedule.expires if schedule and schedule.expires else None
    ends, end_status = expires, "expired"
    if deadline is not None and (expires is None or deadline < expires):
        ends, end_status = deadline, "superseded"
    reminders = schedule.reminders if schedule else ()
    now, asked_at, index, answered = run.started_at, run.started_at, 0, 0
    waiting: str | None = None
    if flow.intro:
        say(render(flow.intro), now)
    while True:
        step = None
        for candidate in flow.steps[index:]:
            if candidate.when and not expressions.holds(candidate.when, names()):
                answers[candidate.id] = None
                continue
            if candidate.asks:
                step = candidate
                break
            say(render(candidate.text), now)
        if step is None:
            run.status, run.finished_at = "completed", now
            if flow.outro:
                say(render(flow.outro), now)
            break
        asked_at, question = now, render(step.text)
        say(question, now)
        if answered == 0:
            delay = behaviour.first_reply
        elif behaviour.answers is not None and answered >= behaviour.answers:
            delay = None
        else:
            delay = timedelta(seconds=rng.uniform(15, 150))
        reply_at = asked_at + delay if delay is not None else None
        for wait in reminders[run.reminders_sent :]:
            remind_at = asked_at + wait
            late = (ends is not None and remind_at >= ends) or (expires and remind_at >= expires)
            if late or (reply_at is not None and reply_at <= remind_at):
                break
            say(system_text("reminder", None, question=question), remind_at)
            run.reminders_sent += 1
        if reply_at is None or (ends is not None and reply_at >= ends):
            run.status, run.finished_at = end_status, ends
            # A superseded check-in keeps the state it had; expiry closes the conversation.
            waiting = step.id if end_status == "superseded" else None
            break
        now = reply_at
        if behaviour.stop:
            say("STOP", now, "in")
            say(system_text("opted_out", None), now)
            run.status, run.finished_at = "stopped", now
            person.opted_out_at = now
            break
        text = behaviour.reply(step, answers)
        message = say(text, now, "in")
        if step.optional and classify(text) is Keyword.SKIP:
            value, score = None, None
        else:
            reading = reader(flow, step, text)
            value, score = reading.value, reading.score if step.measure else None
        answers[step.id] = value
        run.answers.append(Given(step, value, score, text, now, message))
        if step.alert and value is not None and expressions.holds(step.alert, names()):
            run.alerts.append((step.id, now))
        answered += 1
        index = flow.index_of(step.id) + 1
    run.state = {
        "flow_id": flow.id,
        "flow_version": flow.version,
        "status": "active" if run.status == "superseded" else run.status,
        "waiting_for": waiting,
        "attempts": 0,
        "answers": answers,
        "language": None,
        "started_at": run.started_at.isoformat(),
        "asked_at": asked_at.isoformat(),
        "reminders_sent": run.reminders_sent,
    }


# --- what people reply ---------------------------------------------------------------


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _scale_text(rng: random.Random, number: int, top: float | None) -> str:
    """A whole number as people text it: "7", "7/10", "seven", "I'd say 7"..."""
    roll = rng.random()
    if roll < 0.70:
        return str(number)
    if roll < 0.78 and top is not None:
        return f"{number}/{int(top)}"
    if roll < 0.86 and number < len(NUMBER_WORDS):
        return NUMBER_WORDS[number]
    if roll < 0.93:
        return f"I'd say {number}"
    return f"{number} today"


def _choice_text(rng: random.Random, step: Step, position: int, language: str) -> str:
    """A choice as people text it: its number, or its label."""
    label = pick_text(step.choices[position].label, None, language)
    roll = rng.random()
    if roll < 0.55:
        return str(position + 1)
    return label if roll < 0.9 else label.lower()


def _yes_no_text(rng: random.Random, yes: bool) -> str:
    return rng.choice(("Yes", "yes", "Yes please", "y") if yes else ("No", "no", "No thanks"))


class Replies:
    """A person's replies in one week: their usual level, the place's shift and noise."""

    def __init__(
        self, person: Person, flow: Flow, week: int, weeks: int, rng: random.Random, reader: Reader
    ) -> None:
        self.person, self.flow, self.rng, self.reader = person, flow, rng, reader
        self.place = PLACES[person.place]
        ramp = max(1, weeks // 3)  # the true shift builds up over the first third
        self.progress = min(1.0, week / ramp)
        self.week = week

    def target(self, measure: str, low: float, high: float) -> float:
        """Where this person's score on `measure` lands this week."""
        trait = TRAITS.get(measure)
        if trait is None:
            return self.rng.uniform(low, high)
        shift = self.place.shifts.get(measure, 0.0) * self.progress
        return self.person.levels[measure] + shift + self.rng.gauss(0, trait.within)

    def __call__(self, step: Step, answers: dict[str, Value]) -> str:
        text = self._text(step)
        if step.type in ("text",) or classify(text) is Keyword.SKIP:
            return text
        # Every reply is read back through the flow; a phrasing it would not read as meant
        # (none today) falls back to the plain number or position.
        reading = self.reader(self.flow, step, text)
        return text if reading.ok else self._plain(step, text)

    def _plain(self, step: Step, text: str) -> str:
        digits = "".join(ch for ch in text if ch.isdigit())
        return digits or ("yes" if step.type == "yes_no" else "1")

    def _text(self, step: Step) -> str:
        rng = self.rng
        if step.type in ("scale", "number"):
            low = step.min if step.min is not None else 0.0
            high = step.max if step.max is not None else low + 10
            number = round(_clip(self.target(step.measure or step.id, low, high), low, high))
            return _scale_text(rng, int(number), step.max)
        if step.type == "choice":
            scores = [c.score if c.score is not None else i for i, c in enumerate(step.choices)]
            goal = self.target(step.measure or step.id, min(scores), max(scores))
            position = min(range(len(scores)), key=lambda i: abs(scores[i] - goal))
            return _choice_text(rng, step, position, self.flow.language)
        if step.type == "yes_no":
            if step.id == CONSENT_STEP:
                return _yes_no_text(rng, True)  # the demo has no one who declined to join
            if step.alert:
                chance = CALLBACK_YES
            elif step.measure in TRAITS:
                chance = TRAITS[step.measure].mean
            else:
                chance = 0.9  # consent and other plain questions
            return _yes_no_text(rng, rng.random() < chance)
        if step.id == NAME_STEP:
            return self.person.name
        if rng.random() < STORY_CHANCE or not step.optional:
            return self._story()
        return rng.choice(("SKIP", "skip", "Skip"))

    def _story(self) -> str:
        own = STORIES.get(self.place.name, ())
        # Riverside's stories turn brighter as its change builds; elsewhere they stay mixed.
        if self.place.shifts and self.rng.random() > self.progress:
            own = STORIES["Elm Street"] + STORIES["Northgate"]
        return self.rng.choice(own or ("Nothing much to report",))


def behaviour_for(
    person: Person, week: int, rng: random.Random, replies: Replies, flow: Flow
) -> Behaviour:
    """Whether and when this person answers this check-in."""
    if person.stops_at == week:
        return Behaviour(timedelta(minutes=rng.uniform(2, 90)), None, True, replies)
    if week >= person.quits_at or rng.random() >= person.responsiveness:
        return Behaviour(None, None, False, replies)
    roll = rng.random()
    if roll < 0.65:  # soon after the message
        delay = timedelta(minutes=min(230.0, rng.expovariate(1 / 40)))
    elif roll < 0.9:  # after the first reminder
        delay = timedelta(hours=4, minutes=min(1100.0, rng.expovariate(1 / 60)))
    else:  # after the second
        delay = timedelta(hours=24, minutes=min(1300.0, rng.expovariate(1 / 120)))
    questions = sum(1 for step in flow.steps if step.asks)
    partial = rng.randrange(1, questions) if questions > 1 and rng.random() < PARTIAL else None
    return Behaviour(delay, partial, False, replies)


# --- the whole cohort ----------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One scheduled check-in of a flow: its due time and the demo week it falls in."""

    flow: Flow
    due: datetime
    week: int


@dataclass
class Cohort:
    """Everything `make_demo` writes: people, their enrolments and every check-in."""

    people: list[Person]
    runs: list[Run]
    enrolments: list[tuple[int, str, datetime]]  # (person, flow id, enrolled at)


def simulate(
    welcome: Flow,
    slots: list[Slot],
    people: list[Person],
    weeks: int,
    rng: random.Random,
    progress: Callable[[int, int], None] | None = None,
) -> Cohort:
    """Every person's welcome, then their scheduled check-ins in time order.

    `slots` holds the due times of both flows; people not in the fortnightly flow skip its
    slots. A check-in still open when the next one starts is superseded, as in a real run.
    """
    reader = Reader()
    runs: list[Run] = []
    enrolments: list[tuple[int, str, datetime]] = []
    for person in people:
        own = random.Random(rng.getrandbits(64))  # one stream per person
        joined = Run(person.index, welcome, -1, None, person.joined_at)
        replies = Replies(person, welcome, 0, weeks, own, reader)
        delay = timedelta(minutes=max(0.5, math.fabs(own.gauss(3, 2))))
        converse(
            welcome, person, joined, Behaviour(delay, None, False, replies), None, own, reader, {}
        )
        joined.messages.insert(
            0, Sent("in", f"JOIN {PLACES[person.place].join_code}", person.joined_at)
        )
        joined.answers = [
            Given(a.step, a.value, a.score, a.raw, a.at, a.message + 1) for a in joined.answers
        ]
        runs.append(joined)
        mine = [s for s in slots if s.flow.id != NEIGHBOURHOOD or person.neighbourhood]
        for flow_id in dict.fromkeys(s.flow.id for s in mine):
            enrolments.append((person.index, flow_id, joined.finished_at or person.joined_at))
        previous: dict[str, dict[str, Value]] = {}
        for position, slot in enumerate(mine):
            if person.opted_out_at is not None:
                break
            run = Run(person.index, slot.flow, slot.week, slot.due, slot.due)
            following = mine[position + 1].due if position + 1 < len(mine) else None
            replies = Replies(person, slot.flow, slot.week, weeks, own, reader)
            behaviour = behaviour_for(person, slot.week, own, replies, slot.flow)
            converse(
                slot.flow, person, run, behaviour, following, own, reader,
                previous.get(slot.flow.id, {}),
            )  # fmt: skip
            if run.status == "completed":
                previous[slot.flow.id] = dict(run.state["answers"])
            runs.append(run)
        if progress is not None:
            progress(person.index + 1, len(people))
    return Cohort(people, runs, enrolments)
