"""Checks of a flow's `measures:` block, building `model.Measure` for every measure the steps
feed: its label, direction, reliability, meaningful change, reference SD and bands.

Every measure a step feeds must be declared in `measures:`, because its direction
(`higher_is_better`) decides whether a change is reported as better or worse; and every entry
there must be fed by a step. So this runs after the steps are checked.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ruamel.yaml.comments import CommentedMap

from survey_flows.checks.bands import check_bands, measure_scale
from survey_flows.checks.checker import Checker, MeasureUse
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.model import Measure, Step

MEASURE_KEYS = (
    "label",
    "higher_is_better",
    "reliability",
    "meaningful_change",
    "reference_sd",
    "reference",
    "bands",
)


def check_measures(
    checker: Checker, doc: CommentedMap, steps: Sequence[Step] = ()
) -> dict[str, Measure]:
    """Every measure named by a step (`checker.measure_uses`), described by `doc`'s `measures`.

    ``steps`` (the checked steps) give each measure's scale, which its `bands` must cover.
    """
    used = list(dict.fromkeys(use.name for use in checker.measure_uses))
    node = doc.get("measures")
    if "measures" in doc and not isinstance(node, CommentedMap):
        checker.add(
            value_line(doc, "measures"),
            '`measures` must be a set of measure names, e.g. loneliness: {label: "Loneliness"}',
        )
        return {}
    declared = [str(name) for name in node] if node is not None else []
    result: dict[str, Measure] = {}
    for use in checker.measure_uses:
        if use.name in declared:
            continue
        if checker.stored:  # accepted before declaring was required: the old default
            result[use.name] = Measure(use.name, use.name.replace("_", " ").capitalize())
        else:
            _undeclared(checker, use, declared, "measures" in doc)
    if node is None:
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
        measure = _measure_meta(checker, str(name), meta, where, steps)
        if measure is not None and name in used:
            result[str(name)] = measure
    return result


def _undeclared(checker: Checker, use: MeasureUse, declared: list[str], has_block: bool) -> None:
    """A step's measure with no entry under `measures:`: say so, with the entry to add."""
    close = difflib.get_close_matches(use.name, declared, 1)
    if close:
        checker.add(
            use.line,
            f"{use.where}measure '{use.name}' is not declared under `measures:`; "
            f"did you mean '{close[0]}'?",
        )
        return
    label = use.name.replace("_", " ").capitalize()
    where = "under `measures:`" if has_block else "in a `measures:` block at the end of the file"
    checker.add(
        use.line,
        f"{use.where}measure '{use.name}' is not declared; add it {where}, e.g. "
        f'{use.name}: {{label: "{label}", higher_is_better: true}} '
        "(write false if a rise is a change for the worse)",
    )


def _measure_meta(
    checker: Checker, name: str, node: CommentedMap, where: str, steps: Sequence[Step]
) -> Measure | None:
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
    reference_sd = checker.number(node, "reference_sd", where) if "reference_sd" in node else None
    if reference_sd is not None and not reference_sd > 0:
        checker.add(
            value_line(node, "reference_sd"),
            f"{where}`reference_sd` is a standard deviation from a published source and must "
            "be more than 0, e.g. reference_sd: 1.9",
        )
    reference = (
        checker.string(node, "reference", where, '"ONS APS 2022-23, table 1"')
        if "reference" in node
        else None
    )
    if reference_sd is not None and reference_sd > 0 and "reference" not in node:
        checker.add(
            key_line(node, "reference_sd"),
            f"{where}say where `reference_sd` comes from in `reference`, e.g. "
            'reference: "ONS Annual Population Survey 2022-23"',
        )
    bands = check_bands(checker, node, where, measure_scale(steps, name)) if "bands" in node else ()
    if len(checker.problems) > count:
        return None
    return Measure(
        name=name,
        label=label or name.replace("_", " ").capitalize(),
        higher_is_better=bool(better),
        reliability=float(reliability) if reliability is not None else None,
        meaningful_change=float(change) if change is not None else None,
        reference_sd=float(reference_sd) if reference_sd is not None else None,
        reference=reference,
        bands=bands,
    )
