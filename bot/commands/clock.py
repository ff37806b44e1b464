"""`groundswell clock`: the scheduler process (or one tick of it with --once)."""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import UTC, datetime

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.common import database, settings, wait_for_database
from bot.schedule.clock import TickReport, tick
from bot.settings import Settings
from storage.flow_versions import Flows, FlowStore

TICK_SECONDS = 30  # at least once a minute, with room for a slow tick

log = logging.getLogger(__name__)


@click.command()
@click.option("--once", is_flag=True, help="Run exactly one tick, print what it did, and exit.")
@wait_for_database
def clock(once: bool, wait: float) -> None:
    """Start due check-ins, send reminders and summaries, close expired check-ins.

    Runs until stopped, ticking every 30 seconds. Several clocks may run against one
    PostgreSQL database (a failover pair): they never start the same check-in twice.
    With --once, runs a single tick: for platforms that run a scheduled command instead
    of a process, and for checking a deployment by hand.
    """
    config = settings()
    sessions = database(config, wait=wait)
    library = FlowStore(sessions)
    if once:
        report = run_tick(sessions, library, config)
        click.echo(describe(report))
        for problem in report.problems:
            click.echo(f"warning: {problem}", err=True)
        return
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=TICK_SECONDS,
        args=(sessions, library, config),
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=TICK_SECONDS,
    )
    click.echo(f"Clock running: one tick every {TICK_SECONDS} s. Stop with Ctrl-C.", err=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def run_tick(sessions: sessionmaker[Session], library: Flows, config: Settings) -> TickReport:
    """One tick at the current time; logs a line when it did anything."""
    report = tick(sessions, library, config, datetime.now(UTC), process=f"clock-{os.getpid()}")
    if any((report.started, report.reminded, report.expired, report.summaries)):
        log.info(describe(report))
    return report


def describe(report: TickReport) -> str:
    return (
        f"tick: {report.started} check-ins started, {report.reminded} reminders, "
        f"{report.expired} expired, {report.summaries} summaries, "
        f"{report.released} held messages released, {report.skipped} passed over "
        f"(opted out or unreachable), {report.scheduled} new enrolments scheduled"
    )
