"""Everyone due in the same minute: one clock tick at several sizes, as a scale curve.

For each size (default 100,000, 300,000 and 1,000,000 participants, all due at once) a
fresh copy of a seeded database gets one tick; the time is from the tick's start until
every first message is in the outbox, the memory the peak of the process(es) that ticked
(set-up runs elsewhere, so it does not count). `--clocks 1 2` also runs two clock
processes at once over the same due set (they share the work in claimed batches) and
checks that no check-in started twice. A breakdown says where the time went (claiming
due enrolments, the engine, writing check-ins, queueing messages, commits, the rest).

Seeding a million participants takes minutes, so each size is seeded once into a template
(PostgreSQL database `bench_clock_<size>`, SQLite file `<cache>/clock_<size>.db`) and each
measurement runs on a copy (`CREATE DATABASE .. TEMPLATE`, or a file copy); `--fresh`
seeds the templates again. Templates are brought to the newest schema before each run.

    python bench/clock_tick.py                        # both databases, 1 and 2 clocks
    python bench/clock_tick.py --people 100000 --databases postgresql --clocks 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import bindparam, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.curve import Curve, Point, linear_verdict, settle, verdict  # noqa: E402
from bot.checkins import starting  # noqa: E402
from bot.schedule import clock  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import make_engine, session_factory, transaction  # noqa: E402
from storage.models import Checkin, Group, OutboxItem  # noqa: E402
from storage.types import UTCDateTime  # noqa: E402
from survey_flows import engine  # noqa: E402
from survey_flows.checks.folder import FlowLibrary  # noqa: E402

DUE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # a Friday at 18:00, weekly-wellbeing's slot
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_CACHE = Path(os.environ.get("BENCH_CACHE", "/var/tmp/groundswell-bench"))
GOAL_SIZE, GOAL_SECONDS, GOAL_MB = 1_000_000, 60.0, 1024.0
GOAL = "a 1,000,000-participant tick under 60 s and 1 GB on PostgreSQL"
MESSAGES_PER_START = 2  # weekly-wellbeing opens with a greeting and its first question

# --- seeding, in SQL: a million rows from Python would take minutes --------------------

_SEED = {
    "postgresql": [
        """INSERT INTO participants (id, name, pseudonym, group_id, opted_out, created_at, is_test)
           SELECT n, 'Resident ' || n, 'B-' || lpad(n::text, 8, '0'), :group_id, false,
                  :enrolled, false FROM generate_series(1, :people) AS n""",
        """INSERT INTO channel_addresses (participant_id, channel, address)
           SELECT n, 'sim', 'sim-' || n FROM generate_series(1, :people) AS n""",
        """INSERT INTO enrolments (participant_id, group_id, flow_id, enrolled_at, active,
                                   next_due_at)
           SELECT n, :group_id, 'weekly-wellbeing', :enrolled, true, :due
           FROM generate_series(1, :people) AS n""",
        "SELECT setval(pg_get_serial_sequence('participants', 'id'), :people)",
    ],
    "sqlite": [
        f"""WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :people)
           INSERT INTO {table} SELECT {columns} FROM seq"""
        for table, columns in [
            (
                "participants (id, name, pseudonym, group_id, opted_out, created_at, is_test)",
                "n, 'Resident ' || n, printf('B-%08d', n), :group_id, 0, :enrolled, 0",
            ),
            ("channel_addresses (participant_id, channel, address)", "n, 'sim', 'sim-' || n"),
            (
                "enrolments (participant_id, group_id, flow_id, enrolled_at, active, next_due_at)",
                "n, :group_id, 'weekly-wellbeing', :enrolled, 1, :due",
            ),
        ]
    ],
}


def seed(url: str, people: int) -> None:
    """A migrated database with `people` participants, each with an address and a weekly
    enrolment due at DUE."""
    migrate.upgrade(url)
    database = make_engine(url, poolclass=NullPool)
    with transaction(session_factory(database)) as session:
        group_id = session.scalar(insert(Group).values(name="Bench Street").returning(Group.id))
        dialect = session.get_bind().dialect.name
        for sql in _SEED[dialect]:
            values = {"people": people, "group_id": group_id}
            values |= {"enrolled": DUE - timedelta(days=7), "due": DUE}
            values = {k: v for k, v in values.items() if f":{k}" in sql}
            times = [bindparam(k, type_=UTCDateTime()) for k in ("enrolled", "due") if k in values]
            session.execute(text(sql).bindparams(*times), values)
    with database.connect() as connection:  # statistics for the planner
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE")
        )


# --- where the seeded templates live and how a measurement gets its copy --------------


class Store(Protocol):
    """A database server (or folder) holding one seeded template per size."""

    name: str

    def has_template(self, people: int) -> bool: ...
    def make_template(self, people: int) -> None: ...
    def template_url(self, people: int) -> str: ...
    def copy(self, people: int) -> str: ...
    def drop(self, url: str) -> None: ...


class PostgresStore:
    """Templates `bench_clock_<size>` on a PostgreSQL server; copies by CREATE DATABASE."""

    name = "PostgreSQL"

    def __init__(self, admin_url: str) -> None:
        self.url = make_url(admin_url)
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def _run(self, sql: str) -> Any:
        with self.admin.connect() as connection:
            result = connection.execute(text(sql))
            return result.scalar() if result.returns_rows else None

    def _url(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def has_template(self, people: int) -> bool:
        found = self._run(f"SELECT 1 FROM pg_database WHERE datname = 'bench_clock_{people}'")
        return found is not None

    def make_template(self, people: int) -> None:
        building = f"bench_clock_{people}_building"
        self._run(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        self._run(f'DROP DATABASE IF EXISTS "bench_clock_{people}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{building}" TEMPLATE template0')
        seed(self._url(building), people)
        self._run(f'ALTER DATABASE "{building}" RENAME TO "bench_clock_{people}"')

    def template_url(self, people: int) -> str:
        return self._url(f"bench_clock_{people}")

    def copy(self, people: int) -> str:
        name = f"bench_clock_run_{secrets.token_hex(4)}"
        self._run(f'CREATE DATABASE "{name}" TEMPLATE "bench_clock_{people}"')
        return self._url(name)

    def drop(self, url: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


class SqliteStore:
    """Template files `clock_<size>.db` in a cache folder; copies are file copies."""

    name = "SQLite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, people: int) -> Path:
        return self.folder / f"clock_{people}.db"

    def has_template(self, people: int) -> bool:
        return self._path(people).exists()

    def make_template(self, people: int) -> None:
        building = self.folder / f"clock_{people}.building.db"
        self.drop(f"sqlite:///{building}")
        self.drop(self.template_url(people))
        seed(f"sqlite:///{building}", people)
        # Fold the write-ahead log in, so the file alone is the whole database.
        with create_engine(f"sqlite:///{building}", poolclass=NullPool).connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        for log in ("-wal", "-shm"):  # the log's files, now empty
            Path(f"{building}{log}").unlink(missing_ok=True)
        building.rename(self._path(people))

    def template_url(self, people: int) -> str:
        return f"sqlite:///{self._path(people)}"

    def copy(self, people: int) -> str:
        target = self.folder / f"run_{secrets.token_hex(4)}.db"
        shutil.copyfile(self._path(people), target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        path = Path(str(make_url(url).database))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def ready(store: Store, people: int, fresh: bool) -> None:
    """Make sure the size's template exists (seeding it if needed) and has the newest schema."""
    if fresh or not store.has_template(people):
        began = time.perf_counter()
        store.make_template(people)
        took = time.perf_counter() - began
        print(f"{store.name}: seeded {people:,} due participants in {took:.0f} s", flush=True)
    migrate.upgrade(store.template_url(people))


