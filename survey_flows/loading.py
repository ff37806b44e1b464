"""Read survey flow files (YAML 1.2) into `model.Flow`, or explain every problem in plain words.

Flow files are written by project staff, not programmers, so each problem names the file,
the line and the key, says what is wrong and what to write instead, and all problems of a
file are reported together. The contract is /work/shared/flow-format.md; `schema.json`
mirrors these rules for editors.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from survey_flows.expressions import check_condition, check_template
from survey_flows.model import STEP_TYPES, Choice, Flow, Measure, Schedule, Step, StepType, Text
from survey_flows.schedules import WEEKDAYS, CronParts, parse_duration

TOP_KEYS = ("flow", "title", "language", "schedule", "intro", "outro", "steps", "measures")
SCHEDULE_KEYS = ("every", "on", "at", "cron", "expires", "reminders")
STEP_KEYS = (
    "id", "say", "ask", "type", "min", "max", "choices", "measure", "when",
    "optional", "invalid", "max_attempts", "alert", "max_length",
)  # fmt: skip
CHOICE_KEYS = ("value", "label", "score", "aliases")
MEASURE_KEYS = ("label", "higher_is_better", "reliability", "meaningful_change")
Every = Literal["day", "week", "fortnight", "month"]
Kind = Literal["say", "ask"]
EVERY: tuple[Every, ...] = ("day", "week", "fortnight", "month")
MEASURED_TYPES = ("scale", "number", "choice", "yes_no")

FLOW_ID = re.compile(r"[a-z0-9-]+")
STEP_ID = re.compile(r"[a-z0-9_]+")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
INTERNAL_ERROR = "Groundswell could not finish checking this file; please report this"
_ASK_ONLY = ("type", "min", "max", "choices", "optional", "invalid", "max_attempts", "max_length")
# Words staff reach for that difflib cannot connect to the right key.
_HINTS = {
    "id": "flow", "name": "flow", "question": "ask", "text": "ask", "message": "say",
    "options": "choices", "answers": "choices", "condition": "when", "if": "when",
    "day": "on", "weekday": "on", "time": "at", "expiry": "expires", "timeout": "expires",
    "kind": "type", "minimum": "min", "maximum": "max", "attempts": "max_attempts",
    "required": "optional", "repeat": "every", "frequency": "every",
}  # fmt: skip


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow file, at a 1-based line (1 for whole-file problems)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class FlowError(Exception):
    """A flow file could not be used; `problems` lists every reason, not just the first."""

    def __init__(self, problems: Iterable[FlowProblem]) -> None:
        self.problems: list[FlowProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# --- small helpers ---------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain_number(value: Any) -> int | float:
    """ruamel's ScalarInt/ScalarFloat as plain Python numbers, so flows compare and hash simply."""
    return int(value) if isinstance(value, int) else float(value)


def _shown(value: object) -> str:
    """A value as staff wrote it, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return "a list" if isinstance(value, list) else "a set of keys"
    if _is_number(value):
        return str(value)
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _suggest(word: object, choices: Sequence[str]) -> str:
    """ "; did you mean `X`?" for a near miss, else "; use one of: ..." listing what is allowed."""
    text = str(word).strip().lower()
    hint = _HINTS.get(text)
    close = [hint] if hint in choices else difflib.get_close_matches(text, choices, n=1)
    if close:
        return f"; did you mean `{close[0]}`?"
    return f"; use one of: {', '.join(choices)}"


def _line(node: Any, key: object = None) -> int:
    """1-based line of `key` in a mapping (or item `key` of a list), else of the node itself."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 1
    try:
        if isinstance(node, CommentedSeq) and isinstance(key, int):
            return int(lc.item(key)[0]) + 1
        if key is not None and key in node:
            return int(lc.key(key)[0]) + 1
    except (KeyError, TypeError, IndexError):
        pass
    return int(lc.line or 0) + 1


