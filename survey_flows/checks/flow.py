"""The flow checker: a flow file's text in, a `model.Flow` out, or every problem of the file in
plain words at FILE:LINE, all together and never a traceback.

Flow files are written by project staff, not programmers, so each problem names the file,
the line and the key, says what is wrong and what to write instead. The format is described
for staff in docs/writing-flows.md, and `survey_flows/schema.json` mirrors these rules for
editors. This module checks the top-level keys; the parts of a flow are checked by `schedule`,
`steps` (with `choices` and `conditions`) and `measures`, the welcome flow's consent step by
`joining`, single values by the `Checker` in `checker`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from survey_flows.checks.checker import Checker, shown
from survey_flows.checks.joining import check_joining
from survey_flows.checks.measures import check_measures
from survey_flows.checks.problems import FlowProblem
from survey_flows.checks.schedule import check_schedule
from survey_flows.checks.steps import check_steps
from survey_flows.checks.yaml_lines import key_line, load_yaml, value_line, yaml_problem
from survey_flows.model import Flow

TOP_KEYS = ("flow", "title", "language", "schedule", "intro", "outro", "steps", "measures")
FLOW_ID = re.compile(r"[a-z0-9-]+")
INTERNAL_ERROR = "Groundswell could not finish checking this file; please report this"


@dataclass(frozen=True)
class FlowCheck:
    """The result of checking one file's text.

    `flow` is None whenever there are `problems`. `flow_id` is the file's `flow:` when that is
    a valid id, even if the rest of the file is broken, and `flow_line` the line of the `flow:`
    value (1 without one), so a folder of flows can still tell which files claim the same id.
    """

    flow: Flow | None
    problems: list[FlowProblem]
    flow_id: str | None
    flow_line: int


def check_flow(text: str, path: str, *, stored: bool = False) -> FlowCheck:
    """Check a flow file's text; `path` is the name problems give for the file. `stored`:
    the text of a version that already ran, checked by the rules it was accepted under (see
    `loading.parse_flow`)."""
    checker = Checker(path, stored=stored)
    try:
        doc = load_yaml(text)
    except Exception as error:  # ruamel raises more than YAMLError on odd input
        line, message = yaml_problem(error, text)
        checker.add(line, message)
        return FlowCheck(None, checker.problems, checker.flow_id, checker.flow_line)
    try:
        flow = _read_flow(checker, doc, text)
    except RecursionError:
        checker.add(1, "the file is nested too deeply to be a survey flow")
        flow = None
    except Exception as error:  # a bug of ours must still reach staff as a problem, not a crash
        checker.add(1, f"{INTERNAL_ERROR} ({type(error).__name__}: {error})")
        flow = None
    if checker.problems:
        flow = None
        checker.problems.sort(key=lambda problem: problem.line)
    return FlowCheck(flow, checker.problems, checker.flow_id, checker.flow_line)


def check_flow_text(text: str, path: str = "<flow>") -> tuple[Flow | None, list[FlowProblem]]:
    """The Flow and no problems, or None and every problem found in the text."""
    result = check_flow(text, path)
    return result.flow, result.problems


def _read_flow(checker: Checker, doc: Any, text: str) -> Flow | None:
    if not isinstance(doc, CommentedMap):
        found = "nothing" if doc is None else shown(doc)
        checker.add(
            1,
            "a flow file must be a set of keys starting with `flow:`, `title:` and `steps:`; "
            f"this file holds {found}",
        )
        return None
    checker.unknown_keys(doc, TOP_KEYS, "")
    for key, example in (
        ("flow", "weekly-wellbeing"),
        ("title", "Weekly wellbeing check-in"),
        ("steps", "a list of steps, each with `id:` and `ask:` or `say:`"),
    ):
        if key not in doc:
            checker.add(1, f"`{key}` is missing; every flow needs it, e.g. {key}: {example}")
    if "language" in doc:
        code = checker.language_code(doc["language"], value_line(doc, "language"), "`language`: ")
        checker.language = code or checker.language
    flow_id = _flow_key(checker, doc)
    title = checker.string(doc, "title", "", "Weekly check-in") if "title" in doc else None
    schedule = (
        check_schedule(checker, doc["schedule"], key_line(doc, "schedule"))
        if "schedule" in doc
        else None
    )
    steps = check_steps(checker, doc, doc["steps"]) if "steps" in doc else ()
    ids = checker.step_ids
    intro = checker.text(doc, "intro", "", ids, ids) if "intro" in doc else None
    outro = checker.text(doc, "outro", "", ids, ()) if "outro" in doc else None
    measures = check_measures(checker, doc, steps)
    check_joining(checker, doc, flow_id)
    if checker.problems or flow_id is None or title is None:
        return None
    return Flow(
        id=flow_id,
        title=title,
        steps=steps,
        language=checker.language,
        schedule=schedule,
        intro=intro,
        outro=outro,
        measures=measures,
        version=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source_path=checker.path,
        source_text=text,
    )


def _flow_key(checker: Checker, doc: CommentedMap) -> str | None:
    """The `flow:` id; records it and its line on `checker` for the flows folder."""
    if "flow" not in doc:
        return None
    checker.flow_line = value_line(doc, "flow")
    value = doc["flow"]
    if isinstance(value, str) and FLOW_ID.fullmatch(value.strip()):
        checker.flow_id = value.strip()
        return checker.flow_id
    written = value if isinstance(value, str) else ""
    slug = re.sub(r"[^a-z0-9]+", "-", written.lower()).strip("-") or "weekly-wellbeing"
    checker.add(
        checker.flow_line,
        f"`flow` is the flow's id and may hold only lowercase letters, digits and dashes, "
        f"e.g. flow: {slug}; found {shown(value)}",
    )
    return None
