"""Checks of a flow's `measures:` block, building `model.Measure` for every measure the steps
feed: its label, direction, reliability and meaningful change.

A measure needs no entry in `measures:` (it then gets a label made from its name), but every
entry there must be fed by a step, so this runs after the steps are checked.
"""

from __future__ import annotations

import difflib

from ruamel.yaml.comments import CommentedMap

from survey_flows.checks.checker import Checker
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.model import Measure

MEASURE_KEYS = ("label", "higher_is_better", "reliability", "meaningful_change")


def check_measures(checker: Checker, doc: CommentedMap) -> dict[str, Measure]:
    """Every measure named by a step (`checker.measure_names`), described by `doc`'s `measures`."""
    used = list(dict.fromkeys(checker.measure_names))
    result = {name: Measure(name, name.replace("_", " ").capitalize()) for name in used}
    if "measures" not in doc:
        return result
    node = doc["measures"]
    if not isinstance(node, CommentedMap):
        checker.add(
            value_line(doc, "measures"),
            '`measures` must be a set of measure names, e.g. loneliness: {label: "Loneliness"}',
        )
        return result
    for name, meta in node.items():
        line, where = key_line(node, name), f"measure '{name}': "
        if name not in used:
            close = difflib.get_close_matches(str(name), used, 1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            checker.add(
                line,
                f"{where}no step uses this measure{hint}; add `measure: {name}` to a step "
                "or remove it from `measures`",
            )
        if meta is None:
            meta = CommentedMap()
        if not isinstance(meta, CommentedMap):
            checker.add(line, f'{where}must be a set of keys like {{label: "Loneliness"}}')
            continue
        checker.unknown_keys(meta, MEASURE_KEYS, where)
        measure = _measure_meta(checker, str(name), meta, where)
        if measure is not None and name in result:
            result[name] = measure
    return result


def _measure_meta(checker: Checker, name: str, node: CommentedMap, where: str) -> Measure | None:
    count = len(checker.problems)
    label = checker.string(node, "label", where, '"Life satisfaction"') if "label" in node else None
    better = (
        checker.boolean(node, "higher_is_better", where) if "higher_is_better" in node else True
    )
    reliability = checker.number(node, "reliability", where) if "reliability" in node else None
    if reliability is not None and not 0 < reliability < 1:
        checker.add(
            value_line(node, "reliability"),
            f"{where}`reliability` is a test-retest correlation between 0 and 1, e.g. 0.8",
        )
    change = (
        checker.number(node, "meaningful_change", where) if "meaningful_change" in node else None
    )
    if change is not None and change <= 0:
        checker.add(
            value_line(node, "meaningful_change"),
            f"{where}`meaningful_change` must be more than 0",
        )
    if len(checker.problems) > count:
        return None
    return Measure(
        name=name,
        label=label or name.replace("_", " ").capitalize(),
        higher_is_better=bool(better),
        reliability=float(reliability) if reliability is not None else None,
        meaningful_change=float(change) if change is not None else None,
    )