def _value_line(node: Any, key: object) -> int:
    """1-based line where the value of `key` starts (for flow-style and block values alike)."""
    try:
        return int(node.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return _line(node, key)


def _with_hint(problem: str, known: Sequence[str]) -> str:
    """An expression problem, with "did you mean" for a misspelt step id."""
    unknown = re.search(r"unknown step '(.+?)'", problem)
    if unknown:
        close = difflib.get_close_matches(unknown.group(1), known, n=1)
        if close:
            return f"{problem} (did you mean '{close[0]}'?)"
    return problem


def _reply_form(text: str) -> str:
    """How replies are compared: case, surrounding spaces and punctuation ignored."""
    stripped = text.casefold().strip(string.punctuation + string.whitespace)
    return " ".join(stripped.split())


# --- YAML ------------------------------------------------------------------------------

_YAML_WORDS = (
    ("found duplicate key", "appears twice in the same block; keep only one of them"),
    (
        "mapping values are not allowed",
        "a colon followed by a space (': ') cannot appear here; if this is a text, "
        'put the whole text in double quotes, e.g. ask: "Note: ..."',
    ),
    ("found character '\\t'", "a tab is used here; indent with spaces, never tabs"),
    ("could not find expected ':'", "a line lacks its colon (key: value), or a quote is open"),
    ("expected <block end>", "the indentation here does not line up with the lines above"),
    ("did not find expected key", "the indentation here does not line up with the lines above"),
    ("did not find expected '-'", "this list item does not line up with the items above it"),
    ("expected the node content", "a [ or { here is never closed"),
    ("'<stream end>'", "a [ or { here is never closed"),
    ("expected ',' or", "the items inside [ ] or { } must be separated by commas"),
    ("found undefined alias", "a *name refers to an &name anchor that is not defined"),
    ("expected a single document", "the file holds more than one document (a second ---)"),
    ("found unexpected end of stream", "a quoted text starting here is never closed"),
    ("that cannot start any token", "a value cannot start with this character; quote it"),
)


def _yaml_problem(error: Exception, text: str) -> tuple[int, str]:
    """The line and a plain-words message for an error ruamel.yaml raised."""
    if isinstance(error, MarkedYAMLError):
        problem = str(error.problem or error.context or "")
        mark = error.problem_mark or error.context_mark
        if ("end of stream" in problem or "<stream end>" in problem) and error.context_mark:
            mark = error.context_mark  # where the unclosed quote or bracket opened
        line = mark.line + 1 if mark is not None else 1
        for needle, words in _YAML_WORDS:
            if needle in problem or needle in str(error.context or ""):
                if needle == "found duplicate key":
                    key = re.search(r'key "(.*?)" with', problem)
                    words = f"`{key.group(1) if key else '?'}` {words}"
                return line, f"the file is not valid YAML: {words} (YAML says: {problem})"
        return line, f"the file is not valid YAML: {problem}"
    position = getattr(error, "position", None)
    if isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        return line, (
            "the file contains a control character that text files cannot hold; "
            "retype this line or save the file as plain UTF-8 text"
        )
    if isinstance(error, RecursionError):
        return 1, "the file is nested too deeply to be a survey flow"
    return 1, f"the file is not valid YAML: {error}"


def _load_yaml(text: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml.load(text)


# --- the checker -----------------------------------------------------------------------


class _FlowReader:
    """Walks one parsed YAML document, collecting problems and building the Flow."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[FlowProblem] = []
        self.language = "en"
        self.flow_id: str | None = None
        self.flow_line = 1
        self.step_ids: list[str] = []  # every id given, even on broken steps, for references
        self.measure_names: list[str] = []  # every `measure:` given, even on broken steps

    def add(self, line: int, message: str) -> None:
        self.problems.append(FlowProblem(self.path, line, message))

    def unknown_keys(self, node: CommentedMap, allowed: Sequence[str], where: str) -> None:
        for key in node:
            if key not in allowed:
                self.add(_line(node, key), f"{where}unknown key `{key}`{_suggest(key, allowed)}")

    # -- scalars

    def string(self, node: CommentedMap, key: str, where: str, example: str) -> str | None:
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            hint = " (put it in quotes)" if _is_number(value) else ""
            self.add(
                _value_line(node, key),
                f"{where}`{key}` must be text{hint}, e.g. {key}: {example}; found {_shown(value)}",
            )
            return None
        return str(value).strip()

    def boolean(self, node: CommentedMap, key: str, where: str) -> bool | None:
        value = node[key]
        if not isinstance(value, bool):
            self.add(
                _value_line(node, key),
                f"{where}`{key}` must be true or false; found {_shown(value)}",
            )
            return None
        return bool(value)

    def number(
        self, node: CommentedMap, key: str, where: str, *, whole: bool = False
    ) -> int | float | None:
        value = node[key]
        if not _is_number(value) or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            self.add(
                _value_line(node, key), f"{where}`{key}` must be {kind}; found {_shown(value)}"
            )
            return None
        return _plain_number(value)

    def language_code(self, value: object, line: int, where: str) -> str | None:
        code = str(value).strip().lower().replace("_", "-") if isinstance(value, str) else ""
        if not LANGUAGE.fullmatch(code):
            self.add(
                line,
                f"{where}{_shown(value)} is not a language code; use codes like en, cy or pt-br",
            )
            return None
        return code

    # -- texts and conditions

    def text(
        self,
        node: CommentedMap,
        key: str,
        where: str,
        known: Sequence[str],
        later: Iterable[str],
    ) -> Text | None:
        """A text: a template string, or a mapping language -> template string."""
        value, later = node[key], tuple(later)
        if isinstance(value, str):
            if not value.strip():
                self.add(_value_line(node, key), f"{where}`{key}` is empty; write the text")
                return None
            self.template(value, _value_line(node, key), f"{where}`{key}`", known, later)
            return {self.language: str(value)}
        if not isinstance(value, CommentedMap) or not value:
            self.add(
                _value_line(node, key),
                f"{where}`{key}` must be a text, or translations such as "
                f'en: "..." and cy: "..." on their own lines; found {_shown(value)}',
            )
            return None
        texts: Text = {}
        for language, translation in value.items():
            line = _line(value, language)
            code = self.language_code(language, line, f"{where}`{key}`: ")
            if code is None:
                continue
            if code in texts:
                self.add(line, f"{where}`{key}` has the language {code} twice; keep one")
            elif not isinstance(translation, str) or not translation.strip():
                self.add(line, f"{where}`{key}` ({code}) must be a non-empty text")
            else:
                self.template(translation, line, f"{where}`{key}` ({code})", known, later)
                texts[code] = str(translation)
        return texts if len(texts) == len(value) else None

    def template(
        self, source: str, line: int, what: str, known: Sequence[str], later: tuple[str, ...]
    ) -> None:
        for problem in check_template(source, known, later):
            problem = _with_hint(problem, known)
            if problem.startswith("template does not parse"):
                problem += " (placeholders look like {{ answers.STEP }})"
            self.add(line, f"{what}: {problem}")

    def condition(
        self,
        node: CommentedMap,
        key: str,
        where: str,
        known: Sequence[str],
        later: Iterable[str],
    ) -> str | None:
        value, line = node[key], _value_line(node, key)
        if not isinstance(value, str):
            self.add(
                line,
                f'{where}`{key}` must be a condition, e.g. {key}: "answers.mood <= 4"; '
                f"found {_shown(value)}",
            )
            return None
        problems = check_condition(value, known, tuple(later))
        for problem in problems:
            problem = _with_hint(problem, known)
            if key == "when" and "later step" in problem:
                problem += " (a `when` can only use answers to earlier steps)"
            self.add(line, f"{where}`{key}`: {problem}")
        return None if problems else str(value).strip()

    # -- the flow

    def read(self, doc: Any, text: str) -> Flow | None:
        if not isinstance(doc, CommentedMap):
            found = "nothing" if doc is None else _shown(doc)
            self.add(
                1,
                "a flow file must be a set of keys starting with `flow:`, `title:` and `steps:`; "
                f"this file holds {found}",
            )
            return None
        self.unknown_keys(doc, TOP_KEYS, "")
        for key, example in (
            ("flow", "weekly-wellbeing"),
            ("title", "Weekly wellbeing check-in"),
            ("steps", "a list of steps, each with `id:` and `ask:` or `say:`"),
        ):
            if key not in doc:
                self.add(1, f"`{key}` is missing; every flow needs it, e.g. {key}: {example}")
        if "language" in doc:
            code = self.language_code(doc["language"], _value_line(doc, "language"), "`language`: ")
            self.language = code or self.language
        flow_id = self.flow_key(doc)
        title = self.string(doc, "title", "", "Weekly check-in") if "title" in doc else None
        schedule = (
            self.schedule(doc["schedule"], _line(doc, "schedule")) if "schedule" in doc else None
        )
        steps = self.steps(doc, doc["steps"]) if "steps" in doc else ()
        ids = self.step_ids
        intro = self.text(doc, "intro", "", ids, ids) if "intro" in doc else None
        outro = self.text(doc, "outro", "", ids, ()) if "outro" in doc else None
        measures = self.measures(doc, steps)
        if self.problems or flow_id is None or title is None:
            return None
        return Flow(
            id=flow_id,
            title=title,
            steps=steps,
            language=self.language,
            schedule=schedule,
            intro=intro,
            outro=outro,
            measures=measures,
            version=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            source_path=self.path,
            source_text=text,
        )

    def flow_key(self, doc: CommentedMap) -> str | None:
        if "flow" not in doc:
            return None
        self.flow_line = _value_line(doc, "flow")
        value = doc["flow"]
        if isinstance(value, str) and FLOW_ID.fullmatch(value.strip()):
            self.flow_id = value.strip()
            return self.flow_id
        written = value if isinstance(value, str) else ""
        slug = re.sub(r"[^a-z0-9]+", "-", written.lower()).strip("-") or "weekly-wellbeing"
        self.add(
            self.flow_line,
            f"`flow` is the flow's id and may hold only lowercase letters, digits and dashes, "
            f"e.g. flow: {slug}; found {_shown(value)}",
        )
        return None

    # -- schedule

    def schedule(self, node: Any, line: int) -> Schedule | None:
        if not isinstance(node, CommentedMap) or not node:
            self.add(
                line,
                "`schedule` must be a set of keys such as every: week, on: friday, at: "
                f'"18:00"; found {_shown(node)} (remove `schedule` for a flow without one)',
            )
            return None
        where, count = "schedule: ", len(self.problems)
        self.unknown_keys(node, SCHEDULE_KEYS, where)
        if ("every" in node) == ("cron" in node):
            self.add(
                _line(node),
                f"{where}give exactly one of `every` (day, week, fortnight or month) or `cron`",
            )
        every = self.every(node, where) if "every" in node else None
        on = self.weekday_or_date(node, every, where)
        at = "18:00"
        if "at" in node:
            at = self.clock(node, where) or at
            if "cron" in node:
                self.add(
                    _line(node, "at"), f"{where}`at` cannot go with `cron`; cron sets the time"
                )
        cron = None
        if "cron" in node:
            try:
                cron = CronParts(node["cron"]).text
            except ValueError as error:
                self.add(_value_line(node, "cron"), f"{where}`cron`: {error}")
        expires = self.duration(node, "expires", where) if "expires" in node else None
        reminders = self.reminders(node, expires, where) if "reminders" in node else ()
        if len(self.problems) > count:
            return None
        return Schedule(
            every=every,
            on=on,
            at=at,
            cron=cron,
            expires=expires,
            reminders=reminders,
        )

    def every(self, node: CommentedMap, where: str) -> Every | None:
        value = node["every"]
        word = value.strip() if isinstance(value, str) else ""
        if word not in EVERY:
            self.add(
                _value_line(node, "every"),
                f"{where}`every: {value}` is not a period{_suggest(word, EVERY)}",
            )
            return None
        return cast(Every, word)

    def weekday_or_date(
        self, node: CommentedMap, every: str | None, where: str
    ) -> str | int | None:
        value = node.get("on")
        line = _value_line(node, "on") if "on" in node else _line(node, "every")
        if "on" not in node:
            if every in ("week", "fortnight"):
                self.add(line, f"{where}`every: {every}` needs `on`, a weekday, e.g. on: friday")
            elif every == "month":
                self.add(line, f"{where}`every: month` needs `on`, a day 1-28, e.g. on: 1")
            return None
        if every in ("week", "fortnight"):
            word = value.strip().lower() if isinstance(value, str) else ""
            for day in WEEKDAYS:
                if word in (day, day[:3]):
                    return day
            self.add(
                line, f"{where}`on` must be a weekday such as friday or fri; found {_shown(value)}"
            )
        elif every == "month":
            if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 28:
                return int(value)
            self.add(
                line,
                f"{where}`on` must be a day of the month from 1 to 28 (so every month has it); "
                f"found {_shown(value)}",
            )
        elif every == "day":
            self.add(line, f"{where}`on` does not apply to `every: day`; remove it")
        elif "cron" in node:
            self.add(line, f"{where}`on` cannot go with `cron`; cron sets the days")
        return None

    def clock(self, node: CommentedMap, where: str) -> str | None:
        value = node["at"]
        match = CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
        if not match:
            self.add(
                _value_line(node, "at"),
                f'{where}`at` must be a 24-hour time in quotes, e.g. at: "18:00"; '
                f"found {_shown(value)}",
            )
            return None
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    def duration(self, node: CommentedMap, key: str, where: str) -> timedelta | None:
        try:
            return parse_duration(node[key])
        except ValueError as error:
            self.add(_value_line(node, key), f"{where}`{key}` {error}")
            return None

    def reminders(
        self, node: CommentedMap, expires: timedelta | None, where: str
    ) -> tuple[timedelta, ...]:
        value = node["reminders"]
        items = value if isinstance(value, CommentedSeq) else [value]
        spans: list[timedelta] = []
        for index, item in enumerate(items):
            line = (
                _line(value, index) if isinstance(value, CommentedSeq) else _line(node, "reminders")
            )
            try:
                span = parse_duration(item)
            except ValueError as error:
                self.add(line, f"{where}reminder {_shown(item)}: {error}")
                continue
            if spans and span <= spans[-1]:
                self.add(
                    line, f"{where}`reminders` must go from shortest to longest, e.g. [4h, 24h]"
                )
            if expires is not None and span >= expires:
                self.add(
                    line,
                    f"{where}reminder {_shown(item)} comes when the check-in has already closed "
                    "(`expires`); make it shorter, or `expires` longer",
                )
            spans.append(span)
        return tuple(spans)

    # -- steps

    def steps(self, doc: CommentedMap, node: Any) -> tuple[Step, ...]:
        line = _line(doc, "steps")
        if not isinstance(node, CommentedSeq) or not node:
            self.add(
                line,
                "`steps` must be a list of steps, each starting with `- id:`; "
                f"found {_shown(node)}",
            )
            return ()
        ids: list[str] = []
        first_line: dict[str, int] = {}
        for item in node:
            raw = item.get("id") if isinstance(item, CommentedMap) else None
            step_id = raw.strip() if isinstance(raw, str) else None
            ids.append(step_id or "")
            if step_id and step_id in first_line:
                self.add(
                    _value_line(item, "id"),
                    f"step id '{step_id}' is used twice (first on line {first_line[step_id]}); "
                    "each step needs its own id",
                )
            elif step_id:
                first_line[step_id] = _value_line(item, "id")
        known = self.step_ids = [step_id for step_id in ids if step_id]
        steps = []
        for index, item in enumerate(node):
            step = self.step(node, index, item, ids, known)
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def step(
        self, seq: CommentedSeq, index: int, node: Any, ids: list[str], known: list[str]
    ) -> Step | None:
        line = _line(seq, index)
        if not isinstance(node, CommentedMap):
            self.add(
                line,
                f"step {index + 1} must be a set of keys such as `id:`, `ask:` and `type:`; "
                f"found {_shown(node)}",
            )
            return None
        count = len(self.problems)
        step_id = self.step_id(node, index, line)
        where = f"step '{step_id}': " if step_id else f"step {index + 1}: "
        self.unknown_keys(node, STEP_KEYS, where)
        later = [i for i in ids[index + 1 :] if i]
        this_and_later = [i for i in ids[index:] if i]
        kind = self.kind(node, where, line)
        texts = {
            k: self.text(node, k, where, known, this_and_later) for k in ("ask", "say") if k in node
        }
        text = texts.get(kind) if kind else None
        step_type = self.step_type(node, kind, where)
        low, high = self.bounds(node, step_type, where)
        choices: tuple[Choice, ...] = ()
        if "choices" in node:
            if step_type == "choice":
                choices = self.choices(node, where, known, this_and_later, "measure" in node)
            elif step_type is not None:
                self.add(_line(node, "choices"), f"{where}`choices` only apply to `type: choice`")
        elif step_type == "choice":
            self.add(line, f"{where}`type: choice` needs `choices`, a list of options like "
                           "{value: often, label: \"Often\"}")  # fmt: skip
        measure = self.measure(node, kind, step_type, where)
        max_length, attempts, optional, invalid = self.reply_settings(
            node, kind, step_type, where, known, this_and_later
        )
        when = (
            self.condition(node, "when", where, known, this_and_later) if "when" in node else None
        )
        alert = self.condition(node, "alert", where, known, later) if "alert" in node else None
        if len(self.problems) > count or step_id is None or kind is None or text is None:
            return None
        return Step(
            id=step_id,
            kind=kind,
            text=text,
            type=step_type,
            min=low,
            max=high,
            choices=choices,
            measure=measure,
            when=when,
            optional=optional,
            invalid=invalid,
            max_attempts=attempts,
            alert=alert,
            max_length=max_length,
            line=line,
        )

    def reply_settings(
        self,
        node: CommentedMap,
        kind: str | None,
        step_type: str | None,
        where: str,
        known: Sequence[str],
        later: Sequence[str],
    ) -> tuple[int | None, int, bool, Text | None]:
        """`max_length`, `max_attempts`, `optional` and `invalid`: how replies are taken."""
        if kind == "say":  # already reported as not applying to a `say` step
            return None, 3, False, None
        max_length = None
        if "max_length" in node:
            value = self.number(node, "max_length", where, whole=True)
            if step_type not in (None, "text"):
                message = f"{where}`max_length` only applies to `type: text`"
                self.add(_line(node, "max_length"), message)
            elif value is not None and value < 1:
                self.add(_value_line(node, "max_length"), f"{where}`max_length` must be 1 or more")
            max_length = int(value) if value is not None else None
        attempts = 3
        if "max_attempts" in node:
            value = self.number(node, "max_attempts", where, whole=True)
            if value is not None and value < 1:
                message = f"{where}`max_attempts` must be 1 or more (it is 3 when not given)"
                self.add(_value_line(node, "max_attempts"), message)
            attempts = int(value or 3)
        optional = self.boolean(node, "optional", where) if "optional" in node else False
        invalid = self.text(node, "invalid", where, known, later) if "invalid" in node else None
        return max_length, attempts, bool(optional), invalid

    def step_id(self, node: CommentedMap, index: int, line: int) -> str | None:
        if "id" not in node:
            self.add(line, f"step {index + 1} needs an `id`, e.g. id: mood (lowercase, digits, _)")
            return None
        value = node["id"]
        if isinstance(value, str) and STEP_ID.fullmatch(value.strip()):
            return value.strip()
        if _is_number(value):
            self.add(
                _value_line(node, "id"),
                f"step {index + 1}: `id` must be a word, such as id: mood; a number like {value} "
                f'only works in quotes (id: "{value}")',
            )
            return None
        written = value if isinstance(value, str) else ""
        slug = re.sub(r"[^a-z0-9]+", "_", written.lower()).strip("_") or "mood"
        self.add(
            _value_line(node, "id"),
            f"step {index + 1}: `id` may hold only lowercase letters, digits and underscores, "
            f"e.g. id: {slug}; found {_shown(value)}",
        )
        return None

    def kind(self, node: CommentedMap, where: str, line: int) -> Kind | None:
        if "ask" in node and "say" in node:
            self.add(
                _line(node, "say"),
                f"{where}has both `ask` and `say`; use `ask` for a question, `say` for a message "
                "that needs no reply, and split them into two steps if you need both",
            )
            return None
        if "ask" not in node and "say" not in node:
            self.add(line, f"{where}needs `ask` (a question) or `say` (a message with no reply)")
            return None
        return "ask" if "ask" in node else "say"

    def step_type(self, node: CommentedMap, kind: Kind | None, where: str) -> StepType | None:
        if kind == "say":
            for key in _ASK_ONLY:
                if key in node:
                    self.add(
                        _line(node, key),
                        f"{where}`{key}` only applies to questions (`ask`); a `say` step gets "
                        "no reply",
                    )
            return None
        if "type" not in node:
            if kind == "ask":
                self.add(
                    _line(node, "ask"), f"{where}`ask` needs a `type`: {', '.join(STEP_TYPES)}"
                )
            return None
        value = node["type"]
        word = value.strip() if isinstance(value, str) else ""
        if word not in STEP_TYPES:
            self.add(
                _value_line(node, "type"),
                f"{where}`type: {value}` is not a step type{_suggest(word, STEP_TYPES)}",
            )
            return None
        return cast(StepType, word)

    def bounds(
        self, node: CommentedMap, step_type: str | None, where: str
    ) -> tuple[int | float | None, int | float | None]:
        if step_type not in ("scale", "number"):
            for key in ("min", "max"):
                if key in node and step_type is not None:
                    self.add(
                        _line(node, key), f"{where}`{key}` only applies to scale or number steps"
                    )
            return None, None
        whole = step_type == "scale"
        if whole and ("min" not in node or "max" not in node):
            self.add(
                _line(node, "type"),
                f"{where}`type: scale` needs `min` and `max`, e.g. min: 0, max: 10",
            )
        low = self.number(node, "min", where, whole=whole) if "min" in node else None
        high = self.number(node, "max", where, whole=whole) if "max" in node else None
        if low is not None and high is not None and low >= high:
            self.add(_line(node, "max"), f"{where}`max` ({high}) must be more than `min` ({low})")
        return low, high

    def measure(
        self, node: CommentedMap, kind: str | None, step_type: str | None, where: str
    ) -> str | None:
        if "measure" not in node:
            return None
        line = _value_line(node, "measure")
        if kind == "say" or step_type not in (None, *MEASURED_TYPES):
            what = (
                "a `say` step has no answer" if kind == "say" else "a text answer is not a number"
            )
            self.add(line, f"{where}{what}, so it cannot feed a measure; remove `measure`")
            return None
        name = self.string(node, "measure", where, "life_satisfaction")
        if name is not None:
            self.measure_names.append(name)
        return name

    def choices(
        self,
        node: CommentedMap,
        where: str,
        known: Sequence[str],
        later: Sequence[str],
        need_scores: bool,
    ) -> tuple[Choice, ...]:
        seq = node["choices"]
        if not isinstance(seq, CommentedSeq) or not seq:
            self.add(
                _value_line(node, "choices"),
                f"{where}`choices` must be a list of options, each like "
                f'{{value: often, label: "Often", score: 4}}; found {_shown(seq)}',
            )
            return ()
        result: list[Choice] = []
        replies: dict[str, tuple[int, str]] = {}
        for index, item in enumerate(seq):
            line = _line(seq, index)
            here = f"{where}choice {index + 1}: "
            if not isinstance(item, CommentedMap):
                self.add(
                    line,
                    f'{here}must be like {{value: often, label: "Often"}}; found {_shown(item)}',
                )
                continue
            self.unknown_keys(item, CHOICE_KEYS, here)
            value = self.choice_token(item, "value", here) if "value" in item else None
            if "value" not in item:
                self.add(
                    line, f"{here}needs a `value`, the word stored as the answer, e.g. value: often"
                )
            label = self.text(item, "label", here, known, later) if "label" in item else None
            if "label" not in item:
                self.add(
                    line, f'{here}needs a `label`, the words residents see, e.g. label: "Often"'
                )
            score = self.number(item, "score", here) if "score" in item else None
            if need_scores and "score" not in item:
                self.add(
                    line, f"{here}this step feeds a `measure`, so every choice needs a `score`"
                )
            aliases = self.aliases(item, here) if "aliases" in item else ()
            if value is None or label is None:
                continue
            tokens = [value, *label.values(), *aliases]
            for token in tokens:
                self.claim_reply(replies, token, index, value, line, where, len(seq))
            result.append(Choice(value=value, label=label, score=score, aliases=aliases))
        return tuple(result)

    def choice_token(self, node: CommentedMap, key: str, where: str) -> str | None:
        value = node[key]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.string(node, key, where, "often")

    def aliases(self, node: CommentedMap, where: str) -> tuple[str, ...]:
        value = node["aliases"]
        items = value if isinstance(value, CommentedSeq) else [value]
        result = []
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.add(
                    _value_line(node, "aliases"),
                    f"{where}`aliases` must be a list of words, e.g. aliases: [rarely, seldom]; "
                    f"found {_shown(item)}",
                )
                return ()
            result.append(item.strip())
        return tuple(result)

    def claim_reply(
        self,
        replies: dict[str, tuple[int, str]],
        token: str,
        index: int,
        value: str,
        line: int,
        where: str,
        count: int,
    ) -> None:
        """Refuse a value, label or alias that a reply could take for a different choice."""
        form = _reply_form(token)
        if not form:
            return
        owner = replies.get(form)
        if owner is not None and owner[0] != index:
            if form == _reply_form(owner[1]) and form == _reply_form(value):
                message = f"{where}choice value '{value}' is used twice; each choice needs its own"
            else:
                message = (
                    f"{where}the reply '{token}' would match both '{owner[1]}' and '{value}'; "
                    "make values, labels and aliases different"
                )
            self.add(line, message)
        elif form.isdigit() and 1 <= int(form) <= count and int(form) != index + 1:
            self.add(
                line,
                f"{where}choice '{value}' uses '{token}', but a reply of {form} means option "
                f"{form}; use another word or put the choices in that order",
            )
        replies.setdefault(form, (index, value))

    # -- measures

    def measures(self, doc: CommentedMap, steps: Sequence[Step]) -> dict[str, Measure]:
        used = list(dict.fromkeys(self.measure_names))
        result = {name: Measure(name, name.replace("_", " ").capitalize()) for name in used}
        if "measures" not in doc:
            return result
        node = doc["measures"]
        if not isinstance(node, CommentedMap):
            self.add(
                _value_line(doc, "measures"),
                '`measures` must be a set of measure names, e.g. loneliness: {label: "Loneliness"}',
            )
            return result
        for name, meta in node.items():
            line, where = _line(node, name), f"measure '{name}': "
            if name not in used:
                close = difflib.get_close_matches(str(name), used, 1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(
                    line,
                    f"{where}no step uses this measure{hint}; add `measure: {name}` to a step "
                    "or remove it from `measures`",
                )
            if meta is None:
                meta = CommentedMap()
            if not isinstance(meta, CommentedMap):
                self.add(line, f'{where}must be a set of keys like {{label: "Loneliness"}}')
                continue
            self.unknown_keys(meta, MEASURE_KEYS, where)
            measure = self.measure_meta(str(name), meta, where)
            if measure is not None and name in result:
                result[name] = measure
        return result

    def measure_meta(self, name: str, node: CommentedMap, where: str) -> Measure | None:
        count = len(self.problems)
        label = (
            self.string(node, "label", where, '"Life satisfaction"') if "label" in node else None
        )
        better = (
            self.boolean(node, "higher_is_better", where) if "higher_is_better" in node else True
        )
        reliability = self.number(node, "reliability", where) if "reliability" in node else None
        if reliability is not None and not 0 < reliability < 1:
            self.add(
                _value_line(node, "reliability"),
                f"{where}`reliability` is a test-retest correlation between 0 and 1, e.g. 0.8",
            )
        change = (
            self.number(node, "meaningful_change", where) if "meaningful_change" in node else None
        )
        if change is not None and change <= 0:
            self.add(
                _value_line(node, "meaningful_change"),
                f"{where}`meaningful_change` must be more than 0",
            )
        if len(self.problems) > count:
            return None
        return Measure(
            name=name,
            label=label or name.replace("_", " ").capitalize(),
            higher_is_better=bool(better),
            reliability=float(reliability) if reliability is not None else None,
            meaningful_change=float(change) if change is not None else None,
        )


# --- public entry points ---------------------------------------------------------------


def _check(text: str, path: str) -> tuple[Flow | None, list[FlowProblem], _FlowReader]:
    reader = _FlowReader(path)
    try:
        doc = _load_yaml(text)
    except Exception as error:  # ruamel raises more than YAMLError on odd input
        line, message = _yaml_problem(error, text)
        reader.add(line, message)
        return None, reader.problems, reader
    try:
        flow = reader.read(doc, text)
    except RecursionError:
        reader.add(1, "the file is nested too deeply to be a survey flow")
        flow = None
    except Exception as error:  # a bug of ours must still reach staff as a problem, not a crash
        reader.add(1, f"{INTERNAL_ERROR} ({type(error).__name__}: {error})")
        flow = None
    if reader.problems:
        flow = None
        reader.problems.sort(key=lambda problem: problem.line)
    return flow, reader.problems, reader


def check_flow_text(text: str, path: str = "<flow>") -> tuple[Flow | None, list[FlowProblem]]:
    """The Flow and no problems, or None and every problem found in the text."""
    flow, problems, _ = _check(text, path)
    return flow, problems


def parse_flow(text: str, path: str = "<flow>") -> Flow:
    """Parse and validate a flow's YAML text; raises FlowError listing every problem."""
    flow, problems = check_flow_text(text, path)
    if flow is None:
        raise FlowError(problems)
    return flow


def read_flow_text(path: str | os.PathLike[str]) -> str:
    """A flow file's text, or FlowError saying plainly why it cannot be read as UTF-8 text."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FlowError([FlowProblem(name, 1, "there is no such file")]) from None
    except IsADirectoryError:
        raise FlowError([FlowProblem(name, 1, "this is a folder, not a flow file")]) from None
    except OSError as error:
        message = f"the file cannot be read: {error.strerror or error}"
        raise FlowError([FlowProblem(name, 1, message)]) from None
    if b"\x00" in data:
        message = (
            "this looks like a binary file, not a YAML text file; check you chose the right file"
        )
        raise FlowError([FlowProblem(name, 1, message)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = (
            "the file is not UTF-8 text (it may be in another encoding, or not a text file); "
            "save it as UTF-8 in your editor"
        )
        raise FlowError([FlowProblem(name, line, message)]) from None


def load_flow(path: str | os.PathLike[str]) -> Flow:
    """Read and parse one flow file; every failure is a FlowError, never a traceback."""
    return parse_flow(read_flow_text(path), str(path))


# --- the flows folder ------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One file's check result, valid while the file's modification time and size hold."""

    stamp: tuple[int, int]
    flow: Flow | None
    problems: tuple[FlowProblem, ...]
    flow_id: str | None
    flow_line: int


def default_flows_folder() -> Path:
    """`GROUNDSWELL_FLOWS` if set, else the flows shipped inside the package."""
    configured = os.environ.get("GROUNDSWELL_FLOWS")
    return Path(configured) if configured else Path(__file__).parent / "library"


class FlowLibrary:
    """The flows folder: find flows by id or path, list them, and check them all at once.

    Each file is parsed once and re-read only when its modification time or size changes,
    so resolving a flow on every incoming message stays cheap.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_flows_folder()
        self._cache: dict[Path, _Entry] = {}

    def files(self) -> list[Path]:
        """The flow files in the folder (`*.yaml` and `*.yml`), in name order."""
        if not self.folder.is_dir():
            return []
        found = [p for p in self.folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()]
        return sorted(found)

    def _entry(self, path: Path) -> _Entry:
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = (-1, -1)
        cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        try:
            text = read_flow_text(path)
        except FlowError as error:
            entry = _Entry(stamp, None, tuple(error.problems), None, 1)
        else:
            flow, problems, reader = _check(text, str(path))
            entry = _Entry(stamp, flow, tuple(problems), reader.flow_id, reader.flow_line)
        self._cache[path] = entry
        return entry

    def _by_id(self) -> dict[str, list[tuple[Path, _Entry]]]:
        found: dict[str, list[tuple[Path, _Entry]]] = {}
        for path in self.files():
            entry = self._entry(path)
            if entry.flow_id:
                found.setdefault(entry.flow_id, []).append((path, entry))
        return found

    def ids(self) -> list[str]:
        """The flow ids in the folder, broken files included when their `flow:` can be read."""
        return sorted(self._by_id())

    def resolve(self, name_or_path: str | os.PathLike[str]) -> Flow:
        """A flow by its id in the folder, or by the path of a YAML file; FlowError otherwise."""
        name = str(name_or_path)
        path = Path(name)
        if path.suffix in (".yaml", ".yml") or os.sep in name or "/" in name:
            if not path.exists() and (self.folder / name).is_file():
                path = self.folder / name  # a file name from the flows folder
            entry = self._entry(path.resolve())
            if entry.flow is None:
                raise FlowError(entry.problems)
            return entry.flow
        matches = self._by_id().get(name, [])
        if len(matches) > 1:
            raise FlowError(self._duplicates(name, matches))
        if not matches:
            available = ", ".join(self.ids()) or "none"
            message = (
                f"there is no flow '{name}' in {self.folder} (flows there: {available}); "
                "give a flow id from that list or the path to a .yaml file"
            )
            raise FlowError([FlowProblem(name, 1, message)])
        entry = matches[0][1]
        if entry.flow is None:
            raise FlowError(entry.problems)
        return entry.flow

    def all(self) -> list[Flow]:
        """Every flow in the folder, by id; FlowError listing every problem if any file has one."""
        problems = self.check_all()
        if problems:
            raise FlowError(problems)
        flows = [self._entry(path).flow for path in self.files()]
        return sorted((flow for flow in flows if flow is not None), key=lambda flow: flow.id)

    def check_all(self) -> list[FlowProblem]:
        """Every problem in every file of the folder, and flow ids used by more than one file."""
        if not self.folder.is_dir():
            return [FlowProblem(str(self.folder), 1, "the flows folder does not exist")]
        problems = [problem for path in self.files() for problem in self._entry(path).problems]
        for flow_id, matches in self._by_id().items():
            if len(matches) > 1:
                problems.extend(self._duplicates(flow_id, matches))
        return problems

    @staticmethod
    def _duplicates(flow_id: str, matches: list[tuple[Path, _Entry]]) -> list[FlowProblem]:
        names = [path.name for path, _ in matches]
        return [
            FlowProblem(
                str(path),
                entry.flow_line,
                f"flow id '{flow_id}' is also used by "
                f"{', '.join(n for n in names if n != path.name)}; each flow needs its own id",
            )
            for path, entry in matches
        ]
