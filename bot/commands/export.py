"""`groundswell export ...`: raw data out, so every published figure can be checked."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.commands.common import database
from reports.export import export_answers, write_answers_csv


@click.group()
def export() -> None:
    """Export raw data (pseudonymous) for checking figures or further analysis."""


@export.command("answers")
@click.option("--flow", help="Only answers to this flow (a flow id).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv"]),
    default="csv",
    show_default=True,
    help="File format.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
def answers(flow: str | None, fmt: str, out: Path | None) -> None:
    """One row per answer: participant (pseudonym), group, flow, flow version, check-in,
    step, value, score, measure, answered_at (UTC) and channel.

    Every figure in `groundswell report FLOW --format json` can be worked out from this file.
    """
    sessions = database()
    rows = export_answers(sessions, flow)
    if out is None:
        count = write_answers_csv(rows, sys.stdout)
        sys.stdout.flush()
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            count = write_answers_csv(rows, handle)
    where = "" if out is None else f" to {out}"
    click.echo(f"{count} answer(s) exported{where}.", err=True)
    if count == 0 and flow is not None:
        click.echo(f"No answers to flow {flow!r}: check the flow id.", err=True)