# --- the measured part: one clock process ----------------------------------------------


class Breakdown:
    """Seconds spent inside a few named functions of the tick, by wrapping them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, attribute: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - began

        setattr(owner, attribute, timed)


def run_clock(url: str, batch: int) -> dict[str, Any]:
    """One tick in this process: its time, CPU, peak memory and breakdown (as JSON)."""
    breakdown = Breakdown()
    breakdown.wrap(clock, "_claim_due", "claim")
    breakdown.wrap(engine, "advance", "engine")
    breakdown.wrap(starting, "insert_many", "write check-ins")
    breakdown.wrap(starting, "enqueue_many", "queue messages")
    breakdown.wrap(SessionTransaction, "commit", "commit")
    database = make_engine(url)
    backends: list[int] = []
    if database.dialect.name == "postgresql":

        @event.listens_for(database, "connect")
        def _remember_backend(connection: Any, _record: Any) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.append(cursor.fetchone()[0])

    sessions = session_factory(database)
    library, settings = FlowLibrary(), Settings(quiet_start=Settings().quiet_end)
    began, cpu, wall = time.perf_counter(), time.process_time(), time.time()
    report = clock.tick(sessions, library, settings, DUE, batch=batch)
    seconds = time.perf_counter() - began
    accounted = sum(breakdown.seconds.values())
    return {
        "began": wall,
        "ended": wall + seconds,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "database_cpu_seconds": sum(_process_cpu(pid) for pid in backends),
        "started": report.started,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "breakdown": dict(breakdown.seconds) | {"other": seconds - accounted},
    }


def _process_cpu(pid: int) -> float:
    """CPU seconds a process on this machine has used (a local PostgreSQL backend's), or 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tick_with(url: str, clocks: int, batch: int) -> tuple[float, list[dict[str, Any]]]:
    """`clocks` clock processes ticking at once: the time from the first tick's start to
    the last one's end (start-up and imports left out), and what each reported."""
    command = [sys.executable, __file__, "--clock-process", url, "--batch", str(batch)]
    if clocks > 1:  # every process waits for the others' imports, then all tick together
        command += ["--start-at", str(time.time() + 5 + 2 * clocks)]
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(clocks)
    ]
    outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode for process in processes):
        raise SystemExit("a clock process failed (see above)")
    reports = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    return max(r["ended"] for r in reports) - min(r["began"] for r in reports), reports


