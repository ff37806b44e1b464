"""`groundswell flows ...`: check flow files and draw them for review."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from survey_flows.checks.file_text import read_flow_text
from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.folder import FlowLibrary, flow_for_author
from survey_flows.checks.problems import FlowError, FlowProblem
from survey_flows.graph import mermaid


@click.group()
def flows() -> None:
    """Check and review survey flows (YAML files)."""


def _bare_names(path: Path) -> list[int]:
    """Lines of a flow file with a bare participant name (a warning, never a failure)."""
    from survey_flows.expressions import bare_name_lines

    try:
        return bare_name_lines(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []


@flows.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Check flow files (or folders of them) and list every problem as FILE:LINE: message.

    With no PATHS, checks the flows folder (GROUNDSWELL_FLOWS). Exits 0 when all
    flows are valid, 1 otherwise.
    """
    problems: list[FlowProblem] = []
    files: list[Path] = []
    if not paths:
        library = FlowLibrary()
        problems = library.check_all()
        files = library.files()
    for path in paths:
        if path.is_dir():
            library = FlowLibrary(path)
            problems += library.check_all()
            files += library.files()
            continue
        files.append(path)
        try:
            text = read_flow_text(path)
        except FlowError as error:
            problems += error.problems
            continue
        problems += check_flow_text(text, str(path))[1]
    for problem in problems:
        click.echo(str(problem))
    for path in files:
        for line in _bare_names(path):
            click.echo(
                f"{path}:{line}: warning: {{{{ participant.name }}}} is empty for people with no "
                "name on record (the text then leaves it out: 'Hi, time for ...'); to choose "
                'the words, write {{ participant.name or "there" }}',
                err=True,
            )
    if problems:
        click.echo(
            f"{len(problems)} problem(s) in {len({p.path for p in problems})} of "
            f"{len(files)} file(s). Fix them and run `groundswell flows check` again.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"{len(files)} flow file(s) OK.", err=True)


@flows.command("graph")
@click.argument("flow")
def graph(flow: str) -> None:
    """Print a Mermaid flowchart of FLOW (a flow id or a YAML file) for review.

    Paste the output into https://mermaid.live or a Markdown file that renders Mermaid.
    """
    try:
        click.echo(mermaid(flow_for_author(FlowLibrary(), flow)))
    except FlowError as error:
        for line in error.lines():
            click.echo(line, err=True)
        sys.exit(1)
