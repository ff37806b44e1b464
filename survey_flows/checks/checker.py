"""The `Checker`: one flow file's check in progress, and the checks of single values that every
part of a flow shares (texts with translations, numbers, true/false, language codes, template
placeholders and conditions), with the wording of their problems.

The parts of a flow are checked by `schedule`, `steps`, `choices` and `measures`, all writing
to one `Checker`, so that every problem of a file is collected and reported together; `flow`
starts and finishes the check.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from survey_flows.checks.problems import FlowProblem
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.expressions import check_condition, check_template
from survey_flows.model import Text

LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
# Words staff reach for that difflib cannot connect to the right key.
_HINTS = {
    "id": "flow", "name": "flow", "question": "ask", "text": "ask", "message": "say",
    "options": "choices", "answers": "choices", "condition": "when", "if": "when",
    "day": "on", "weekday": "on", "time": "at", "expiry": "expires", "timeout": "expires",
    "kind": "type", "minimum": "min", "maximum": "max", "attempts": "max_attempts",
    "required": "optional", "repeat": "every", "frequency": "every",
}  # fmt: skip


def is_number(value: object) -> bool:
    """An int or float as YAML reads numbers; true and false are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain_number(value: Any) -> int | float:
    """ruamel's ScalarInt/ScalarFloat as plain Python numbers, so flows compare and hash simply."""
    return int(value) if isinstance(value, int) else float(value)


def shown(value: object) -> str:
    """A value as staff wrote it, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return "a list" if isinstance(value, list) else "a set of keys"
    if is_number(value):
        return str(value)
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def suggest(word: object, choices: Sequence[str]) -> str:
    """ "; did you mean `X`?" for a near miss, else "; use one of: ..." listing what is allowed."""
    text = str(word).strip().lower()
    hint = _HINTS.get(text)
    close = [hint] if hint in choices else difflib.get_close_matches(text, choices, n=1)
    if close:
        return f"; did you mean `{close[0]}`?"
    return f"; use one of: {', '.join(choices)}"


def _with_hint(problem: str, known: Sequence[str]) -> str:
    """An expression problem, with "did you mean" for a misspelt step id."""
    unknown = re.search(r"unknown step '(.+?)'", problem)
    if unknown:
        close = difflib.get_close_matches(unknown.group(1), known, n=1)
        if close:
            return f"{problem} (did you mean '{close[0]}'?)"
    return problem


@dataclass(frozen=True)
class MeasureUse:
    """A step's `measure: NAME`, where it was written, for the checks of `measures:`."""

    name: str
    line: int
    where: str  # "step 'lonely': ", the start of a problem about this step


class Checker:
    """The problems of one file so far, and what the parts of its flow share while checking."""

    def __init__(self, path: str, *, stored: bool = False) -> None:
        self.path = path
        # A version that already ran (kept in the database): rules added since it was
        # accepted are not applied to it, so its check-ins can finish and be reported on.
        self.stored = stored
        self.problems: list[FlowProblem] = []
        self.language = "en"
        self.flow_id: str | None = None
        self.flow_line = 1
        self.step_ids: list[str] = []  # every id given, even on broken steps, for references
        self.measure_uses: list[MeasureUse] = []  # every `measure:` given, even on broken steps

    def add(self, line: int, message: str) -> None:
        self.problems.append(FlowProblem(self.path, line, message))

    def unknown_keys(self, node: CommentedMap, allowed: Sequence[str], where: str) -> None:
        for key in node:
            if key not in allowed:
                self.add(key_line(node, key), f"{where}unknown key `{key}`{suggest(key, allowed)}")

    # -- scalars

    def string(self, node: CommentedMap, key: str, where: str, example: str) -> str | None:
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            hint = " (put it in quotes)" if is_number(value) else ""
            self.add(
                value_line(node, key),
                f"{where}`{key}` must be text{hint}, e.g. {key}: {example}; found {shown(value)}",
            )
            return None
        return str(value).strip()

    def one_of(
        self, node: CommentedMap, key: str, allowed: Sequence[str], where: str, what: str
    ) -> str | None:
        """The value of `key` if it is one of the `allowed` words, else None and a problem
        suggesting the nearest word; `what` names the words for the message, e.g. "a period"."""
        value = node[key]
        word = value.strip() if isinstance(value, str) else ""
        if word not in allowed:
            self.add(
                value_line(node, key),
                f"{where}`{key}: {value}` is not {what}{suggest(word, allowed)}",
            )
            return None
        return word

    def boolean(self, node: CommentedMap, key: str, where: str) -> bool | None:
        value = node[key]
        if not isinstance(value, bool):
            self.add(
                value_line(node, key),
                f"{where}`{key}` must be true or false; found {shown(value)}",
            )
            return None
        return bool(value)

    def number(
        self, node: CommentedMap, key: str, where: str, *, whole: bool = False
    ) -> int | float | None:
        value = node[key]
        if not is_number(value) or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            self.add(value_line(node, key), f"{where}`{key}` must be {kind}; found {shown(value)}")
            return None
        return _plain_number(value)

    def language_code(self, value: object, line: int, where: str) -> str | None:
        code = str(value).strip().lower().replace("_", "-") if isinstance(value, str) else ""
        if not LANGUAGE.fullmatch(code):
            self.add(
                line,
                f"{where}{shown(value)} is not a language code; use codes like en, cy or pt-br",
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
                self.add(value_line(node, key), f"{where}`{key}` is empty; write the text")
                return None
            self.template(value, value_line(node, key), f"{where}`{key}`", known, later)
            return {self.language: str(value)}
        if not isinstance(value, CommentedMap) or not value:
            self.add(
                value_line(node, key),
                f"{where}`{key}` must be a text, or translations such as "
                f'en: "..." and cy: "..." on their own lines; found {shown(value)}',
            )
            return None
        texts: Text = {}
        for language, translation in value.items():
            line = key_line(value, language)
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
        value, line = node[key], value_line(node, key)
        if not isinstance(value, str):
            self.add(
                line,
                f'{where}`{key}` must be a condition, e.g. {key}: "answers.mood <= 4"; '
                f"found {shown(value)}",
            )
            return None
        problems = check_condition(value, known, tuple(later))
        for problem in problems:
            problem = _with_hint(problem, known)
            if key == "when" and "later step" in problem:
                problem += " (a `when` can only use answers to earlier steps)"
            self.add(line, f"{where}`{key}`: {problem}")
        return None if problems else str(value).strip()
