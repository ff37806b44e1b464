"""`groundswell export ...`: raw data out, so every published figure can be checked."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import click

from bot.commands.common import database
from bot.commands.participants import actor
from reports.export import (
    export_answers,
    export_checkins,
    export_enrolments,
    write_answers_csv,
    write_checkins_csv,
    write_enrolments_csv,
)
from storage.database import transaction
from storage.models import AuditEntry
from storage.private_files import open_private


@click.group()
def export() -> None:
    """Export raw data (pseudonymous) for checking figures or further analysis."""


def _options(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options every export takes: --flow, --format, --out and --include-tests."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--include-tests",
            is_flag=True,
            help="Also export test participants (the Simulator's, or marked with "
            "`participants mark-test`); reports never count them.",
        )(command)
        command = click.option(
            "--out",
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write to this file instead of standard output.",
        )(command)
        command = click.option(
            "--format",
            "fmt",
            type=click.Choice(["csv"]),
            default="csv",
            show_default=True,
            help="File format.",
        )(command)
        return click.option("--flow", help=f"Only {what} of this flow (a flow id).")(command)

    return decorate


def _write(
    rows: Iterator[dict[str, Any]],
    write: Callable[[Iterable[dict[str, Any]], TextIO], int],
    out: Path | None,
    flow: str | None,
    noun: str,
    none: str,
) -> None:
    """Write ``rows`` with ``write`` to ``out`` (mode 0600) or standard output, say how
    many, and record the export in the audit log."""
    if out is None:
        count = write(rows, sys.stdout)
        sys.stdout.flush()
    else:
        with open_private(out) as handle:
            count = write(rows, handle)
    where = "" if out is None else f" to {out}"
    with transaction(database()) as session:
        subject = f"{count} {noun}(s) of {flow or 'every flow'}{where}"
        session.add(
            AuditEntry(at=datetime.now(UTC), actor=actor(), action="exported", subject=subject)
        )
    click.echo(f"{count} {noun}(s) exported{where}.", err=True)
    if count == 0 and flow is not None:
        click.echo(f"No {none} {flow!r}: check the flow id.", err=True)


@export.command("answers")
@_options("answers")
def answers(flow: str | None, fmt: str, out: Path | None, include_tests: bool) -> None:
    """One row per answer: participant (pseudonym), group, flow, flow version, check-in,
    step, value, score, measure, answered_at (UTC) and channel.

    With `export checkins` and `export enrolments`, every figure in
    `groundswell report FLOW --format json` can be worked out from these files.
    """
    _write(
        export_answers(database(), flow, include_tests=include_tests),
        write_answers_csv,
        out,
        flow,
        "answer",
        "answers to flow",
    )


@export.command("checkins")
@_options("check-ins")
def checkins(flow: str | None, fmt: str, out: Path | None, include_tests: bool) -> None:
    """One row per check-in, answered or not: participant (pseudonym), group, flow, flow
    version, check-in, status, started_at, finished_at (UTC), channel and scheduled_for.

    The report's check-ins sent, completed, prompted and response rate come from this file.
    """
    rows = export_checkins(database(), flow, include_tests=include_tests)
    _write(rows, write_checkins_csv, out, flow, "check-in", "check-ins of flow")


@export.command("enrolments")
@_options("enrolments")
def enrolments(flow: str | None, fmt: str, out: Path | None, include_tests: bool) -> None:
    """One row per enrolment: participant (pseudonym), group (their group now), flow,
    enrolled_at (UTC) and active.

    The report's enrolled count comes from this file, with the check-ins and answers.
    """
    rows = export_enrolments(database(), flow, include_tests=include_tests)
    _write(rows, write_enrolments_csv, out, flow, "enrolment", "enrolments in flow")
