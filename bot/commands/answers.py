"""`groundswell answers import FILE.csv`: bring in check-ins collected before Groundswell."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.commands.common import database, refuse_import
from bot.commands.participants import actor
from bot.commands.progress import ProgressBar
from bot.intake.answers import AnswerImportError, import_answers
from storage.flow_versions import FlowStore

LONG_FILE = 1000  # rows from which the import shows a progress bar


@click.group()
def answers() -> None:
    """Import answers collected before Groundswell (on paper, in another tool)."""


@answers.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def import_command(file: Path) -> None:
    """Store the check-ins in FILE (CSV) as completed check-ins.

    The first line must be the header, with these columns in any order:
    participant,group,flow,checkin,step,value,answered_at (group may be left out).
    Rows with the same participant, flow and checkin make one check-in. Values are read as
    replies are ("seven" is 7). answered_at is YYYY-MM-DD (taken as 12:00 UTC) or
    YYYY-MM-DD HH:MM (UTC unless it gives a zone, e.g. +01:00). Every row is checked
    first; if any row is bad, nothing is imported.
    """
    sessions = database()
    library = FlowStore(sessions)
    try:
        with ExitStack() as stack:
            result = import_answers(
                sessions,
                file,
                library,
                datetime.now(UTC),
                progress=ProgressBar(stack, "Checking answers", LONG_FILE),
                actor=actor(),
            )
    except AnswerImportError as error:
        refuse_import(error)
    groups = ", ".join(result.groups_created) or "none"
    click.echo(
        f"Imported {result.answers} answer(s) in {result.checkins} check-in(s) of "
        f"{', '.join(result.flows)}. New participants: {result.participants_created}; "
        f"new groups: {groups}."
    )
    click.echo(f"See them in the report: groundswell report {result.flows[0]}")
