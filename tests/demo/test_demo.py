"""The demo cohort: what it writes, that a seed repeats it, that the true shift shows in
Riverside only, that non-response is realistic, and that it leaves real databases alone."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import survey_flows
from bot.commands.demo import demo as demo_command
from bot.demo.cohort import make_people, simulate
from bot.demo.seeding import DemoRefused, demo_slots, make_demo
from storage.database import transaction
from storage.models import (
    Alert,
    Answer,
    ChannelAddress,
    Checkin,
    Enrolment,
    Group,
    Message,
    Participant,
)
from survey_flows.checks.folder import FlowLibrary

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
WW = "weekly-wellbeing"


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return FlowLibrary(Path(survey_flows.__file__).parent / "library")


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def mean_changes(session: Session, measure: str) -> dict[str, list[float]]:
    """Each paired participant's last minus first score on `measure`, by group."""
    rows = session.execute(
        select(Group.name, Answer.participant_id, Answer.score)
        .join(Participant, Participant.id == Answer.participant_id)
        .join(Group, Group.id == Participant.group_id)
        .where(Answer.measure == measure, Answer.score.is_not(None))
        .order_by(Answer.answered_at, Answer.id)
    )
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    for group, pid, score in rows:
        scores[(group, pid)].append(score)
    changes: dict[str, list[float]] = defaultdict(list)
    for (group, _), values in scores.items():
        if len(values) >= 2:
            changes[group].append(values[-1] - values[0])
    return changes


def test_default_cohort_is_complete_consistent_and_shows_the_riverside_shift(
    sessions: sessionmaker[Session], library: FlowLibrary
) -> None:
    summary = make_demo(sessions, library, NOW)

    assert summary.groups == {"Elm Street": 100, "Riverside": 100, "Northgate": 100}
    flow = library.resolve(WW)
    with transaction(sessions, readonly=True) as session:
        per_group = dict(
            session.execute(
                select(Group.name, func.count(Participant.id))
                .join(Participant, Participant.group_id == Group.id)
                .group_by(Group.name)
            ).all()
        )
        assert per_group == summary.groups
        codes = dict(session.execute(select(Group.name, Group.join_code)).all())
        assert codes == {
            "Elm Street": "ELM-STREET",
            "Riverside": "RIVERSIDE",
            "Northgate": "NORTHGATE",
        }
        assert count(session, ChannelAddress, ChannelAddress.channel == "sim") == 300
        assert count(session, Enrolment, Enrolment.flow_id == WW) == 300
        assert 60 < count(session, Enrolment, Enrolment.flow_id == "neighbourhood") < 150
        scheduled = Checkin.scheduled_for.is_not(None)
        assert count(session, Checkin, scheduled) == summary.checkins
        assert count(session, Checkin, Checkin.flow_id == "welcome") == 300
        assert count(session, Checkin, Checkin.status == "active") == 0
        assert count(session, Answer) == summary.answers
        assert count(session, Message) == summary.messages
        assert count(session, Alert) == summary.alerts
        assert 5 <= summary.alerts <= 100
        assert count(session, Participant, Participant.opted_out.is_(True)) > 0

        # Twelve weekly check-ins for everyone who did not say STOP.
        weekly = session.execute(
            select(Checkin.participant_id, func.count())
            .where(Checkin.flow_id == WW)
            .group_by(Checkin.participant_id)
        ).all()
        assert max(n for _, n in weekly) == 12
        assert sum(1 for _, n in weekly if n == 12) > 270

        # Non-response: a realistic response rate, some who never answer, and attrition.
        statuses = session.execute(
            select(Checkin.status, Checkin.scheduled_for).where(Checkin.flow_id == WW)
        ).all()
        completed = sum(1 for status, _ in statuses if status == "completed")
        assert 0.4 < completed / len(statuses) < 0.9
        assert {status for status, _ in statuses} >= {"completed", "expired", "stopped"}
        dues = sorted({due for _, due in statuses})
        early = [s for s, due in statuses if due in dues[:3]]
        late = [s for s, due in statuses if due in dues[-3:]]
        rate = lambda rows: sum(s == "completed" for s in rows) / len(rows)  # noqa: E731
        assert rate(late) < rate(early) - 0.05
        answering = set(session.scalars(select(Answer.participant_id).where(Answer.flow_id == WW)))
        assert 10 < 300 - len(answering) < 80  # some never answer a single check-in

        # Every answer is what the flow reads from the reply it points to.
        rows = session.execute(
            select(Answer.step_id, Answer.value, Answer.score, Answer.raw_text, Message.body)
            .join(Message, Message.id == Answer.message_id)
            .where(Answer.flow_id == WW, Message.direction == "in")
        ).all()
        assert len(rows) == count(session, Answer, Answer.flow_id == WW)
        for step_id, value, score, raw, body in rows:
            assert raw == body
            step = flow.step(step_id)
            if step.type == "scale":
                assert isinstance(value, int) and 0 <= value <= 10 and score == value
            elif step.type == "choice":
                (choice,) = [c for c in step.choices if c.value == value]
                assert score == choice.score
            elif step.type == "yes_no":
                assert isinstance(value, bool) and score is None
        stories = session.scalars(
            select(Answer.value).where(Answer.step_id == "story", Answer.value.is_not(None))
        ).all()
        assert len(stories) > 50

        # The true shift: Riverside's life satisfaction rises, the others stay put.
        changes = mean_changes(session, "life_satisfaction")
        means = {group: statistics.mean(values) for group, values in changes.items()}
        assert all(len(values) > 50 for values in changes.values())
        assert means["Riverside"] > 0.5
        assert abs(means["Elm Street"]) < 0.3
        assert abs(means["Northgate"]) < 0.3
        loneliness = {g: statistics.mean(v) for g, v in mean_changes(session, "loneliness").items()}
        assert loneliness["Riverside"] < -0.15
        assert abs(loneliness["Elm Street"]) < 0.15 and abs(loneliness["Northgate"]) < 0.15


