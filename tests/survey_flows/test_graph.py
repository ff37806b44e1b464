"""The Mermaid drawing of a flow: every step in order, branches, alerts, and safe labels."""

from __future__ import annotations

import re
from pathlib import Path

from survey_flows.checks.loading import load_flow, parse_flow
from survey_flows.graph import mermaid

DATA = Path(__file__).parent / "data"

_ID = r"[A-Za-z0-9_]+"
_LABEL = r'"[^"]*"'  # a quoted label: no raw double quote inside
_SHAPES = [r"\[{}\]", r"\({}\)", r"\(\[{}\]\)", r"\{{{}\}}", r"\{{\{{{}\}}\}}"]
_NODE = re.compile(rf"^    ({_ID})({'|'.join(shape.format(_LABEL) for shape in _SHAPES)})$")
_EDGE = re.compile(rf'^    ({_ID}) (-->|-\.->)(?:\|(?:yes|no|"[^"|]*")\|)? ({_ID})$')
_STYLE = re.compile(r"^    (classDef \w+ [\w:#,]+|class \w+ \w+)$")


def check_syntax(chart: str) -> tuple[set[str], list[tuple[str, str, str]]]:
    """Every line is a node, an edge or a style line; every edge joins declared nodes."""
    lines = chart.splitlines()
    assert lines[0] == "flowchart TD"
    nodes: set[str] = set()
    edges: list[tuple[str, str, str]] = []
    for line in lines[1:]:
        if node := _NODE.match(line):
            assert node.group(1) not in nodes, f"node declared twice: {line}"
            nodes.add(node.group(1))
        elif edge := _EDGE.match(line):
            edges.append((edge.group(1), line, edge.group(3)))
        else:
            assert _STYLE.match(line), f"not valid here: {line!r}"
    for start, line, end in edges:
        assert start in nodes and end in nodes, line
    return nodes, edges


def edge_lines(chart: str) -> list[str]:
    return [line.strip() for line in chart.splitlines() if "->" in line]


def test_weekly_wellbeing_chart() -> None:
    chart = mermaid(load_flow(DATA / "weekly-wellbeing.yaml"))
    nodes, _ = check_syntax(chart)
    assert nodes == {
        "flow_start",
        "step_life_satisfaction",
        "step_callback_when",
        "step_callback",
        "step_lonely",
        "step_story",
        "flow_finish",
        "alert_coordinators",
    }
    assert 'flow_start(["Start: Hi #123;#123; participant.name #125;#125;, time' in chart
    assert 'step_life_satisfaction["life_satisfaction (scale 0–10, measure: life_satisfaction)' in (
        chart
    )
    assert '<br/>How often do you feel lonely?"]' in chart
    assert 'step_story["story (text, optional)<br/>' in chart
    assert 'step_callback_when{"answers.life_satisfaction #60;= 4?"}' in chart
    assert edge_lines(chart) == [
        "flow_start --> step_life_satisfaction",
        "step_life_satisfaction --> step_callback_when",
        "step_callback_when -->|yes| step_callback",
        "step_callback_when -->|no| step_lonely",
        "step_callback --> step_lonely",
        "step_lonely --> step_story",
        "step_story --> flow_finish",
        'step_callback -.->|"if answers.callback"| alert_coordinators',
    ]
    assert 'alert_coordinators{{"Alert coordinators"}}' in chart
    assert 'flow_finish(["End: Thank you' in chart


def test_say_steps_are_rounded_and_a_when_on_the_last_step_skips_to_the_end() -> None:
    flow = parse_flow(
        """\
flow: branches
title: Branches
steps:
  - id: hello
    say: "Hello"
  - id: end
    when: "previous.end"
    ask: "Again?"
    type: yes_no
"""
    )
    chart = mermaid(flow)
    check_syntax(chart)
    assert 'step_hello("hello (say)<br/>Hello")' in chart
    assert 'flow_start(["Start"])' in chart and 'flow_finish(["End"])' in chart
    assert "step_end_when -->|no| flow_finish" in chart
    assert "step_end_when -->|yes| step_end" in chart
    assert "alert_coordinators" not in chart  # no alerts, no alert node


def test_labels_escape_every_character_mermaid_could_misread() -> None:
    nasty = 'Say "hi" & <b>bye</b>; #1 | `code` [x] {y} a:b (c)'
    flow = parse_flow(
        f"""\
flow: nasty
title: Nasty
steps:
  - id: q
    ask: '{nasty}'
    type: choice
    choices:
      - {{value: a, label: A}}
      - {{value: b, label: B}}
    alert: "answers.q == 'a' or answers.q != \\"b\\""
"""
    )
    chart = mermaid(flow)
    check_syntax(chart)
    label = re.search(r'step_q\["(.*)"\]', chart)
    assert label is not None
    text = label.group(1).split("<br/>")[1]
    assert text == (
        "Say #quot;hi#quot; #38; #60;b#62;bye#60;/b#62;#59; #35;1 #124; #96;code#96; "
        "#91;x#93; #123;y#125; a:b (c)"
    )
    assert "-.->|\"if answers.q == 'a' or answers.q != #quot;b#quot;\"| alert_coordinators" in (
        chart
    )


def test_long_texts_are_shortened_and_kept_on_one_line() -> None:
    flow = parse_flow(
        "flow: long\ntitle: Long\nsteps:\n  - id: q\n    say: |\n"
        + "      "
        + "word " * 40
        + "\n      second line\n"
    )
    chart = mermaid(flow)
    check_syntax(chart)
    label = re.search(r'step_q\("(.*)"\)', chart)
    assert label is not None
    text = label.group(1).split("<br/>")[1]
    assert len(text) == 60 and text.endswith("…")


def test_every_shipped_and_sample_flow_draws() -> None:
    library = Path(__file__).parents[2] / "survey_flows" / "library"
    paths = [*sorted(library.glob("*.yaml")), DATA / "cron-weekdays.yaml", DATA / "monthly.yaml"]
    for path in paths:
        flow = load_flow(path)
        nodes, edges = check_syntax(mermaid(flow))
        assert {f"step_{step.id}" for step in flow.steps} <= nodes
        # every step is reached: start -> ... -> finish passes through all of them
        targets = {end for _, _, end in edges}
        assert {f"step_{step.id}" for step in flow.steps} <= targets
        assert "flow_finish" in targets
