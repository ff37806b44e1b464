"""`groundswell report FLOW`: the change summary of a flow, as text, JSON, CSV or HTML."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.common import database, settings
from reports.build import UnknownGroupError, analyse
from storage.database import transaction
from storage.flow_versions import FlowStore
from storage.models import FlowVersion
from storage.private_files import write_private
from survey_flows.checks.loading import parse_flow
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow

FORMATS = ("text", "json", "csv", "html")


def _flow(name: str, sessions: sessionmaker[Session]) -> Flow:
    """The flow's current stored version; else the latest version a check-in ran.

    A flow only check-ins remember (a database from before flows were stored) can still be
    reported on, from the source text that every check-in's flow version keeps.
    """
    try:
        return FlowStore(sessions).resolve(name)
    except FlowError as error:
        with transaction(sessions, readonly=True) as session:
            source = session.scalars(
                select(FlowVersion.source_text)
                .where(FlowVersion.flow_id == name)
                .order_by(FlowVersion.first_seen_at.desc())
                .limit(1)
            ).first()
        if source is not None:
            try:
                return parse_flow(source, f"<database: {name}>", stored=True)
            except FlowError:
                pass
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def _status(message: str) -> None:
    """A progress line on stderr, so stdout holds only the report."""
    click.echo(f"{message}…", err=True)


@click.command("report")
@click.argument("flow")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of the period (YYYY-MM-DD, UTC), included.",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the period (YYYY-MM-DD, UTC), included.",
)
@click.option(
    "--group", help="Report on this group only (its figures as the full report shows them)."
)
@click.option(
    "--follow-up",
    "follow_up",
    type=click.FloatRange(min=0, min_open=True),
    metavar="WEEKS",
    help="Compare each baseline with the answer nearest WEEKS weeks later (within a quarter "
    "of that, at least a week, either side) instead of the latest answer.",
)
@click.option(
    "--adjustment",
    type=click.Choice(("holm", "bh")),
    default="holm",
    show_default=True,
    help="How p-values are adjusted for the report's number of tests: holm (any false "
    "finding) or bh (Benjamini-Hochberg, share of false findings).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, json for tools, csv for spreadsheets, html to share.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
def report(
    flow: str,
    since: datetime | None,
    until: datetime | None,
    group: str | None,
    follow_up: float | None,
    adjustment: str,
    fmt: str,
    out: Path | None,
) -> None:
    """Summarise how answers to FLOW changed: who answered, each measure, stories.

    Figures describing fewer than GROUNDSWELL_MIN_GROUP_SIZE people (default 5) are not
    shown. Examples:

    \b
      groundswell report weekly-wellbeing
      groundswell report weekly-wellbeing --since 2025-01-01 --format html --out report.html
      groundswell report weekly-wellbeing --follow-up 12
    """
    config = settings()
    sessions = database(config)
    loaded = _flow(flow, sessions)
    try:
        built = analyse(
            sessions,
            loaded,
            since=since.date() if since else None,
            until=until.date() if until else None,
            group=group,
            threshold=config.suppression_threshold,
            key=config.report_key,
            progress=_status,
            follow_up_weeks=follow_up,
            adjustment=adjustment,
        )
    except UnknownGroupError as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.ClickException(str(error)) from None

    if fmt == "json":
        from reports.formats.json import render as render_json

        text = render_json(built.data)
    elif fmt == "csv":
        from reports.formats.csv import render as render_csv

        text = render_csv(built.data)
    elif fmt == "html":
        from reports.charts import report_charts
        from reports.formats.html import render as render_html

        _status("Drawing charts")
        text = render_html(built.data, report_charts(built, loaded))
    else:
        from reports.formats.text import render as render_text

        text = render_text(built.data)

    if out is None:
        click.echo(text, nl=False)
        return
    write_private(out, text)
    click.echo(f"Report written to {out}", err=True)
