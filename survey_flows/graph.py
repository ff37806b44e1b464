"""Draw a flow as a Mermaid flowchart, so staff can review its order and branches at a glance.

Every label is quoted and every character that could end a label or be read as markup is
written as a Mermaid entity code (`#quot;`, `#35;` ...), so whatever staff typed stays text.
"""

from __future__ import annotations

from survey_flows.model import Flow, Step, Text, pick_text

_MAX_TEXT = 60
# Characters Mermaid could read as syntax or HTML inside a quoted label, as entity codes.
_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "&": "#38;",
    "<": "#60;",
    ">": "#62;",
    "|": "#124;",
    "`": "#96;",
    ";": "#59;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
}


def _escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: one line, special characters as entity codes."""
    return "".join(_ENTITIES.get(char, char) for char in " ".join(text.split()))


def _short(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _node_id(step: Step) -> str:
    """A node id that cannot clash with Mermaid keywords such as `end`."""
    return "step_" + "".join(char if char.isalnum() else "_" for char in step.id)


def _describe(step: Step) -> str:
    if not step.asks:
        return "say"
    if step.type in ("scale", "number") and (step.min is not None or step.max is not None):
        low = "" if step.min is None else f"{step.min:g}"
        high = "" if step.max is None else f"{step.max:g}"
        return f"{step.type} {low}–{high}"
    if step.type == "choice":
        several = ", several" if step.multiple else ""
        return f"choice of {len(step.choices)}{several}"
    return str(step.type)


def _label(step: Step, flow: Flow) -> str:
    extras = [_describe(step)]
    if step.optional:
        extras.append("optional")
    if step.measure:
        extras.append(f"measure: {step.measure}")
    heading = _escape(f"{step.id} ({', '.join(extras)})")
    return f"{heading}<br/>{_escape(_short(_text(step.text, flow)))}"


def _text(text: Text, flow: Flow) -> str:
    return pick_text(text, None, flow.language)


def mermaid(flow: Flow) -> str:
    """A Mermaid `flowchart TD` of the flow: intro, each step in order, `when` branches as
    yes/no diamonds, alert conditions as dotted edges to one "Alert coordinators" node, outro."""
    intro = f": {_escape(_short(_text(flow.intro, flow)))}" if flow.intro else ""
    outro = f": {_escape(_short(_text(flow.outro, flow)))}" if flow.outro else ""
    lines = [
        "flowchart TD",
        f'    flow_start(["Start{intro}"])',
    ]
    entries = []  # where the arrow into each step lands: its `when` diamond, or the step itself
    for step in flow.steps:
        node = _node_id(step)
        shape = ('["', '"]') if step.asks else ('("', '")')
        lines.append(f"    {node}{shape[0]}{_label(step, flow)}{shape[1]}")
        if step.when:
            lines.append(f'    {node}_when{{"{_escape(_short(step.when))}?"}}')
            entries.append(f"{node}_when")
        else:
            entries.append(node)
    lines.append(f'    flow_finish(["End{outro}"])')
    entries.append("flow_finish")

    lines.append(f"    flow_start --> {entries[0]}")
    for index, step in enumerate(flow.steps):
        node, following = _node_id(step), entries[index + 1]
        if step.when:
            lines.append(f"    {node}_when -->|yes| {node}")
            lines.append(f"    {node}_when -->|no| {following}")
        lines.append(f"    {node} --> {following}")
    if any(step.alert for step in flow.steps):
        lines.append('    alert_coordinators{{"Alert coordinators"}}')
        for step in flow.steps:
            if step.alert:
                condition = _escape(_short(step.alert))
                lines.append(f'    {_node_id(step)} -.->|"if {condition}"| alert_coordinators')
        lines.append("    classDef alert fill:#fde2e1,stroke:#c0392b,color:#641e16")
        lines.append("    class alert_coordinators alert")
    return "\n".join(lines) + "\n"
