"""Checks of a flow's `steps:` list, building each `model.Step` or reporting every problem:
ids (unique, usable in templates), `ask` or `say`, the step type and its bounds, how replies
are taken (`max_length`, `max_attempts`, `optional`, `invalid`), `when` and `alert`
conditions, and the `measure` a step feeds.

Each step's texts and conditions may only use answers to the steps the resident has already
reached, so the step ids are collected first and passed on as `known` and `later`. Options of
a choice step are checked in `choices`; the values conditions compare answers with, once all
steps are built, in `conditions`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, cast

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from survey_flows.checks.checker import Checker, MeasureUse, is_number, shown
from survey_flows.checks.choices import check_choices
from survey_flows.checks.conditions import check_compared_values
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.model import SETS_TYPES, STEP_TYPES, Choice, Sets, Step, StepType, Text

STEP_KEYS = (
    "id", "say", "ask", "type", "min", "max", "choices", "measure", "when",
    "optional", "invalid", "max_attempts", "alert", "max_length", "multiple", "sets",
)  # fmt: skip
Kind = Literal["say", "ask"]
MEASURED_TYPES = ("scale", "number", "choice", "yes_no")
STEP_ID = re.compile(r"[a-z0-9_]+")
_ASK_ONLY = (
    "type", "min", "max", "choices", "optional", "invalid", "max_attempts", "max_length",
    "multiple", "sets",
)  # fmt: skip


def check_steps(checker: Checker, doc: CommentedMap, node: Any) -> tuple[Step, ...]:
    """The steps of `node`, the value of `steps:` in `doc`; sets `checker.step_ids`."""
    line = key_line(doc, "steps")
    if not isinstance(node, CommentedSeq) or not node:
        checker.add(
            line,
            f"`steps` must be a list of steps, each starting with `- id:`; found {shown(node)}",
        )
        return ()
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for item in node:
        raw = item.get("id") if isinstance(item, CommentedMap) else None
        step_id = raw.strip() if isinstance(raw, str) else None
        ids.append(step_id or "")
        if step_id and step_id in first_line:
            checker.add(
                value_line(item, "id"),
                f"step id '{step_id}' is used twice (first on line {first_line[step_id]}); "
                "each step needs its own id",
            )
        elif step_id:
            first_line[step_id] = value_line(item, "id")
    known = checker.step_ids = [step_id for step_id in ids if step_id]
    steps = []
    for index, item in enumerate(node):
        step = _step(checker, node, index, item, ids, known)
        if step is not None:
            steps.append(step)
    if not checker.stored:
        check_compared_values(checker, node, steps)
    _sets_once(checker, steps)
    return tuple(steps)


def _sets_once(checker: Checker, steps: list[Step]) -> None:
    """A flow sets consent, and a name, from one step each at most."""
    first: dict[str, Step] = {}
    for step in steps:
        if step.sets is None:
            continue
        if step.sets in first:
            checker.add(
                step.line,
                f"step '{step.id}': `sets: {step.sets}` is already on step "
                f"'{first[step.sets].id}' (line {first[step.sets].line}); keep it on one step",
            )
        else:
            first[step.sets] = step


def _step(
    checker: Checker, seq: CommentedSeq, index: int, node: Any, ids: list[str], known: list[str]
) -> Step | None:
    line = key_line(seq, index)
    if not isinstance(node, CommentedMap):
        checker.add(
            line,
            f"step {index + 1} must be a set of keys such as `id:`, `ask:` and `type:`; "
            f"found {shown(node)}",
        )
        return None
    count = len(checker.problems)
    step_id = _step_id(checker, node, index, line)
    where = f"step '{step_id}': " if step_id else f"step {index + 1}: "
    checker.unknown_keys(node, STEP_KEYS, where)
    later = [i for i in ids[index + 1 :] if i]
    this_and_later = [i for i in ids[index:] if i]
    kind = _kind(checker, node, where, line)
    texts = {
        k: checker.text(node, k, where, known, this_and_later) for k in ("ask", "say") if k in node
    }
    text = texts.get(kind) if kind else None
    step_type = _step_type(checker, node, kind, where)
    low, high = _bounds(checker, node, step_type, where)
    choices: tuple[Choice, ...] = ()
    if "choices" in node:
        if step_type == "choice":
            choices = check_choices(checker, node, where, known, this_and_later, "measure" in node)
        elif step_type is not None:
            checker.add(key_line(node, "choices"), f"{where}`choices` only apply to `type: choice`")
    elif step_type == "choice":
        checker.add(line, f"{where}`type: choice` needs `choices`, a list of options like "
                          "{value: often, label: \"Often\"}")  # fmt: skip
    multiple = _multiple(checker, node, step_type, where)
    measure = _measure(checker, node, kind, step_type, where, multiple)
    max_length, attempts, optional, invalid = _reply_settings(
        checker, node, kind, step_type, where, known, this_and_later
    )
    when = checker.condition(node, "when", where, known, this_and_later) if "when" in node else None
    alert = checker.condition(node, "alert", where, known, later) if "alert" in node else None
    sets = _sets(checker, node, kind, step_type, where)
    if len(checker.problems) > count or step_id is None or kind is None or text is None:
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
        multiple=multiple,
        sets=sets,
        line=line,
    )


def _sets(
    checker: Checker, node: CommentedMap, kind: str | None, step_type: str | None, where: str
) -> Sets | None:
    """`sets: consent` (a yes_no step) or `sets: name` (a text step); see `model.SETS_TYPES`."""
    if "sets" not in node or kind == "say":  # `say` already reported as not taking it
        return None
    value = node["sets"]
    if not isinstance(value, str) or value not in SETS_TYPES:
        checker.add(
            value_line(node, "sets"),
            f"{where}`sets` must be `consent` (a yes_no step: may we message them?) or `name` "
            f"(a text step: what to call them); found {shown(value)}",
        )
        return None
    needed = SETS_TYPES[value]
    if step_type is not None and step_type != needed:
        checker.add(
            value_line(node, "sets"),
            f"{where}`sets: {value}` needs `type: {needed}`, not `type: {step_type}`",
        )
        return None
    return cast("Sets", value)


def _reply_settings(
    checker: Checker,
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
        value = checker.number(node, "max_length", where, whole=True)
        if step_type not in (None, "text"):
            message = f"{where}`max_length` only applies to `type: text`"
            checker.add(key_line(node, "max_length"), message)
        elif value is not None and value < 1:
            checker.add(value_line(node, "max_length"), f"{where}`max_length` must be 1 or more")
        max_length = int(value) if value is not None else None
    attempts = 3
    if "max_attempts" in node:
        value = checker.number(node, "max_attempts", where, whole=True)
        if value is not None and value < 1:
            message = f"{where}`max_attempts` must be 1 or more (it is 3 when not given)"
            checker.add(value_line(node, "max_attempts"), message)
        attempts = int(value or 3)
    optional = checker.boolean(node, "optional", where) if "optional" in node else False
    invalid = checker.text(node, "invalid", where, known, later) if "invalid" in node else None
    return max_length, attempts, bool(optional), invalid


def _step_id(checker: Checker, node: CommentedMap, index: int, line: int) -> str | None:
    if "id" not in node:
        checker.add(line, f"step {index + 1} needs an `id`, e.g. id: mood (lowercase, digits, _)")
        return None
    value = node["id"]
    if isinstance(value, str) and STEP_ID.fullmatch(value.strip()):
        return value.strip()
    if is_number(value):
        checker.add(
            value_line(node, "id"),
            f"step {index + 1}: `id` must be a word, such as id: mood; a number like {value} "
            f'only works in quotes (id: "{value}")',
        )
        return None
    written = value if isinstance(value, str) else ""
    slug = re.sub(r"[^a-z0-9]+", "_", written.lower()).strip("_") or "mood"
    checker.add(
        value_line(node, "id"),
        f"step {index + 1}: `id` may hold only lowercase letters, digits and underscores, "
        f"e.g. id: {slug}; found {shown(value)}",
    )
    return None


def _kind(checker: Checker, node: CommentedMap, where: str, line: int) -> Kind | None:
    if "ask" in node and "say" in node:
        checker.add(
            key_line(node, "say"),
            f"{where}has both `ask` and `say`; use `ask` for a question, `say` for a message "
            "that needs no reply, and split them into two steps if you need both",
        )
        return None
    if "ask" not in node and "say" not in node:
        checker.add(line, f"{where}needs `ask` (a question) or `say` (a message with no reply)")
        return None
    return "ask" if "ask" in node else "say"


def _step_type(
    checker: Checker, node: CommentedMap, kind: Kind | None, where: str
) -> StepType | None:
    if kind == "say":
        for key in _ASK_ONLY:
            if key in node:
                checker.add(
                    key_line(node, key),
                    f"{where}`{key}` only applies to questions (`ask`); a `say` step gets no reply",
                )
        return None
    if "type" not in node:
        if kind == "ask":
            checker.add(
                key_line(node, "ask"), f"{where}`ask` needs a `type`: {', '.join(STEP_TYPES)}"
            )
        return None
    return cast("StepType | None", checker.one_of(node, "type", STEP_TYPES, where, "a step type"))


def _bounds(
    checker: Checker, node: CommentedMap, step_type: str | None, where: str
) -> tuple[int | float | None, int | float | None]:
    if step_type not in ("scale", "number"):
        for key in ("min", "max"):
            if key in node and step_type is not None:
                checker.add(
                    key_line(node, key), f"{where}`{key}` only applies to scale or number steps"
                )
        return None, None
    whole = step_type == "scale"
    if whole and ("min" not in node or "max" not in node):
        checker.add(
            key_line(node, "type"),
            f"{where}`type: scale` needs `min` and `max`, e.g. min: 0, max: 10",
        )
    low = checker.number(node, "min", where, whole=whole) if "min" in node else None
    high = checker.number(node, "max", where, whole=whole) if "max" in node else None
    if low is not None and high is not None and low >= high:
        checker.add(key_line(node, "max"), f"{where}`max` ({high}) must be more than `min` ({low})")
    return low, high


def _multiple(checker: Checker, node: CommentedMap, step_type: str | None, where: str) -> bool:
    """`multiple: true`: a choice step that takes one or more options (only on choice)."""
    if "multiple" not in node:
        return False
    value = node["multiple"]
    line = value_line(node, "multiple")
    if not isinstance(value, bool):
        checker.add(line, f"{where}`multiple` must be true or false; found {shown(value)}")
        return False
    if value and step_type is not None and step_type != "choice":
        checker.add(
            key_line(node, "multiple"),
            f"{where}`multiple` only applies to `type: choice`; remove it or make this a choice",
        )
        return False
    return value


def _measure(
    checker: Checker,
    node: CommentedMap,
    kind: str | None,
    step_type: str | None,
    where: str,
    multiple: bool = False,
) -> str | None:
    """The `measure:` a step feeds; the measures themselves are checked in `measures`."""
    if "measure" not in node:
        return None
    line = value_line(node, "measure")
    if multiple:
        checker.add(
            line,
            f"{where}a question with `multiple: true` has several answers, not one number, so "
            "it cannot feed a measure; remove `measure` (reports count each choice instead)",
        )
        return None
    if kind == "say" or step_type not in (None, *MEASURED_TYPES):
        what = "a `say` step has no answer" if kind == "say" else "a text answer is not a number"
        checker.add(line, f"{where}{what}, so it cannot feed a measure; remove `measure`")
        return None
    name = checker.string(node, "measure", where, "life_satisfaction")
    if name is not None:
        checker.measure_uses.append(MeasureUse(name, line, where))
    return name
