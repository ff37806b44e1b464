"""The clock on SQLite and PostgreSQL: due times, quiet hours, downtime, DST, coordinators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import InboundMessage
from bot.checkins.receiving import receive
from bot.people.enrolment import enrol
from bot.schedule import summaries
from bot.schedule.clock import tick
from bot.settings import Settings
from storage.database import transaction
from storage.models import (
    Alert,
    ChannelAddress,
    Checkin,
    ClockTick,
    Enrolment,
    Group,
    Message,
    OutboxItem,
    Participant,
    User,
)
from survey_flows.checks.folder import FlowLibrary


def coordinator(*, group: Group, **fields: Any) -> User:
    """A coordinator (a user with a contact) of `group`, for session.add."""
    return User(role="coordinator", groups=[group], **fields)


LONDON = ZoneInfo("Europe/London")
SETTINGS = Settings()
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
FRIDAY_18 = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # London is on GMT in November


def flows_folder(tmp_path: Path, **extra: str) -> FlowLibrary:
    """The shipped flows plus any extra flow files written for the test."""
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    for shipped in FlowLibrary().files():
        (folder / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in extra.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return FlowLibrary(folder)


def add_people(
    sessions: sessionmaker[Session],
    count: int,
    *,
    flow: str = "weekly-wellbeing",
    at: datetime = TUESDAY,
    timezone: str | None = None,
    group: str = "Elm Street",
) -> list[int]:
    ids = []
    with transaction(sessions) as session:
        found = session.scalars(select(Group).where(Group.name == group)).one_or_none()
        if found is None:
            found = Group(name=group)
            session.add(found)
            session.flush()
        for n in range(count):
            person = Participant(name=f"P{n}", group_id=found.id, timezone=timezone)
            session.add(person)
            session.flush()
            session.add(
                ChannelAddress(participant_id=person.id, channel="sim", address=f"{group}-{n}")
            )
            enrol(session, person, flow, at)
            ids.append(person.id)
    return ids


def count(sessions: sessionmaker[Session], query) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(query.subquery()))


def checkins(sessions: sessionmaker[Session]) -> list[Checkin]:
    with transaction(sessions) as session:
        return list(session.scalars(select(Checkin).order_by(Checkin.id)))


def test_first_check_in_is_the_first_scheduled_time_after_enrolling(
    sessions: sessionmaker[Session],
) -> None:
    library = FlowLibrary()
    add_people(sessions, 3)
    report = tick(sessions, library, SETTINGS, TUESDAY + timedelta(minutes=1))
    assert (report.scheduled, report.started) == (3, 0)
    with transaction(sessions) as session:
        dues = set(session.scalars(select(Enrolment.next_due_at)))
    assert dues == {FRIDAY_18}
    assert tick(sessions, library, SETTINGS, FRIDAY_18 - timedelta(seconds=1)).started == 0
    report = tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(seconds=30))
    assert report.started == 3
    started = checkins(sessions)
    assert [c.scheduled_for for c in started] == [FRIDAY_18] * 3
    with transaction(sessions) as session:
        assert set(session.scalars(select(Enrolment.next_due_at))) == {
            FRIDAY_18 + timedelta(days=7)
        }
        queued = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    assert len(queued) == 6  # intro and first question each
    assert queued[0].body.startswith("Hi P0, time for your 2-minute check-in")
    assert {q.not_before for q in queued} == {FRIDAY_18 + timedelta(seconds=30)}
    # A second tick in the same minute starts nothing more.
    assert tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(seconds=40)).started == 0


def test_cron_day_of_week_zero_is_sunday(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    library = flows_folder(
        tmp_path,
        sunday=(
            'flow: sunday\ntitle: Sunday\nschedule:\n  cron: "0 9 * * 0"\n'
            'steps:\n  - id: q\n    ask: "Mood 1-5?"\n    type: scale\n    min: 1\n    max: 5\n'
        ),
    )
    add_people(sessions, 1, flow="sunday")
    tick(sessions, library, SETTINGS, TUESDAY)
    with transaction(sessions) as session:
        due = session.scalars(select(Enrolment.next_due_at)).one()
    assert due.astimezone(LONDON).strftime("%A %H:%M") == "Sunday 09:00"


def test_after_three_days_down_a_weekly_participant_gets_one_check_in(
    sessions: sessionmaker[Session],
) -> None:
    library = FlowLibrary()
    add_people(sessions, 1)
    tick(sessions, library, SETTINGS, TUESDAY)
    # The clock was down from Thursday to Monday, and then again for three weeks.
    report = tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(days=3))
    assert report.started == 1
    report = tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(days=24))
    assert report.started == 1
    started = checkins(sessions)
    assert [c.scheduled_for for c in started] == [FRIDAY_18, FRIDAY_18 + timedelta(days=21)]
    assert started[0].status == "superseded"  # closed as incomplete when the next began


def test_quiet_hours_hold_a_check_in_and_its_clock_until_morning(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    late = (
        'flow: late\ntitle: Late\nschedule:\n  every: day\n  at: "22:30"\n'
        "  expires: 12h\n  reminders: [1h]\n"
        'steps:\n  - id: q\n    ask: "Mood 1-5?"\n    type: scale\n    min: 1\n    max: 5\n'
    )
    library = flows_folder(tmp_path, late=late)
    add_people(sessions, 1, flow="late")
    tick(sessions, library, SETTINGS, TUESDAY)
    due = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    assert tick(sessions, library, SETTINGS, due).started == 1
    morning = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with transaction(sessions) as session:
        queued = session.scalars(select(OutboxItem)).all()
        checkin = session.scalars(select(Checkin)).one()
    assert {q.not_before for q in queued} == {morning}
    assert checkin.next_timer_at == morning + timedelta(hours=1)  # reminder counts from 08:00
    report = tick(sessions, library, SETTINGS, morning + timedelta(minutes=1))
    assert (report.released, report.reminded) == (1, 0)
    report = tick(sessions, library, SETTINGS, morning + timedelta(hours=1, minutes=1))
    assert report.reminded == 1


def test_reminders_then_expiry_and_never_a_reminder_after_expiry(
    sessions: sessionmaker[Session],
) -> None:
    library = FlowLibrary()
    add_people(sessions, 1)
    tick(sessions, library, SETTINGS, TUESDAY)
    tick(sessions, library, SETTINGS, FRIDAY_18)
    assert tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(hours=4)).reminded == 1
    # The clock was down past both the second reminder and the expiry: it only expires.
    report = tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(hours=50))
    assert (report.reminded, report.expired) == (0, 1)
    [checkin] = checkins(sessions)
    assert checkin.status == "expired"
    assert checkin.finished_at == FRIDAY_18 + timedelta(hours=50)
    with transaction(sessions) as session:
        bodies = [m.body for m in session.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    assert sum(body.startswith("Reminder:") for body in bodies) == 1


def test_an_answer_closes_nothing_early_and_a_reminder_follows_the_new_question(
    sessions: sessionmaker[Session],
) -> None:
    library = FlowLibrary()
    add_people(sessions, 1)
    tick(sessions, library, SETTINGS, TUESDAY)
    tick(sessions, library, SETTINGS, FRIDAY_18)
    with transaction(sessions) as session:
        receive(
            session,
            InboundMessage("sim", "Elm Street-0", "7", "m1"),
            FRIDAY_18 + timedelta(hours=3),
            library,
            SETTINGS,
        )
    assert tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(hours=4)).reminded == 0
    assert tick(sessions, library, SETTINGS, FRIDAY_18 + timedelta(hours=7)).reminded == 1


def test_no_check_in_starts_for_an_opted_out_participant(sessions: sessionmaker[Session]) -> None:
    library = FlowLibrary()
    [person] = add_people(sessions, 1)
    with transaction(sessions) as session:
        session.get_one(Participant, person).opted_out = True
    tick(sessions, library, SETTINGS, TUESDAY)
    report = tick(sessions, library, SETTINGS, FRIDAY_18)
    assert (report.started, report.skipped) == (0, 1)
    assert checkins(sessions) == []
    assert count(sessions, select(OutboxItem)) == 0


NIGHTLY = (
    'flow: nightly\ntitle: Nightly\nschedule:\n  every: day\n  at: "{at}"\n'
    'steps:\n  - id: q\n    ask: "Mood 1-5?"\n    type: scale\n    min: 1\n    max: 5\n'
)
NO_QUIET_HOURS = Settings(quiet_start=SETTINGS.quiet_end)


def tick_through(
    sessions: sessionmaker[Session], library: FlowLibrary, begin: datetime, end: datetime
) -> None:
    """Tick every 15 minutes, as a clock that stays up would (at least once a minute)."""
    now = begin
    while now < end:
        tick(sessions, library, NO_QUIET_HOURS, now)
        now += timedelta(minutes=15)


@pytest.mark.parametrize(
    ("month", "first_day", "expected"),
    [
        # Spring forward: 01:30 does not exist on 29 March; it fires at 02:00 BST, once.
        (3, 28, ["28 01:30 GMT", "29 02:00 BST", "30 01:30 BST"]),
        # Fall back: 01:30 happens twice on 25 October; it fires at the first, once.
        (10, 24, ["24 01:30 BST", "25 01:30 BST", "26 01:30 GMT"]),
    ],
)
def test_daylight_saving_changes_send_each_check_in_exactly_once(
    sessions: sessionmaker[Session], tmp_path: Path, month: int, first_day: int, expected: list
) -> None:
    library = flows_folder(tmp_path, nightly=NIGHTLY.format(at="01:30"))
    begin = datetime(2026, month, first_day - 1, 12, 0, tzinfo=UTC)
    add_people(sessions, 1, flow="nightly", at=begin, timezone="Europe/London")
    tick_through(sessions, library, begin, begin + timedelta(days=3))
    fired = [c.scheduled_for.astimezone(LONDON).strftime("%d %H:%M %Z") for c in checkins(sessions)]
    assert fired == expected


def test_a_zone_that_moves_its_clocks_by_thirty_minutes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Lord Howe Island: 02:00 becomes 02:30 on 4 October, so 02:15 does not exist that day.
    library = flows_folder(tmp_path, nightly=NIGHTLY.format(at="02:15"))
    begin = datetime(2026, 10, 2, 12, 0, tzinfo=UTC)
    add_people(sessions, 1, flow="nightly", at=begin, timezone="Australia/Lord_Howe")
    tick_through(sessions, library, begin, begin + timedelta(days=3))
    local = ZoneInfo("Australia/Lord_Howe")
    fired = [c.scheduled_for.astimezone(local).strftime("%d %H:%M") for c in checkins(sessions)]
    assert fired == ["03 02:15", "04 02:30", "05 02:15"]


def answer_asking_for_a_callback(sessions: sessionmaker[Session], library: FlowLibrary) -> None:
    """Elm Street-0's Friday check-in starts, and they answer it asking for a callback."""
    tick(sessions, library, SETTINGS, TUESDAY)
    tick(sessions, library, SETTINGS, FRIDAY_18)
    for n, text in enumerate(["2", "5", "4", "9", "yes"]):
        with transaction(sessions) as session:
            receive(
                session,
                InboundMessage("sim", "Elm Street-0", text, f"m{n}"),
                FRIDAY_18 + timedelta(minutes=n + 1),
                library,
                SETTINGS,
            )


