"""Checks of a flow's `schedule:` block (every/on/at or cron, expires, reminders), building
`model.Schedule` or reporting each problem at its line.

The time arithmetic itself (cron fields, durations such as 24h) lives in `schedules`; this
module only checks what staff wrote and says what to write instead.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal, cast

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from survey_flows.checks.checker import Checker, shown
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.model import Schedule
from survey_flows.schedules import WEEKDAYS, CronParts, parse_duration

SCHEDULE_KEYS = ("every", "on", "at", "cron", "expires", "reminders")
Every = Literal["day", "week", "fortnight", "month"]
EVERY: tuple[Every, ...] = ("day", "week", "fortnight", "month")
CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def check_schedule(checker: Checker, node: Any, line: int) -> Schedule | None:
    """The `schedule:` value `node` (its key on `line`) as a Schedule, or None with problems."""
    if not isinstance(node, CommentedMap) or not node:
        checker.add(
            line,
            "`schedule` must be a set of keys such as every: week, on: friday, at: "
            f'"18:00"; found {shown(node)} (remove `schedule` for a flow without one)',
        )
        return None
    where, count = "schedule: ", len(checker.problems)
    checker.unknown_keys(node, SCHEDULE_KEYS, where)
    if ("every" in node) == ("cron" in node):
        checker.add(
            key_line(node),
            f"{where}give exactly one of `every` (day, week, fortnight or month) or `cron`",
        )
    every = _every(checker, node, where) if "every" in node else None
    on = _weekday_or_date(checker, node, every, where)
    at = "18:00"
    if "at" in node:
        at = _clock(checker, node, where) or at
        if "cron" in node:
            checker.add(
                key_line(node, "at"), f"{where}`at` cannot go with `cron`; cron sets the time"
            )
    cron = None
    if "cron" in node:
        try:
            cron = CronParts(node["cron"]).text
        except ValueError as error:
            checker.add(value_line(node, "cron"), f"{where}`cron`: {error}")
    expires = _duration(checker, node, "expires", where) if "expires" in node else None
    reminders = _reminders(checker, node, expires, where) if "reminders" in node else ()
    if len(checker.problems) > count:
        return None
    return Schedule(
        every=every,
        on=on,
        at=at,
        cron=cron,
        expires=expires,
        reminders=reminders,
    )


def _every(checker: Checker, node: CommentedMap, where: str) -> Every | None:
    return cast("Every | None", checker.one_of(node, "every", EVERY, where, "a period"))


def _weekday_or_date(
    checker: Checker, node: CommentedMap, every: str | None, where: str
) -> str | int | None:
    value = node.get("on")
    line = value_line(node, "on") if "on" in node else key_line(node, "every")
    if "on" not in node:
        if every in ("week", "fortnight"):
            checker.add(line, f"{where}`every: {every}` needs `on`, a weekday, e.g. on: friday")
        elif every == "month":
            checker.add(line, f"{where}`every: month` needs `on`, a day 1-28, e.g. on: 1")
        return None
    if every in ("week", "fortnight"):
        word = value.strip().lower() if isinstance(value, str) else ""
        for day in WEEKDAYS:
            if word in (day, day[:3]):
                return day
        checker.add(
            line, f"{where}`on` must be a weekday such as friday or fri; found {shown(value)}"
        )
    elif every == "month":
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 28:
            return int(value)
        checker.add(
            line,
            f"{where}`on` must be a day of the month from 1 to 28 (so every month has it); "
            f"found {shown(value)}",
        )
    elif every == "day":
        checker.add(line, f"{where}`on` does not apply to `every: day`; remove it")
    elif "cron" in node:
        checker.add(line, f"{where}`on` cannot go with `cron`; cron sets the days")
    return None


def _clock(checker: Checker, node: CommentedMap, where: str) -> str | None:
    value = node["at"]
    match = CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        checker.add(
            value_line(node, "at"),
            f'{where}`at` must be a 24-hour time in quotes, e.g. at: "18:00"; found {shown(value)}',
        )
        return None
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _duration(checker: Checker, node: CommentedMap, key: str, where: str) -> timedelta | None:
    try:
        return parse_duration(node[key])
    except ValueError as error:
        checker.add(value_line(node, key), f"{where}`{key}` {error}")
        return None


def _reminders(
    checker: Checker, node: CommentedMap, expires: timedelta | None, where: str
) -> tuple[timedelta, ...]:
    value = node["reminders"]
    items = value if isinstance(value, CommentedSeq) else [value]
    spans: list[timedelta] = []
    for index, item in enumerate(items):
        line = (
            key_line(value, index)
            if isinstance(value, CommentedSeq)
            else key_line(node, "reminders")
        )
        try:
            span = parse_duration(item)
        except ValueError as error:
            checker.add(line, f"{where}reminder {shown(item)}: {error}")
            continue
        if spans and span <= spans[-1]:
            checker.add(
                line, f"{where}`reminders` must go from shortest to longest, e.g. [4h, 24h]"
            )
        if expires is not None and span >= expires:
            checker.add(
                line,
                f"{where}reminder {shown(item)} comes when the check-in has already closed "
                "(`expires`); make it shorter, or `expires` longer",
            )
        spans.append(span)
    return tuple(spans)
