"""`groundswell demo`: fill the database with a made-up cohort, to see a full report at once."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import UTC, datetime

import click
from sqlalchemy.engine import make_url

from bot.commands.common import database, settings
from bot.commands.participants import actor
from bot.commands.progress import ProgressBar
from bot.demo.seeding import DemoRefused, make_demo
from storage.flow_versions import FlowStore
from survey_flows.checks.problems import FlowError


def _day(moment: datetime) -> str:
    """A date as people write it: 4 Sep 2026."""
    return f"{moment.day} {moment:%b %Y}"


@click.command("demo")
@click.option(
    "--people", type=click.IntRange(3, 20_000), default=300, show_default=True,
    help="How many made-up residents.",
)  # fmt: skip
@click.option(
    "--weeks", type=click.IntRange(2, 104), default=12, show_default=True,
    help="How many weeks of check-ins, ending now.",
)  # fmt: skip
@click.option(
    "--seed", type=int, default=7, show_default=True,
    help="The same seed always makes the same residents and answers.",
)  # fmt: skip
@click.option(
    "--force", is_flag=True,
    help="Add the demo even though the database already holds participants.",
)  # fmt: skip
@click.option(
    "--if-empty", is_flag=True,
    help="Quietly do nothing when the database already holds participants (for `make run`).",
)  # fmt: skip
def demo(people: int, weeks: int, seed: int, force: bool, if_empty: bool) -> None:
    """Write a made-up cohort into the database, so a report has something to show.

    Three places (Elm Street, Riverside, Northgate), residents on the simulator channel,
    weeks of check-ins with people who never answer, drift away or miss a week, and a
    modest real change in Riverside only. Use it on a database of its own: it refuses a
    database that already holds participants unless you add --force.
    """
    config = settings()
    sessions = database(config)
    try:
        with ExitStack() as stack:
            summary = make_demo(
                sessions,
                FlowStore(sessions),
                datetime.now(UTC),
                people=people,
                weeks=weeks,
                seed=seed,
                force=force,
                timezone=config.default_timezone,
                progress=ProgressBar(stack, "Making up residents"),
                actor=actor(),
            )
    except DemoRefused as error:
        if if_empty:
            return
        raise click.ClickException(str(error)) from None
    except FlowError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo("The demo needs the flows shipped with Groundswell.", err=True)
        sys.exit(1)
    where = make_url(config.database_url).render_as_string(hide_password=True)
    places = ", ".join(
        f"{name} {count} (join code {summary.join_codes.get(name) or 'none'})"
        for name, count in summary.groups.items()
    )
    click.echo(
        f"Made {summary.participants} made-up residents in {where}: {places}.\n"
        f"{weeks} weeks of check-ins, {_day(summary.first_due)} to "
        f"{_day(summary.last_due)}: {summary.checkins} sent, {summary.completed} completed "
        f"({summary.response_rate:.0%}), {summary.answers} answers, {summary.messages} "
        f"messages, {summary.alerts} alerts.\n"
        "Only Riverside really changed (life satisfaction up by about 0.8 points, loneliness "
        "a little down); the other places differ only by chance.\n"
        "Everything here is made up: keep real residents in a database of their own.\n"
        "\nWhat to do next:\n"
        "  groundswell report weekly-wellbeing --format html --out report.html"
        "   (then open report.html)\n"
        "  make run and open the web app"
    )