def test_coordinators_get_alerts_at_once_without_message_text(
    sessions: sessionmaker[Session],
) -> None:
    library = FlowLibrary()
    [person] = add_people(sessions, 1)
    with transaction(sessions) as session:
        group = session.scalars(select(Group)).one()
        session.add(coordinator(name="Ann", channel="sms", address="+447700900001", group=group))
    answer_asking_for_a_callback(sessions, library)
    with transaction(sessions) as session:
        alert = session.scalars(select(Alert)).one()
        pseudonym = session.get_one(Participant, person).pseudonym
        to_coordinator = session.scalars(
            select(OutboxItem).where(OutboxItem.address == "+447700900001")
        ).one()
    assert alert.step_id == "callback"
    assert pseudonym in to_coordinator.body and "Elm Street" in to_coordinator.body
    assert "yes" not in to_coordinator.body.lower().split()
    assert to_coordinator.not_before == FRIDAY_18 + timedelta(minutes=5)


def test_weekly_summary_goes_out_monday_at_nine_local_time(
    sessions: sessionmaker[Session],
) -> None:
    library = FlowLibrary()
    add_people(sessions, 2)
    with transaction(sessions) as session:
        group = session.scalars(select(Group)).one()
        session.add(
            coordinator(
                name="Ann",
                channel="telegram",
                address="5551",
                group=group,
                timezone="America/New_York",
            )
        )
    tick(sessions, library, SETTINGS, TUESDAY)
    tick(sessions, library, SETTINGS, FRIDAY_18)
    monday_9_new_york = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert (
        tick(sessions, library, SETTINGS, monday_9_new_york - timedelta(minutes=1)).summaries == 0
    )
    assert tick(sessions, library, SETTINGS, monday_9_new_york).summaries == 1
    assert tick(sessions, library, SETTINGS, monday_9_new_york + timedelta(hours=1)).summaries == 0
    with transaction(sessions) as session:
        summary = session.scalars(select(OutboxItem).where(OutboxItem.address == "5551")).one()
        assert session.scalar(select(func.count()).select_from(ClockTick)) == 5
    assert "Elm Street" in summary.body
    # Two check-ins: a count that small is not published (reports.disclosure).
    assert "too few people to show the check-in counts" in summary.body


