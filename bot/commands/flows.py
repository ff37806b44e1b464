"""`groundswell flows ...`: check flow files, store them in the database (`import`), write
the stored flows back out as files (`export`) and draw them for review.

Every running process uses the flows stored in the database; files are read only by
`check` and `import` (and `graph`/`chat` given a file path).
"""

from __future__ import annotations

import getpass
import socket
import sys
from pathlib import Path

import click

from survey_flows.checks.file_text import read_flow_text
from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.folder import FlowLibrary, flow_for_author
from survey_flows.checks.problems import FlowError, FlowProblem
from survey_flows.graph import mermaid
from survey_flows.model import Flow


@click.group()
def flows() -> None:
    """Check, store, export and review survey flows (YAML)."""


def _bare_names(path: Path) -> list[int]:
    """Lines of a flow file with a bare participant name (a warning, never a failure)."""
    from survey_flows.expressions import bare_name_lines

    try:  # the capped reader: never /dev/zero, a FIFO or a huge file
        return bare_name_lines(read_flow_text(path))
    except FlowError:
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
    from survey_flows.expressions import BARE_NAME_WARNING

    for path in files:
        for line in _bare_names(path):
            click.echo(f"{path}:{line}: warning: {BARE_NAME_WARNING}", err=True)
    if problems:
        click.echo(
            f"{len(problems)} problem(s) in {len({p.path for p in problems})} of "
            f"{len(files)} file(s). Fix them and run `groundswell flows check` again.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"{len(files)} flow file(s) OK.", err=True)


def _checked(paths: tuple[Path, ...]) -> tuple[list[Flow], list[FlowProblem], int]:
    """Every flow in the files and folders given, each checked as `flows check` does, and
    a flow id given twice reported at both places: (flows, problems, files read)."""
    found: list[tuple[Path, Flow]] = []
    problems: list[FlowProblem] = []
    count = 0
    for path in paths:
        files = FlowLibrary(path).files() if path.is_dir() else [path]
        if path.is_dir():
            problems += FlowLibrary(path).check_all()
        for file in files:
            count += 1
            try:
                text = read_flow_text(file)
            except FlowError as error:
                problems += error.problems
                continue
            flow, more = check_flow_text(text, str(file))
            if not path.is_dir():
                problems += more
            if flow is not None and not more:
                found.append((file, flow))
    by_id: dict[str, list[Path]] = {}
    for file, flow in found:
        by_id.setdefault(flow.id, []).append(file)
    for flow_id, files in by_id.items():
        if len(files) > 1 and len({f.resolve() for f in files}) > 1:
            problems += [
                FlowProblem(str(f), 1, f"flow id '{flow_id}' is given by more than one file")
                for f in files
            ]
    unique = {flow.id: flow for _, flow in found}
    return list(unique.values()), list(dict.fromkeys(problems)), count


@flows.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_command(paths: tuple[Path, ...]) -> None:
    """Check flow files (or folders of them) and store them as each flow's new version.

    Every running process uses the new version for check-ins that start from now on;
    check-ins under way finish on the version they started with. If any file has a
    problem, every problem is listed as FILE:LINE: message and nothing is stored.
    """
    from bot.commands.common import database
    from storage import flow_versions
    from storage.database import transaction

    found, problems, count = _checked(paths)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(
            f"{len(problems)} problem(s) in {len({p.path for p in problems})} of {count} "
            "file(s). Nothing was stored: fix them and run `groundswell flows import` again.",
            err=True,
        )
        sys.exit(1)
    who = f"flows import by {getpass.getuser()}@{socket.gethostname()}"[:200]
    with transaction(database()) as session:
        saved = [flow_versions.save(session, flow, who, "import") for flow in found]
    for result in saved:
        flow = result.flow
        if not result.changed:
            click.echo(f"{flow.id}: unchanged (version {flow.version[:12]})")
        elif result.before is None:
            click.echo(f"{flow.id}: stored, new flow (version {flow.version[:12]})")
        else:
            click.echo(f"{flow.id}: stored version {flow.version[:12]} (was {result.before[:12]})")
    click.echo(f"{len(saved)} flow(s) checked and stored.", err=True)


@flows.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write <flow id>.yaml files into (made if missing).",
)
def export_command(out: Path) -> None:
    """Write the current version of every stored flow to OUT as <flow id>.yaml, for
    review or to keep in git (files there with the same names are replaced)."""
    from bot.commands.common import database
    from storage.flow_versions import FlowStore

    out.mkdir(parents=True, exist_ok=True)
    latest = FlowStore(database()).latest()
    for flow_id, flow in latest.items():
        path = out / f"{flow_id}.yaml"
        path.write_text(flow.source_text, encoding="utf-8")
        click.echo(f"{path}  (version {flow.version[:12]})")
    click.echo(f"{len(latest)} flow(s) written to {out}.", err=True)


@flows.command("graph")
@click.argument("flow")
def graph(flow: str) -> None:
    """Print a Mermaid flowchart of FLOW (a stored flow's id, or a YAML file) for review.

    Paste the output into https://mermaid.live or a Markdown file that renders Mermaid.
    """
    try:
        if flow.endswith((".yaml", ".yml")) or "/" in flow:
            loaded = flow_for_author(FlowLibrary(), flow)  # a file the author names
        else:
            from bot.commands.common import database
            from storage.flow_versions import FlowStore

            loaded = FlowStore(database()).resolve(flow)
        click.echo(mermaid(loaded))
    except FlowError as error:
        for line in error.lines():
            click.echo(line, err=True)
        sys.exit(1)
