"""The coordinator's weekly summary: leads with the clearest change, never overstates one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.segments import gsm7_length, sms_segments
from bot.schedule.summaries import summary_message
from reports import build
from reports.summary import period_words
from storage.database import transaction
from storage.flow_versions import remember
from storage.models import Answer, Checkin, Enrolment, Group, Participant
from survey_flows.checks.folder import FlowLibrary

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
LIBRARY = FlowLibrary()
WEEKLY = LIBRARY.resolve("weekly-wellbeing")


def add_group(sessions: sessionmaker[Session], name: str, changes: dict[str, list[float]]) -> int:
    """People who answered twice: baseline 5, 6 or 7 (2, 3 or 4 for loneliness), then
    baseline + change. Baselines vary: a group whose answers are all the same is hidden."""
    with transaction(sessions) as session:
        remember(session, WEEKLY)
        group = Group(name=name, default_flow="weekly-wellbeing")
        session.add(group)
        session.flush()
        people = len(next(iter(changes.values())))
        for n in range(people):
            person = Participant(name=f"{name} {n}", group_id=group.id)
            session.add(person)
            session.flush()
            session.add(Enrolment(participant_id=person.id, group_id=group.id, flow_id=WEEKLY.id))
            for week, at in enumerate((NOW - timedelta(weeks=6), NOW - timedelta(days=2))):
                checkin = Checkin(
                    participant_id=person.id, flow_id=WEEKLY.id, flow_version=WEEKLY.version,
                    channel="sim", status="completed", state={}, started_at=at,
                )  # fmt: skip
                session.add(checkin)
                session.flush()
                for measure, deltas in changes.items():
                    base = (2.0 if measure == "loneliness" else 5.0) + n % 3
                    score = base + (deltas[n] if week else 0.0)
                    session.add(
                        Answer(
                            checkin_id=checkin.id, participant_id=person.id, flow_id=WEEKLY.id,
                            flow_version=WEEKLY.version, step_id=measure, value=score,
                            score=score, measure=measure, answered_at=at, channel="sim",
                        )
                    )  # fmt: skip
        return group.id


def test_summary_leads_with_the_clearest_change_and_states_its_interval(
    sessions: sessionmaker[Session],
) -> None:
    group = add_group(
        sessions,
        "Riverside",
        {
            "life_satisfaction": [2, 2, 1, 3, 2, 1, 2, 2],
            "loneliness": [1, -1, 0, 1, -1, 0, 1, -1],
        },
    )
    text, chart = summary_message(sessions, LIBRARY, group, NOW, channel="sms", threshold=5)
    sentences = text.split(". ")
    assert sentences[0] == (f"Groundswell weekly summary, Riverside, {period_words(NOW)}")
    assert period_words(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) == (
        "over the last 12 weeks, to Sunday 29 November"
    )
    assert period_words(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == (
        "over the last 12 weeks, to Sunday 29 November"
    )  # a summary sent midweek covers the same whole weeks
    # The mean change is 1.875; published means carry noise of at most 2.5/8 point each.
    pattern = r"Life satisfaction rose by (1\.[2-9]|2|2\.[1-5]) \(better; 95% CI \+"
    assert re.match(pattern, sentences[1])
    assert "Loneliness: no clear change (" in text
    full, _ = summary_message(sessions, LIBRARY, group, NOW, channel="telegram", threshold=5)
    assert "about 10 check-ins sent, 10 answered in full" in full  # 8, rounded to 5
    assert chart is None
    assert gsm7_length(text) is not None
    assert sms_segments(text) <= 3


def test_a_fall_in_a_lower_is_better_measure_reads_as_better(
    sessions: sessionmaker[Session],
) -> None:
    group = add_group(sessions, "Northgate", {"loneliness": [-1, -1, -2, -1, -1, -2] * 2})
    text, _ = summary_message(sessions, LIBRARY, group, NOW, channel="sms", threshold=5)
    assert re.search(r"Loneliness fell by \d\.\d \(better; 95% CI", text)


def test_a_change_the_adjusted_evidence_does_not_support_is_no_clear_change(
    sessions: sessionmaker[Session],
) -> None:
    """Six people all better: the interval leaves out zero and the exact p is 0.031, but the
    report makes two tests (everyone, and the group) and Holm's p is 0.0625."""
    group = add_group(sessions, "Northgate", {"loneliness": [-1, -1, -2, -1, -1, -2]})
    text, _ = summary_message(sessions, LIBRARY, group, NOW, channel="sms", threshold=5)
    # The change is -1.33 for 6 people, published with noise and the count rounded to 5.
    one = r"-\d(\.\d)?"  # one decimal at most: -1.4, or -2 (never -2.0)
    pattern = rf"Loneliness: no clear change \({one}, 95% CI {one} to {one}; 5 people\)"
    assert re.search(pattern, text)
    assert "fell" not in text


def test_small_groups_are_not_shown_even_through_a_neighbour(
    sessions: sessionmaker[Session],
) -> None:
    small = add_group(sessions, "Tiny Close", {"life_satisfaction": [1, 2, 3]})
    big = add_group(sessions, "Big Road", {"life_satisfaction": [1, 2, 1, 2, 1, 2]})
    for group in (small, big):  # Big Road alone would give Tiny Close away by subtraction
        text, _ = summary_message(sessions, LIBRARY, group, NOW, channel="sms", threshold=5)
        assert "Life satisfaction: too few people answered twice to show." in text
        assert "rose" not in text


def test_telegram_gets_a_chart(sessions: sessionmaker[Session]) -> None:
    big = add_group(sessions, "Big Road", {"life_satisfaction": [1, 2, 1, 2, 1, 2] * 2})
    text, chart = summary_message(sessions, LIBRARY, big, NOW, channel="telegram", threshold=5)
    assert re.search(r"Life satisfaction rose by (1|1\.\d) ", text)
    assert chart is not None and chart.startswith(b"\x89PNG")


def test_summaries_sharing_a_cache_read_the_answers_once_and_say_the_same(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = [
        add_group(sessions, "Big Road", {"life_satisfaction": [1, 2, 1, 2, 1, 2]}),
        add_group(sessions, "Riverside", {"life_satisfaction": [2, 2, 1, 3, 2, 1]}),
    ]
    alone = [
        summary_message(sessions, LIBRARY, g, NOW, channel="sms", threshold=5)[0] for g in groups
    ]
    reads = []
    real = build.load_report_data
    monkeypatch.setattr(build, "load_report_data", lambda *a, **k: reads.append(1) or real(*a, **k))
    loaded: dict = {}
    shared = [
        summary_message(sessions, LIBRARY, g, NOW, channel="sms", threshold=5, loaded=loaded)[0]
        for g in groups
    ]
    assert shared == alone
    assert len(reads) == 1