def check_once(url: str, people: int, reports: list[dict[str, Any]]) -> None:
    """Every due participant got exactly one check-in and its first messages."""
    sessions = session_factory(make_engine(url, poolclass=NullPool))
    with transaction(sessions, readonly=True) as session:
        total = session.scalar(select(func.count()).select_from(Checkin))
        distinct = session.scalar(select(func.count(func.distinct(Checkin.enrolment_id))))
        queued = session.scalar(select(func.count()).select_from(OutboxItem))
    started = sum(r["started"] for r in reports)
    if not started == total == distinct == people or queued != MESSAGES_PER_START * people:
        raise SystemExit(
            f"wrong result: {started} started, {total} check-ins for {distinct} enrolments, "
            f"{queued} messages queued, for {people} due participants"
        )


def measure(store: Store, people: int, clocks: int, batch: int) -> tuple[Point, dict[str, float]]:
    """One point: a fresh copy of the size's template, `clocks` processes ticking it."""
    url = store.copy(people)
    try:
        settle()
        point = Point(size=people, seconds=0.0)
        seconds, reports = tick_with(url, clocks, batch)
        point.seconds = seconds
        point.finish()
        check_once(url, people, reports)
    finally:
        store.drop(url)
    point.peak_mb = max(r["peak_mb"] for r in reports)
    cpu = sum(r["cpu_seconds"] for r in reports)
    database_cpu = sum(r["database_cpu_seconds"] for r in reports)
    point.extra = {
        "check-ins/s": f"{people / seconds:,.0f}",
        "clock CPU s": f"{cpu:.1f}",
        "database CPU s": f"{database_cpu:.1f}" if database_cpu else "-",
    }
    breakdown: dict[str, float] = defaultdict(float)
    for report in reports:
        for label, spent in report["breakdown"].items():
            breakdown[label] += spent
    return point, breakdown


def show_breakdown(name: str, breakdowns: dict[int, dict[str, float]]) -> None:
    """Seconds per part of the tick at each size (summed over clock processes)."""
    labels = ["claim", "engine", "write check-ins", "queue messages", "commit", "other"]
    print(f"{name}: where the time goes (seconds, summed over the clock processes)")
    print("  " + f"{'size':>10}" + "".join(f"{label:>16}" for label in labels))
    for people, parts in breakdowns.items():
        cells = "".join(f"{parts.get(label, 0.0):>16.2f}" for label in labels)
        print(f"  {people:>10,}{cells}")
    print(
        "  (claim: selecting and locking due enrolments; engine: the flow engine opening each "
        "check-in; write check-ins and queue messages include their statements; commit: the "
        "database commits; other: reading people and addresses, moving due times on, the rest. "
        "Queue messages and write check-ins run inside the engine's batch, not inside claim.)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument(
        "--databases", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"]
    )
    parser.add_argument("--clocks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of the server")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="SQLite templates")
    parser.add_argument("--batch", type=int, default=clock.BATCH)
    parser.add_argument("--fresh", action="store_true", help="seed the templates again")
    parser.add_argument("--seed-only", action="store_true", help="seed templates, measure nothing")
    parser.add_argument("--clock-process", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clock_process:
        if args.start_at:
            time.sleep(max(0.0, args.start_at - time.time()))
        print(json.dumps(run_clock(args.clock_process, args.batch)))
        return
    stores: list[Store] = []
    if "postgresql" in args.databases:
        stores.append(PostgresStore(args.postgres))
    if "sqlite" in args.databases:
        stores.append(SqliteStore(args.cache))
    sizes = sorted(args.people)
    for store in stores:
        for people in sizes:
            ready(store, people, args.fresh)
    if args.seed_only:
        return
    curves: list[Curve] = []
    for store in stores:
        for clocks in args.clocks:
            curve = Curve(f"{store.name}, {clocks} clock(s): one tick", "participants")
            breakdowns: dict[int, dict[str, float]] = {}
            for people in sizes:
                point, breakdowns[people] = measure(store, people, clocks, args.batch)
                curve.add(point)
                print(f"  {curve.name}, {people:,}: {point.seconds:.1f} s", flush=True)
            curves.append(curve)
            print(curve.table())
            show_breakdown(curve.name, breakdowns)
            print(linear_verdict(curve))
            largest = curve.points[-1]
            if store.name == "PostgreSQL" and clocks == 1 and largest.size >= GOAL_SIZE:
                met = largest.seconds < GOAL_SECONDS and (largest.peak_mb or 0) < GOAL_MB
                print(verdict(GOAL, met, [curve]))
            print(flush=True)


if __name__ == "__main__":
    main()
