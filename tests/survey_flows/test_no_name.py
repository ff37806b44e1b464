"""Residents with no name: texts fall back gracefully, and `flows check` warns about a bare
`{{ participant.name }}` (a warning: the flow still passes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from survey_flows.expressions import render


@pytest.mark.parametrize(
    ("source", "name", "shown"),
    [
        ("Hi {{ participant.name }}, time for your check-in.", None, "Hi, time for your check-in."),
        ("Hi {{ participant.name }}, go.", "Sam", "Hi Sam, go."),
        ("Thank you {{ participant.name }}.", "", "Thank you."),
        ("{{participant.name}}: hello", None, ": hello"),
        ("Hi {{ participant.name or 'there' }}, go.", None, "Hi there, go."),
    ],
)  # fmt: skip
def test_a_missing_name_leaves_no_gap(source: str, name: str | None, shown: str) -> None:
    assert render(source, {"participant": {"name": name}}) == shown


def test_flows_check_warns_about_a_bare_name_but_passes(tmp_path: Path) -> None:
    flow = tmp_path / "hello.yaml"
    flow.write_text(
        'flow: hello\ntitle: Hello\nintro: "Hi {{ participant.name }}, two questions."\n'
        'steps:\n  - id: mood\n    ask: "How are you, 0 to 10?"\n    type: scale\n'
        "    min: 0\n    max: 10\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["flows", "check", str(flow)])
    assert result.exit_code == 0, result.output
    assert f"{flow}:3: warning:" in result.output and "participant.name or" in result.output


def test_the_shipped_flows_read_well_without_a_name() -> None:
    result = CliRunner().invoke(main, ["flows", "check"])
    assert result.exit_code == 0 and "warning" not in result.output


def test_the_docs_flow_examples_read_well_without_a_name() -> None:
    from survey_flows.expressions import bare_name_lines
    from tests.docs.test_examples import DOCUMENTS, blocks

    examples = [b for path in DOCUMENTS for b in blocks(path) if b.language == "yaml"]
    named = [b for b in examples if any("participant.name" in line for line in b.lines)]
    assert named  # the guide does show names, each with its fallback
    for block in named:
        assert bare_name_lines("\n".join(block.lines)) == [], block.where
