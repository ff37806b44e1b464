"""100,000 participants due in the same minute: one clock tick, timed.

Prints the time from the tick's start until every first message is in the outbox, and
the peak memory of the process that ran the tick (set-up runs in another process so it
does not count). SQLite by default; `--postgres URL` (an admin URL such as
postgresql+psycopg://postgres@127.0.0.1:5432/test) runs it on a fresh PostgreSQL database
too. Example: python bench/clock_tick.py --people 100000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.schedule.clock import tick  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import make_engine, session_factory, transaction  # noqa: E402
from storage.models import ChannelAddress, Enrolment, Group, OutboxItem, Participant  # noqa: E402
from survey_flows.checks.folder import FlowLibrary  # noqa: E402

DUE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # a Friday at 18:00, weekly-wellbeing's slot
CHUNK = 10_000


def populate(url: str, people: int) -> None:
    """Participants with an address and a weekly enrolment, all due at DUE (bulk inserts)."""
    migrate.upgrade(url)
    sessions = session_factory(make_engine(url))
    with transaction(sessions) as session:
        group_id = session.scalars(
            insert(Group).returning(Group.id), [{"name": "Bench Street"}]
        ).one()
    for start in range(0, people, CHUNK):
        with transaction(sessions) as session:
            ids = session.scalars(
                insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
                [
                    {
                        "name": f"Resident {n}",
                        "pseudonym": f"B-{n:07d}",
                        "group_id": group_id,
                        "opted_out": False,
                        "created_at": DUE - timedelta(days=7),
                    }
                    for n in range(start, min(start + CHUNK, people))
                ],
            ).all()
            session.execute(
                insert(ChannelAddress),
                [{"participant_id": i, "channel": "sim", "address": f"sim-{i}"} for i in ids],
            )
            session.execute(
                insert(Enrolment),
                [
                    {
                        "participant_id": i,
                        "group_id": group_id,
                        "flow_id": "weekly-wellbeing",
                        "enrolled_at": DUE - timedelta(days=7),
                        "active": True,
                        "next_due_at": DUE,
                    }
                    for i in ids
                ],
            )


def run_tick(url: str) -> dict[str, float]:
    """The measured part, in its own process: one tick, then count what it queued."""
    sessions = session_factory(make_engine(url))
    began, cpu = time.perf_counter(), time.process_time()
    report = tick(sessions, FlowLibrary(), Settings(quiet_start=Settings().quiet_end), DUE)
    seconds = time.perf_counter() - began
    cpu_seconds = time.process_time() - cpu
    with transaction(sessions) as session:
        queued = session.scalar(select(func.count()).select_from(OutboxItem))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "started": report.started,
        "queued": queued,
        "peak_mb": peak_mb,
    }


def measure(url: str, people: int, label: str) -> None:
    began = time.perf_counter()
    populate(url, people)
    print(f"{label}: set up {people:,} due enrolments in {time.perf_counter() - began:.1f} s")
    out = subprocess.run(
        [sys.executable, __file__, "--tick-only", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    print(
        f"{label}: tick started {figures['started']:,} check-ins, {figures['queued']:,} messages "
        f"in the outbox in {figures['seconds']:.1f} s "
        f"({figures['cpu_seconds']:.1f} s of this process's CPU) "
        f"({figures['started'] / figures['seconds']:,.0f} check-ins/s); "
        f"peak memory {figures['peak_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to test as well")
    parser.add_argument("--tick-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tick_only:
        print(json.dumps(run_tick(args.tick_only)))
        return
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{folder}/bench.db", args.people, "SQLite")
    if args.postgres:
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        name = f"gs_bench_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            measure(url, args.people, "PostgreSQL")
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