def test_a_summary_another_clock_sent_meanwhile_is_not_sent_again(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Summaries are worked out before their write: a clock that finds the calendar moved
    on by then (another clock sent it) queues nothing."""
    library = FlowLibrary()
    add_people(sessions, 2)
    with transaction(sessions) as session:
        group = session.scalars(select(Group)).one()
        session.add(coordinator(name="Ann", channel="sms", address="+447700900009", group=group))
    tick(sessions, library, SETTINGS, TUESDAY)  # starts Ann's calendar
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    real = summaries.coordinator_summary

    def racing(*args: Any, **kwargs: Any) -> Any:
        if not started:  # while this clock builds its text, another clock sends the summary
            started.append(True)
            raced.append(summaries.send_due(sessions, library, SETTINGS, monday))
        return real(*args, **kwargs)

    started: list[bool] = []
    raced: list[int] = []
    monkeypatch.setattr(summaries, "coordinator_summary", racing)
    assert summaries.send_due(sessions, library, SETTINGS, monday) == 0
    assert raced == [1]
    assert count(sessions, select(OutboxItem).where(OutboxItem.address == "+447700900009")) == 1


def test_messages_to_residents_never_carry_phone_numbers_into_logs(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    library = FlowLibrary()
    add_people(sessions, 1)
    with caplog.at_level("DEBUG"):
        tick(sessions, library, SETTINGS, TUESDAY)
        tick(sessions, library, SETTINGS, FRIDAY_18)
    assert "Elm Street-0" not in caplog.text
    assert count(sessions, select(Message)) == 2


def _join(sessions: sessionmaker[Session], library: FlowLibrary, replies: list[str]) -> int:
    """A stranger joins Elm Street by JOIN code and answers the welcome flow."""
    with transaction(sessions) as session:
        session.add(Group(name="Elm Street", join_code="ELM", default_flow="weekly-wellbeing"))
    for n, text in enumerate(["JOIN ELM", *replies]):
        with transaction(sessions) as session:
            receive(
                session,
                InboundMessage("sim", "stranger", text, f"j{n}"),
                TUESDAY + timedelta(minutes=n),
                library,
                SETTINGS,
            )
    with transaction(sessions) as session:
        return session.scalars(select(Participant.id)).one()


def test_the_host_reads_consent_and_name_from_the_steps_marked_sets_not_their_ids(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    renamed = (
        FlowLibrary()
        .resolve("welcome")
        .source_text.replace("id: consent", "id: agree")
        .replace("answers.consent", "answers.agree")
        .replace("id: name", "id: nickname")
        .replace("answers.name", "answers.nickname")
    )
    library = flows_folder(tmp_path, welcome=renamed)
    person = _join(sessions, library, ["yes", "Robin"])
    with transaction(sessions) as session:
        joined = session.get_one(Participant, person)
        assert (joined.name, joined.opted_out) == ("Robin", False)
        flows = session.scalars(select(Enrolment.flow_id)).all()
    assert flows == ["weekly-wellbeing"]


def test_refused_consent_opts_out_and_the_goodbye_still_goes(
    sessions: sessionmaker[Session],
) -> None:
    person = _join(sessions, FlowLibrary(), ["no"])
    with transaction(sessions) as session:
        assert session.get_one(Participant, person).opted_out
        assert session.scalars(select(Enrolment)).all() == []
        last = session.scalars(
            select(OutboxItem).where(OutboxItem.status == "queued").order_by(OutboxItem.id.desc())
        ).first()
    assert last is not None and "won't message you again" in last.body


def test_coordinator_alerts_are_in_the_flows_language(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    welsh = (
        FlowLibrary()
        .resolve("weekly-wellbeing")
        .source_text.replace("flow: weekly-wellbeing", "flow: weekly-cy")
        .replace("language: en", "language: cy")
    )
    assert "language: cy" in welsh
    library = flows_folder(tmp_path, **{"weekly-cy": welsh})
    [person] = add_people(sessions, 1, flow="weekly-cy")
    with transaction(sessions) as session:
        group = session.scalars(select(Group)).one()
        session.add(coordinator(name="Ann", channel="sms", address="+447700900001", group=group))
    answer_asking_for_a_callback(sessions, library)
    with transaction(sessions) as session:
        body = session.scalars(
            select(OutboxItem.body).where(OutboxItem.address == "+447700900001")
        ).one()
        pseudonym = session.get_one(Participant, person).pseudonym
    assert body.startswith("Rhybudd Groundswell:") and pseudonym in body
