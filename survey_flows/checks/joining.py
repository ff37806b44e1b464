"""The welcome contract: the flow the host sends to everyone who joins (`model.JOINING_FLOW`)
must ask for their consent on a step marked `sets: consent`, asked of everyone.

The host never reads an answer by its step id; it acts on the engine's outcome, whose
`consent` comes from that step. Without one, or with one a `when` can pass over, nobody who
joins could ever be enrolled, so `flows check` refuses such a welcome flow. The step's type
(`yes_no`) and the `name` step's (`text`) are checked with every step's `sets` in `steps`.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedMap

from survey_flows.checks.checker import Checker
from survey_flows.checks.yaml_lines import value_line
from survey_flows.model import JOINING_FLOW


def check_joining(checker: Checker, doc: CommentedMap, flow_id: str | None) -> None:
    """Report a joining flow with no `sets: consent` step, or one that may be passed over."""
    if flow_id != JOINING_FLOW or checker.stored or "steps" not in doc:
        return
    steps = doc["steps"] if isinstance(doc["steps"], list) else []
    consent = [
        item
        for item in steps
        if isinstance(item, CommentedMap)
        and isinstance(item.get("sets"), str)
        and item["sets"].strip() == "consent"
    ]
    if not consent:
        checker.add(
            checker.flow_line,
            f"flow '{JOINING_FLOW}' is sent to everyone who joins, so it must ask for their "
            "consent: mark its YES/NO question with `sets: consent` (without it nobody who "
            "joins is ever enrolled)",
        )
        return
    for item in consent:
        if "when" in item:
            checker.add(
                value_line(item, "when"),
                f"step '{item.get('id')}': the consent question of flow '{JOINING_FLOW}' must "
                "be asked of everyone who joins; remove its `when` (a question passed over "
                "counts as NO, and they would never be messaged)",
            )