def test_the_same_seed_makes_the_same_cohort_and_another_seed_does_not(
    library: FlowLibrary,
) -> None:
    flows = [library.resolve(f) for f in (WW, "neighbourhood", "welcome")]
    slots = demo_slots(flows[0], flows[1], NOW, ZoneInfo("Europe/London"), 4)

    def answers(seed: int) -> list[tuple[object, ...]]:
        rng = random.Random(seed)
        cohort = simulate(flows[2], slots, make_people(rng, 40, 4, slots[0].due, set()), 4, rng)
        return [
            (cohort.people[run.person].pseudonym, run.flow.id, a.step.id, a.value, a.at)
            for run in cohort.runs
            for a in run.answers
        ]

    assert answers(3) == answers(3)
    assert answers(3) != answers(4)


def test_refuses_a_database_with_participants_unless_forced_then_adds_the_same_answers(
    sessions: sessionmaker[Session], library: FlowLibrary
) -> None:
    make_demo(sessions, library, NOW, people=30, weeks=4, seed=5)
    with pytest.raises(DemoRefused, match="already holds 30 participant"):
        make_demo(sessions, library, NOW, people=30, weeks=4, seed=5)
    with transaction(sessions, readonly=True) as session:
        assert count(session, Participant) == 30

    make_demo(sessions, library, NOW, people=30, weeks=4, seed=5, force=True)

    with transaction(sessions, readonly=True) as session:
        assert count(session, Participant) == 60
        assert count(session, Group) == 3
        assert len(set(session.scalars(select(Participant.pseudonym)))) == 60
        rows = session.execute(
            select(
                Answer.participant_id,
                Answer.flow_id,
                Answer.step_id,
                Answer.value,
                Answer.answered_at,
            ).order_by(Answer.participant_id, Answer.answered_at, Answer.id)
        ).all()
        first_ids = sorted({pid for pid, *_ in rows})[:30]
        first = [tuple(rest) for pid, *rest in rows if pid in first_ids]
        second = [tuple(rest) for pid, *rest in rows if pid not in first_ids]
        assert first and first == second


def test_refusal_writes_nothing(sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    with transaction(sessions) as session:
        session.add(Participant(name="Real resident"))
    with pytest.raises(DemoRefused) as caught:
        make_demo(sessions, library, NOW, people=10, weeks=3)
    assert "add --force" in str(caught.value)
    with transaction(sessions, readonly=True) as session:
        assert count(session, Participant) == 1
        assert count(session, Group) == 0
        assert count(session, Checkin) == 0


def test_command_prints_what_it_made_and_what_to_do_next(
    database_url: str, library: FlowLibrary
) -> None:
    env = {"DATABASE_URL": database_url, "GROUNDSWELL_FLOWS": str(library.folder)}
    runner = CliRunner()
    result = runner.invoke(demo_command, ["--people", "12", "--weeks", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "Made 12 made-up residents" in result.stdout
    assert "Riverside 4 (join code RIVERSIDE)" in result.stdout
    assert "groundswell report weekly-wellbeing --format html --out report.html" in result.stdout
    assert "make run and open the web app" in result.stdout

    again = runner.invoke(demo_command, ["--people", "12", "--weeks", "3"], env=env)
    assert again.exit_code == 1
    assert "already holds 12 participant(s)" in again.output
    assert "--force" in again.output

    quiet = runner.invoke(demo_command, ["--people", "12", "--weeks", "3", "--if-empty"], env=env)
    assert (quiet.exit_code, quiet.stdout) == (0, "")  # how `make run` keeps a database as it is

    forced = runner.invoke(demo_command, ["--people", "12", "--weeks", "3", "--force"], env=env)
    assert forced.exit_code == 0, forced.output
