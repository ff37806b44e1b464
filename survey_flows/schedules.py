"""Schedule arithmetic for flow files: durations, standard cron, and plain-words summaries.

Flow files promise *standard* cron (Sunday = 0 or 7, names `sun`..`sat`, and the classic rule
that a restricted day-of-month and day-of-week mean "either"). APScheduler 3 counts weekdays
from Monday = 0 and always means "both", so every expression is parsed here and handed to
APScheduler as explicit value lists and weekday names, leaving no numbering to misread.
"""

from __future__ import annotations

import re
from datetime import timedelta, tzinfo
from typing import Any

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from survey_flows.model import Schedule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard cron: Sunday = 0
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 in leap years

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = timedelta(weeks=1)
DURATION_HELP = (
    "write a whole number and a unit: 30m (minutes), 4h (hours), 2d (days) or 1w (weeks)"
)


# --- durations -------------------------------------------------------------------------


def parse_duration(text: object) -> timedelta:
    """Read `30m`, `4h`, `2d` or `1w` into a timedelta; ValueError in plain words otherwise."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"is not a duration; {DURATION_HELP}")
    if isinstance(text, int):
        raise ValueError(f"'{text}' has no unit; {DURATION_HELP}")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration; {DURATION_HELP}")
    amount = int(match.group(1))
    if amount == 0:
        raise ValueError(f"'{text}' is zero; a duration must be longer than that")
    return amount * _UNITS[match.group(2).lower()]


def describe_duration(span: timedelta) -> str:
    """A duration as staff would say it: `48h` reads "48 hours", `1w` reads "1 week"."""
    minutes = int(span.total_seconds() // 60)
    if minutes % (7 * 24 * 60) == 0 and minutes >= 7 * 24 * 60:
        amount, unit = minutes // (7 * 24 * 60), "week"
    elif minutes % (24 * 60) == 0 and minutes >= 3 * 24 * 60:
        amount, unit = minutes // (24 * 60), "day"
    elif minutes % 60 == 0 and minutes >= 60:
        amount, unit = minutes // 60, "hour"
    else:
        amount, unit = minutes, "minute"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


# --- cron ------------------------------------------------------------------------------


class _Field:
    """One of the five cron fields: its name for messages, its range and any value names."""

    def __init__(
        self, name: str, low: int, high: int, names: tuple[str, ...] = (), first: int = 1
    ) -> None:
        self.name, self.low, self.high = name, low, high
        self.names, self.first = names, first  # `first`: the number of the first name
        self.help = f"numbers {low}-{high}" + (f" or names like {names[1]}" if names else "")

    def value(self, token: str, *, range_end: bool = False) -> int:
        """One number or name of this field, checked against the field's range."""
        token = token.strip().lower()
        if token in self.names:
            number = self.names.index(token) + self.first
            # `fri-sun`: Sunday closing a weekday range is day 7, as in `5-7`.
            return 7 if range_end and self.names is _CRON_WEEKDAYS and number == 0 else number
        if not (token.isascii() and token.isdigit()):
            raise ValueError(f"'{token}' is not allowed in the {self.name} field (use {self.help})")
        number = int(token)
        if not self.low <= number <= self.high:
            raise ValueError(f"{number} is out of range for {self.name} ({self.low}-{self.high})")
        return number

    def parse(self, text: str) -> set[int]:
        """The set of values a field such as `1-5`, `*/15` or `mon,wed,fri` stands for."""
        values: set[int] = set()
        for part in text.split(","):
            span, slash, step_text = part.partition("/")
            step = 1
            if slash:
                if not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0:
                    raise ValueError(f"'{part}' in the {self.name} field needs a step like */15")
                step = int(step_text)
            if span == "*":
                start, end = self.low, self.high
            elif "-" in span:
                first, _, last = span.partition("-")
                start, end = self.value(first), self.value(last, range_end=True)
                if start > end:
                    raise ValueError(f"the range '{span}' in the {self.name} field goes backwards")
            else:
                start = self.value(span)
                end = self.high if slash else start
            values.update(range(start, end + 1, step))
        return values


_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day of month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS)
_WEEKDAY = _Field("day of week", 0, 7, _CRON_WEEKDAYS, first=0)
CRON_HELP = 'five fields "MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK", e.g. "0 18 * * fri"'


