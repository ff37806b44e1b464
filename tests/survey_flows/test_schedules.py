"""Schedules: durations, standard cron (Sunday = 0, unlike APScheduler), and plain words."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_flows.model import Schedule
from survey_flows.schedules import (
    cron_trigger,
    describe_duration,
    describe_schedule,
    parse_duration,
)

LONDON = ZoneInfo("Europe/London")
# Wednesday 3 January 2024, noon: a known date to count fire times from.
WEDNESDAY = datetime(2024, 1, 3, 12, 0, tzinfo=LONDON)


def fire_times(expr: str, count: int = 5, start: datetime = WEDNESDAY) -> list[datetime]:
    trigger = cron_trigger(expr, LONDON)
    times: list[datetime] = []
    previous, now = None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        times.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return times


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("48h", timedelta(hours=48)),
        (" 12 H ", timedelta(hours=12)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2 days", "is not a duration"),
        ("4", "is not a duration"),
        (4, "has no unit"),
        ("1.5h", "is not a duration"),
        ("0m", "is zero"),
        ("-1h", "is not a duration"),
        (None, "is not a duration"),
        (True, "is not a duration"),
        ("4y", "is not a duration"),
    ],
)
def test_parse_duration_rejects_with_help(value: object, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert words in str(caught.value)
    if words != "is zero":
        assert "30m (minutes), 4h (hours), 2d (days) or 1w (weeks)" in str(caught.value)


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=24), "24 hours"),
        (timedelta(hours=48), "48 hours"),
        (timedelta(days=3), "3 days"),
        (timedelta(weeks=1), "1 week"),
        (timedelta(weeks=2), "2 weeks"),
    ],
)
def test_describe_duration(span: timedelta, words: str) -> None:
    assert describe_duration(span) == words


# --- cron: standard day-of-week numbering ----------------------------------------------


@pytest.mark.parametrize("expr", ["0 9 * * 0", "0 9 * * 7", "0 9 * * sun", "0 9 * * SUN"])
def test_sunday_is_0_7_and_sun(expr: str) -> None:
    times = fire_times(expr, 3)
    assert [t.strftime("%A %d %H:%M") for t in times] == [
        "Sunday 07 09:00",
        "Sunday 14 09:00",
        "Sunday 21 09:00",
    ]
    assert isinstance(cron_trigger(expr, LONDON), CronTrigger)


def test_one_to_five_is_monday_to_friday() -> None:
    times = fire_times("0 9 * * 1-5", 7)
    assert [t.strftime("%a %d") for t in times] == [
        "Thu 04",
        "Fri 05",
        "Mon 08",
        "Tue 09",
        "Wed 10",
        "Thu 11",
        "Fri 12",
    ]
    assert fire_times("0 9 * * mon-fri", 7) == times


@pytest.mark.parametrize(
    ("expr", "days"),
    [
        ("0 9 * * 6", ["Sat", "Sat"]),
        ("0 9 * * 5-7", ["Fri", "Sat", "Sun", "Fri"]),
        ("0 9 * * fri-sun", ["Fri", "Sat", "Sun", "Fri"]),
        ("0 9 * * 0,3", ["Sun", "Wed", "Sun"]),
        ("0 9 * * */3", ["Sat", "Sun", "Wed", "Sat"]),  # 0,3,6: Sunday, Wednesday, Saturday
    ],
)
def test_weekday_forms(expr: str, days: list[str]) -> None:
    assert [t.strftime("%a") for t in fire_times(expr, len(days))] == days


def test_minutes_hours_and_months() -> None:
    assert [t.strftime("%H:%M") for t in fire_times("*/20 13-14 * * *", 4)] == [
        "13:00",
        "13:20",
        "13:40",
        "14:00",
    ]
    assert [t.strftime("%d %b") for t in fire_times("0 9 1 jan,jul *", 2)] == ["01 Jul", "01 Jan"]


def test_day_of_month_or_day_of_week_as_standard_cron_does() -> None:
    """Both restricted: either fires (the 15th, and every Monday)."""
    trigger = cron_trigger("0 9 15 * 1", LONDON)
    assert isinstance(trigger, OrTrigger)
    assert [t.strftime("%a %d") for t in fire_times("0 9 15 * 1", 4)] == [
        "Mon 08",
        "Mon 15",
        "Mon 22",
        "Mon 29",
    ]
    times = fire_times("0 9 13 * 5", 3, datetime(2024, 9, 1, tzinfo=LONDON))
    assert [t.strftime("%a %d %b") for t in times] == ["Fri 06 Sep", "Fri 13 Sep", "Fri 20 Sep"]
    # A day field starting with * keeps the AND meaning, as in cron.
    times = fire_times("0 9 */2 * 1", 3)
    assert all(t.strftime("%a") == "Mon" and t.day % 2 == 1 for t in times)


def test_cron_follows_local_time_across_daylight_saving() -> None:
    before = datetime(2024, 3, 29, 12, tzinfo=LONDON)  # the clocks go forward on 31 March
    times = fire_times("0 18 * * *", 4, before)
    assert [t.hour for t in times] == [18, 18, 18, 18]
    assert [t.utcoffset() for t in times] == [timedelta(0)] * 2 + [timedelta(hours=1)] * 2


def test_cron_accepts_a_zone_name() -> None:
    assert cron_trigger("0 9 * * 0", "Europe/London").timezone.key == "Europe/London"


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 9 * *", "has 4 fields"),
        ("0 9 * * * *", "has 6 fields"),
        ("60 9 * * *", "60 is out of range for minute (0-59)"),
        ("0 24 * * *", "out of range for hour"),
        ("0 9 0 * *", "out of range for day of month (1-31)"),
        ("0 9 * 13 *", "out of range for month"),
        ("0 9 * * 8", "8 is out of range for day of week (0-7)"),
        ("0 9 * * monday", "'monday' is not allowed in the day of week field"),
        ("0 9 * * 5-1", "goes backwards"),
        ("0 9 * * */0", "needs a step"),
        ("0 9 * * 1,", "is not allowed"),
        ("0 9 31 2 *", "never happens"),
        ("0 9 L * *", "is not allowed in the day of month field"),
        ("@daily", "has 1 fields"),
    ],
)
def test_bad_cron_is_explained(expr: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        cron_trigger(expr, LONDON)
    assert words in str(caught.value)


# --- plain words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (
            Schedule(
                every="week",
                on="friday",
                at="18:00",
                expires=timedelta(hours=48),
                reminders=(timedelta(hours=4), timedelta(hours=24)),
            ),
            "every Friday at 18:00, residents' local time; closes after 48 hours; "
            "reminders after 4 hours and 24 hours",
        ),
        (Schedule(every="day", at="09:30"), "every day at 09:30, residents' local time"),
        (
            Schedule(every="fortnight", on="sunday", at="17:00", reminders=(timedelta(days=1),)),
            "every other Sunday at 17:00, residents' local time; a reminder after 24 hours",
        ),
        (
            Schedule(every="month", on=1, at="10:00", expires=timedelta(weeks=1)),
            "on the 1st of every month at 10:00, residents' local time; closes after 1 week",
        ),
        (Schedule(every="week"), "every week at 18:00, residents' local time"),
        (
            Schedule(every="month", on=22),
            "on the 22nd of every month at 18:00, residents' local time",
        ),
        (
            Schedule(cron="0 9 * * 1-5", expires=timedelta(hours=3)),
            'at 09:00 on Monday, Tuesday, Wednesday, Thursday and Friday (cron "0 9 * * 1-5"), '
            "residents' local time; closes after 3 hours",
        ),
        (
            Schedule(cron="30 8,17 * * 0"),
            'at 08:30 and 17:30 on Sunday (cron "30 8,17 * * 0"), residents\' local time',
        ),
        (
            Schedule(cron="0 9 1,15 * *"),
            'at 09:00 on the 1st and 15th (cron "0 9 1,15 * *"), residents\' local time',
        ),
        (
            Schedule(cron="0 9 13 * fri"),
            'at 09:00 on the 13th or on Friday (cron "0 9 13 * fri"), residents\' local time',
        ),
        (
            Schedule(cron="*/15 * * jan *"),
            'at minute */15 of hour * in January (cron "*/15 * * jan *"), residents\' local time',
        ),
    ],
)
def test_describe_schedule(schedule: Schedule, words: str) -> None:
    assert describe_schedule(schedule) == words


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_cron_text_gives_a_trigger_or_a_value_error(expr: str) -> None:
    try:
        cron_trigger(expr, LONDON)
    except ValueError as error:
        assert str(error)


_DAYS = st.one_of(
    st.just("*"),
    st.lists(st.integers(1, 31), min_size=1, max_size=3).map(lambda ds: ",".join(map(str, ds))),
)
_WEEKDAY_FIELD = st.one_of(
    st.just("*"),
    st.lists(st.integers(0, 7), min_size=1, max_size=3).map(lambda ds: ",".join(map(str, ds))),
    st.tuples(st.integers(0, 7), st.integers(0, 7))
    .filter(lambda pair: pair[0] <= pair[1])
    .map(lambda pair: f"{pair[0]}-{pair[1]}"),
    st.lists(st.sampled_from(["sun", "mon", "tue", "wed", "thu", "fri", "sat"]), min_size=1).map(
        ",".join
    ),
)


def _standard_cron_days(day_field: str, weekday_field: str, start: datetime) -> list[str]:
    """The next three matching dates by the rule in cron(5), checked day by day."""
    names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    def numbers(field: str, low: int, high: int) -> set[int]:
        if field == "*":
            return set(range(low, high + 1))
        found: set[int] = set()
        for part in field.split(","):
            first, _, last = part.partition("-")
            a = names.index(first) if first in names else int(first)
            b = (names.index(last) if last in names else int(last)) if last else a
            found.update(range(a, b + 1))
        return found

    days = numbers(day_field, 1, 31)
    weekdays = {d % 7 for d in numbers(weekday_field, 0, 7)}
    either = day_field != "*" and weekday_field != "*"
    matches: list[str] = []
    day = start.date()
    while len(matches) < 3:
        day += timedelta(days=1)
        by_day, by_weekday = day.day in days, day.isoweekday() % 7 in weekdays
        if (by_day or by_weekday) if either else (by_day and by_weekday):
            matches.append(day.isoformat())
    return matches


@settings(max_examples=200, deadline=None)
@given(_DAYS, _WEEKDAY_FIELD)
def test_cron_days_match_standard_cron(day_field: str, weekday_field: str) -> None:
    start = datetime(2024, 1, 3, 23, 59, tzinfo=LONDON)
    expected = _standard_cron_days(day_field, weekday_field, start)
    times = fire_times(f"0 9 {day_field} * {weekday_field}", 3, start)
    assert [t.date().isoformat() for t in times] == expected