class CronParts:
    """A standard cron expression read into value sets (weekdays 0-6, Sunday = 0)."""

    def __init__(self, expr: str) -> None:
        if not isinstance(expr, str):
            raise ValueError(f"must be text in quotes: {CRON_HELP}")
        fields = expr.split()
        if len(fields) != 5:
            raise ValueError(f"'{expr}' has {len(fields)} fields; cron needs {CRON_HELP}")
        self.text = " ".join(fields)
        self.minute_text, self.hour_text, self.day_text, self.month_text, self.weekday_text = fields
        self.minutes = _MINUTE.parse(fields[0])
        self.hours = _HOUR.parse(fields[1])
        self.days = _DAY.parse(fields[2])
        self.months = _MONTH.parse(fields[3])
        self.weekdays = {day % 7 for day in _WEEKDAY.parse(fields[4])}
        # Standard cron: when both day fields are restricted, either one matching is enough.
        self.either_day = not fields[2].startswith("*") and not fields[4].startswith("*")
        if not any(day <= _DAYS_IN_MONTH[month - 1] for day in self.days for month in self.months):
            raise ValueError(f"'{expr}' names a day that never happens in the months it allows")

    def _trigger(self, tz: Any, *, day: str, weekday: str) -> CronTrigger:
        def listed(values: set[int], text: str) -> str:
            return "*" if text == "*" else ",".join(str(v) for v in sorted(values))

        return CronTrigger(
            minute=listed(self.minutes, self.minute_text),
            hour=listed(self.hours, self.hour_text),
            day=day,
            month=listed(self.months, self.month_text),
            day_of_week=weekday,
            timezone=tz,
        )

    def trigger(self, tz: Any) -> CronTrigger | OrTrigger:
        """The APScheduler trigger; weekdays go over as names, so numbering cannot slip."""
        days = "*" if self.day_text == "*" else ",".join(str(d) for d in sorted(self.days))
        names = ",".join(_CRON_WEEKDAYS[d] for d in sorted(self.weekdays))
        weekdays = "*" if self.weekday_text == "*" else names
        if self.either_day:
            return OrTrigger(
                [
                    self._trigger(tz, day=days, weekday="*"),
                    self._trigger(tz, day="*", weekday=weekdays),
                ]
            )
        return self._trigger(tz, day=days, weekday=weekdays)


def cron_trigger(expr: str, tz: tzinfo | str) -> CronTrigger | OrTrigger:
    """An APScheduler trigger for a standard cron expression (Sunday = 0 or 7, names sun..sat).

    A plain `CronTrigger` in every case but one: when day-of-month and day-of-week are both
    restricted (neither starts with `*`), standard cron fires on either, which takes an
    `OrTrigger` of two CronTriggers. Raises ValueError with a plain-words message.
    """
    return CronParts(expr).trigger(tz)


# --- plain words -----------------------------------------------------------------------


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _describe_cron(expr: str) -> str:
    parts = CronParts(expr)
    if len(parts.minutes) * len(parts.hours) <= 6:
        times = [f"{h:02d}:{m:02d}" for h in sorted(parts.hours) for m in sorted(parts.minutes)]
        words = f"at {_and(times)}"
    else:
        words = f"at minute {parts.minute_text} of hour {parts.hour_text}"
    day_words = []
    if parts.day_text != "*":
        day_words.append(f"on the {_and([_ordinal(d) for d in sorted(parts.days)])}")
    if parts.weekday_text != "*":
        names = [WEEKDAYS[(d - 1) % 7].capitalize() for d in sorted(parts.weekdays, key=_mon_first)]
        day_words.append(f"on {_and(names)}")
    if day_words:
        words += " " + (" or " if parts.either_day else " and ").join(day_words)
    if parts.month_text != "*":
        words += f" in {_and([_MONTH_NAMES[m - 1] for m in sorted(parts.months)])}"
    return f'{words} (cron "{parts.text}")'


def _mon_first(cron_day: int) -> int:
    return (cron_day - 1) % 7


def describe_schedule(schedule: Schedule) -> str:
    """The schedule in plain words for staff, e.g. "every Friday at 18:00, residents' local
    time; closes after 48 hours; reminders after 4 hours and 24 hours"."""
    if schedule.cron:
        when = _describe_cron(schedule.cron)
    elif schedule.every == "day":
        when = f"every day at {schedule.at}"
    elif schedule.on is None:  # only a hand-built Schedule; flow files always give `on`
        when = f"every {schedule.every} at {schedule.at}"
    elif schedule.every in ("week", "fortnight"):
        day = str(schedule.on).capitalize()
        when = f"every {day}" if schedule.every == "week" else f"every other {day}"
        when += f" at {schedule.at}"
    else:
        when = f"on the {_ordinal(int(schedule.on))} of every month at {schedule.at}"
    words = [f"{when}, residents' local time"]
    if schedule.expires:
        words.append(f"closes after {describe_duration(schedule.expires)}")
    if schedule.reminders:
        spans = _and([describe_duration(r) for r in schedule.reminders])
        words.append(
            f"{'reminders' if len(schedule.reminders) > 1 else 'a reminder'} after {spans}"
        )
    return "; ".join(words)
