"""How the report's time and memory grow with the number of answers: a scale curve.

For each size N (default 1M, 3M and 10M answers) a synthetic cohort on the shipped
weekly-wellbeing flow has N/20 participants (50k, 150k, 500k) in 20 groups (two of them
small, so suppression is exercised) plus 1% in no group; five weekly check-ins each, about
80% answered with five measure answers, and a story in one answered check-in in forty:
N answers. Then the report is built as the CLI builds it (``analyse(...)`` and the JSON
format) ``--repeat`` times, each in a fresh process: the median wall time, split into load
(reading the database), compute (the figures and disclosure control) and format (JSON),
and the largest peak resident memory of those processes (``VmHWM``: imports included).

Seeded databases are kept between runs, so a later (quiet) run only measures: on
PostgreSQL a database ``bench_report_<N>`` per size, on SQLite a file ``report_<N>.sqlite``
in ``--keep`` (default /var/tmp/groundswell-bench). Each is marked with SEED_VERSION once
fully seeded (the database's comment; SQLite's ``user_version``) and reused while the mark
matches; ``--fresh`` seeds again.

    python bench/report_size.py                         # PostgreSQL 1M 3M 10M, SQLite 1M 3M
    python bench/report_size.py --answers 1000000 --no-sqlite
    python bench/report_size.py --seed-only             # seed what is missing, measure nothing

Goals (issue 18): the 10M-answer report under 15 s and 2 GB on PostgreSQL, and every size
step within 1.2x of linear. No verdict is given when the machine was busy (bench/curve.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.curve import Curve, Point, linear_verdict, settle, verdict  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import make_engine, normalise_url, session_factory  # noqa: E402
from survey_flows.checks.folder import FlowLibrary  # noqa: E402

#: Bump when the cohort below changes: kept databases with another mark are seeded again.
SEED_VERSION = 2
DEFAULT_SIZES = [1_000_000, 3_000_000, 10_000_000]
DEFAULT_SQLITE_SIZES = [1_000_000, 3_000_000]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_KEEP = Path("/var/tmp/groundswell-bench")

ANSWERS_PER_PERSON = 20  # 1M answers: 50,000 people
NO_GROUP_SHARE = 0.01  # participants in no group
GROUP_SIZES = [3, 8]  # two small groups; the rest share the others equally
GROUPS = 20
WEEKS = 5
ANSWERED_SHARE = 0.796  # of check-ins, each with five measure answers
STORY_SHARE = 0.025  # of answered check-ins
CHUNK = 25_000  # participants generated and written at a time (about 500k answers)
T0 = np.datetime64("2025-01-06T18:00:00", "us")
FLOW = "weekly-wellbeing"
# (step id, measure, low, high) of the flow's measures; loneliness is a 0-4 choice score.
STEPS = [
    ("life_satisfaction", "life_satisfaction", 0, 10),
    ("worthwhile", "worthwhile", 0, 10),
    ("happy", "happiness", 0, 10),
    ("anxious", "anxiety", 0, 10),
    ("lonely", "loneliness", 0, 4),
]
LONELY_VALUES = ["never", "hardly_ever", "occasionally", "some", "often"]
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
GOAL_ANSWERS, GOAL_SECONDS, GOAL_MB = 10_000_000, 15.0, 2048.0


# --------------------------------------------------------------------------- the cohort


def pseudonym(i: int) -> str:
    """A unique pseudonym for participant number ``i``."""
    chars = []
    for _ in range(6):
        i, r = divmod(i, len(ALPHABET))
        chars.append(ALPHABET[r])
    return "P-" + "".join(chars)


def group_of_everyone(people: int) -> np.ndarray:
    """Each participant's group (0: none), participant i at index i - 1."""
    no_group = int(people * NO_GROUP_SHARE)
    big = (people - no_group - sum(GROUP_SIZES)) // (GROUPS - len(GROUP_SIZES))
    sizes = GROUP_SIZES + [big] * (GROUPS - len(GROUP_SIZES))
    sizes[-1] += people - no_group - sum(sizes)
    return np.concatenate(
        [np.full(size, g + 1) for g, size in enumerate(sizes)] + [np.zeros(no_group, int)]
    )


def times_text(times: np.ndarray, sqlite: bool) -> list[str]:
    """Times as the database takes them: SQLAlchemy's SQLite text, or ISO with +00."""
    text = np.datetime_as_string(times, unit="us")
    if sqlite:
        return [t.replace("T", " ") for t in text.tolist()]
    return [t + "+00" for t in text.tolist()]


@dataclass
class Chunk:
    """The rows of one range of participants, as columns (lists ready for the driver)."""

    participants: list[tuple[Any, ...]]
    checkins: list[tuple[Any, ...]]
    answers: Iterator[tuple[Any, ...]]


def chunks(answers: int, version: str, sqlite: bool) -> Iterator[Chunk]:
    """The cohort for ``answers`` answers, CHUNK participants at a time (deterministic)."""
    people = answers // ANSWERS_PER_PERSON
    group_of = group_of_everyone(people)
    created = times_text(np.array([T0]), sqlite)[0]
    answer_id = 0
    for index, first in enumerate(range(0, people, CHUNK)):
        rng = np.random.default_rng((2025, index))
        pid = np.arange(first + 1, min(first + CHUNK, people) + 1)
        group = group_of[pid - 1]
        participants = [
            (int(p), pseudonym(int(p) - 1), int(g) or None, created)
            for p, g in zip(pid, group, strict=True)
        ]
        person = np.repeat(pid, WEEKS)
        week = np.tile(np.arange(WEEKS), pid.size)
        checkin_id = (person - 1) * WEEKS + week + 1
        starts = T0 + week * np.timedelta64(7, "D") + ((person * 7) % 1440) * np.timedelta64(1, "m")
        answered = np.zeros(person.size, dtype=bool)
        answered[rng.choice(person.size, round(person.size * ANSWERED_SHARE), replace=False)] = True
        start_text = times_text(starts, sqlite)
        status = np.where(answered, "completed", "expired").tolist()
        checkins = [
            (int(c), int(p), int(p), FLOW, version, "sms", s, t)
            for c, p, s, t in zip(checkin_id, person, status, start_text, strict=True)
        ]

        done = np.flatnonzero(answered)
        base = rng.normal(5.5, 1.8, pid.size)
        shift = np.where(group == 3, 0.6, 0.0)  # a modest true improvement in one place
        local = person[done] - first - 1
        trend = shift[local] * week[done] / (WEEKS - 1)
        level = base[local] + trend
        noise = rng.normal(0, 1.2, (done.size, len(STEPS)))
        levels = np.stack([level, level, level, 10 - level, (10 - level) * 0.4], axis=1)
        highs = np.array([high for *_, high in STEPS])
        scores = np.clip(np.round(levels + noise), 0, highs)
        at = starts[done] + np.timedelta64(2, "m")
        story = np.zeros(done.size, dtype=bool)
        story[rng.choice(done.size, round(done.size * STORY_SHARE), replace=False)] = True
        rows = []
        for s, (step, measure, _, _) in enumerate(STEPS):
            when = times_text(at + np.timedelta64(20 * s, "s"), sqlite)
            if measure == "loneliness":
                values = [json.dumps(LONELY_VALUES[int(x)]) for x in scores[:, s]]
            else:
                values = [str(int(x)) for x in scores[:, s]]
            rows.append((step, measure, values, scores[:, s].tolist(), when))
        story_when = times_text(at, sqlite)
        cid, who, wk = checkin_id[done].tolist(), person[done].tolist(), week[done].tolist()
        out = []
        for k in range(done.size):
            for step, measure, values, score, when in rows:
                answer_id += 1
                out.append((answer_id, cid[k], who[k], step, values[k], score[k], measure, when[k]))
            if story[k]:
                answer_id += 1
                text = json.dumps(f"Week {wk[k] + 1}: the community garden opened")
                out.append((answer_id, cid[k], who[k], "story", text, None, None, story_when[k]))
        yield Chunk(participants, checkins, iter(out))


# --------------------------------------------------------------------------- seeding


def seed_sqlite(url: str, answers: int, version: str, source: str) -> int:
    """Bulk insert with sqlite3's executemany, in one transaction; returns answers written."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    written = 0
    t0 = times_text(np.array([T0]), True)[0]
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO flow_versions (version, flow_id, source_text, first_seen_at) "
            "VALUES (?, ?, ?, ?)",
            (version, FLOW, source, t0),
        )
        cur.executemany(
            "INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)",
            [(g + 1, f"Place {g + 1:02d}", t0) for g in range(GROUPS)],
        )
        for chunk in chunks(answers, version, sqlite=True):
            cur.executemany(
                "INSERT INTO participants (id, pseudonym, group_id, opted_out, created_at) "
                "VALUES (?, ?, ?, 0, ?)",
                chunk.participants,
            )
            cur.executemany(
                "INSERT INTO enrolments (id, participant_id, group_id, flow_id, enrolled_at, "
                f"active) VALUES (?, ?, ?, '{FLOW}', ?, 1)",
                [(i, i, g, t) for i, _, g, t in chunk.participants],
            )
            cur.executemany(
                "INSERT INTO checkins (id, participant_id, enrolment_id, flow_id, flow_version, "
                "channel, status, started_at, state, reminders_sent) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', 0)",
                chunk.checkins,
            )
            rows = list(chunk.answers)
            written += len(rows)
            cur.executemany(
                "INSERT INTO answers (id, checkin_id, participant_id, flow_id, flow_version, "
                "step_id, value, score, measure, answered_at, channel) "
                f"VALUES (?, ?, ?, '{FLOW}', '{version}', ?, ?, ?, ?, ?, 'sms')",
                rows,
            )
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
        # Move the bulk insert out of the write-ahead log into the database file, as
        # SQLite's automatic checkpoints would in normal running.
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.execute(f"PRAGMA user_version = {SEED_VERSION}")
    finally:
        raw.close()
        engine.dispose()
    return written


def _text(value: Any) -> str:
    """One field in COPY's text format (no value here holds a tab, newline or backslash)."""
    return "\\N" if value is None else str(value)


def _copy(cur: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> int:
    """COPY rows in text format, a block of lines per write; returns the rows written."""
    count = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        block: list[str] = []
        for row in rows:
            block.append("\t".join(map(_text, row)))
            if len(block) == 100_000:
                copy.write("\n".join(block) + "\n")
                count += len(block)
                block = []
        if block:
            copy.write("\n".join(block) + "\n")
            count += len(block)
    return count


def seed_postgres(url: str, answers: int, version: str, source: str) -> int:
    """Bulk insert with COPY in one transaction (foreign-key triggers off: the rows are
    consistent by construction), then VACUUM ANALYZE; returns answers written."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    written = 0
    t0 = times_text(np.array([T0]), False)[0]
    try:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "INSERT INTO flow_versions (version, flow_id, source_text, first_seen_at) "
            "VALUES (%s, %s, %s, %s)",
            (version, FLOW, source, t0),
        )
        _copy(
            cur,
            "groups",
            "id, name, created_at",
            ((g + 1, f"Place {g + 1:02d}", t0) for g in range(GROUPS)),
        )
        for chunk in chunks(answers, version, sqlite=False):
            _copy(
                cur,
                "participants",
                "id, pseudonym, group_id, opted_out, created_at",
                ((i, p, g, "f", t) for i, p, g, t in chunk.participants),
            )
            _copy(
                cur,
                "enrolments",
                "id, participant_id, group_id, flow_id, enrolled_at, active",
                ((i, i, g, FLOW, t, "t") for i, _, g, t in chunk.participants),
            )
            _copy(
                cur,
                "checkins",
                "id, participant_id, enrolment_id, flow_id, flow_version, channel, status, "
                "started_at, state, reminders_sent",
                ((*c, "{}", 0) for c in chunk.checkins),
            )
            written += _copy(
                cur,
                "answers",
                "id, checkin_id, participant_id, step_id, value, score, measure, answered_at, "
                "flow_id, flow_version, channel",
                ((*a, FLOW, version, "sms") for a in chunk.answers),
            )
        for table in ("groups", "participants", "enrolments", "checkins", "answers"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    vacuum = create_engine(make_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with vacuum.connect() as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    vacuum.dispose()
    return written


def seed_mark(answers: int) -> str:
    """What a fully seeded database of this size is marked with."""
    return f"groundswell bench/report_size.py seed {SEED_VERSION}: {answers} answers"


def postgres_database(server: str, answers: int, fresh: bool, say: Any) -> str:
    """The URL of the kept database for ``answers``, seeded first when missing or stale."""
    server_url = make_url(normalise_url(server))
    name = f"bench_report_{answers}"
    url = server_url.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            mark = connection.exec_driver_sql(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = %(name)s",
                {"name": name},
            ).first()
            if mark is not None and mark[0] == seed_mark(answers) and not fresh:
                migrate.upgrade(url)
                return url
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        migrate.upgrade(url)
        flow = FlowLibrary().resolve(FLOW)
        began = time.perf_counter()
        written = seed_postgres(url, answers, flow.version, flow.source_text)
        with admin.connect() as connection:
            connection.exec_driver_sql(f"COMMENT ON DATABASE \"{name}\" IS '{seed_mark(answers)}'")
        say(f"  seeded {name}: {written:,} answers in {time.perf_counter() - began:.0f} s")
    finally:
        admin.dispose()
    return url


def sqlite_database(folder: Path, answers: int, fresh: bool, say: Any) -> str:
    """The URL of the kept SQLite file for ``answers``, seeded first when missing or stale."""
    path = folder / f"report_{answers}.sqlite"
    url = f"sqlite:///{path}"
    if path.exists() and not fresh:
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as connection:
            version = connection.exec_driver_sql("PRAGMA user_version").scalar()
        engine.dispose()
        if version == SEED_VERSION:
            migrate.upgrade(url)
            return url
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{path.name}*"):
        stale.unlink()
    migrate.upgrade(url)
    flow = FlowLibrary().resolve(FLOW)
    began = time.perf_counter()
    written = seed_sqlite(url, answers, flow.version, flow.source_text)
    say(f"  seeded {path}: {written:,} answers in {time.perf_counter() - began:.0f} s")
    return url


# --------------------------------------------------------------------------- measuring


def peak_resident_mb() -> float:
    """This process's peak resident memory in MB (``VmHWM``: unlike ``ru_maxrss`` it is not
    carried over ``exec`` from the parent, so it counts only this program)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: this benchmark needs Linux")


def measure(url: str, repeat: int) -> dict[str, Any]:
    """Build the report as the CLI does, ``repeat`` times: wall time of each build split
    at the progress lines ``analyse`` reports (load, compute) and the JSON format."""
    from reports.build import analyse
    from reports.formats.json import render

    flow = FlowLibrary().resolve(FLOW)
    sessions = session_factory(make_engine(url))
    runs = []
    text = ""
    for _ in range(repeat):
        marks: list[tuple[str, float]] = []

        def progress(message: str, marks: list[tuple[str, float]] = marks) -> None:
            marks.append((message, time.perf_counter()))

        began = time.perf_counter()
        built = analyse(sessions, flow, threshold=5, progress=progress)
        computed = time.perf_counter()
        text = render(built.data)
        ended = time.perf_counter()
        read_at = next(t for m, t in marks if m.startswith("Reading"))
        worked_at = next(t for m, t in marks if m.startswith("Working out who"))
        runs.append(
            {
                "seconds": ended - began,
                "load": worked_at - read_at,
                "compute": computed - worked_at + (read_at - began),
                "format": ended - computed,
            }
        )
    report = json.loads(text)
    peak = peak_resident_mb()
    return {
        "runs": runs,
        "peak_mb": peak,
        # What bench/report_compare.py reads (from either side of a comparison).
        "seconds": [r["seconds"] for r in runs],
        "max_rss_mb": peak,
        "json_bytes": len(text.encode()),
        "enrolled": report["participants"]["enrolled"],
        "stories": len(report["stories"]),
    }


def measure_point(url: str, answers: int, repeat: int, quiet_wait: float) -> Point:
    """One point of a curve after the machine settles (up to ``quiet_wait`` seconds): each
    of the ``repeat`` builds in a fresh process of its own, so each peak is one build's
    (a process that built several reports would also count what its allocator kept)."""
    settle(quiet_wait)
    point = Point(size=answers, seconds=0.0)
    runs, peaks = [], []
    for _ in range(repeat):
        child = subprocess.run(
            [sys.executable, __file__, "--measure", url, "--repeat", "1"],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout)
        runs += result["runs"]
        peaks.append(result["peak_mb"])
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    point.seconds = statistics.median(r["seconds"] for r in runs)
    point.peak_mb = max(peaks)
    point.extra = {
        "load s": f"{middle['load']:.2f}",
        "compute s": f"{middle['compute']:.2f}",
        "format s": f"{middle['format']:.2f}",
        "runs s": " ".join(f"{r['seconds']:.2f}" for r in runs),
        "JSON KB": f"{result['json_bytes'] / 1024:,.0f}",
    }
    return point.finish()


def goal_lines(postgres: Curve | None, curves: list[Curve]) -> list[str]:
    """The verdicts: the 10M report on PostgreSQL, and each curve's linearity."""
    lines = []
    if postgres is not None:
        goal = [p for p in postgres.points if p.size == GOAL_ANSWERS]
        if goal:
            point = goal[0]
            met = point.seconds < GOAL_SECONDS and (point.peak_mb or 0) < GOAL_MB
            probe = Curve(postgres.name, postgres.unit, [point])
            lines.append(
                verdict(
                    f"10M-answer report on PostgreSQL under {GOAL_SECONDS:.0f} s and "
                    f"{GOAL_MB / 1024:.0f} GB ({point.seconds:.1f} s, {point.peak_mb:,.0f} MB)",
                    met,
                    [probe],
                )
            )
    lines += [linear_verdict(curve) for curve in curves if len(curve.points) > 1]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument(
        "--sqlite-answers",
        type=int,
        nargs="*",
        default=None,
        help="sizes also measured on SQLite (default: those of --answers up to 3M)",
    )
    parser.add_argument("--postgres", default=DEFAULT_SERVER, help="server URL (may CREATE)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--keep", type=Path, default=DEFAULT_KEEP, help="SQLite files' folder")
    parser.add_argument("--fresh", action="store_true", help="seed again even when kept")
    parser.add_argument("--seed-only", action="store_true", help="seed, do not measure")
    parser.add_argument("--repeat", type=int, default=3, help="builds per size (median)")
    parser.add_argument(
        "--settle", type=float, default=90, help="most seconds to wait for a quiet machine"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return

    def say(line: str) -> None:
        print(line, flush=True)

    sizes = sorted(args.answers)
    sqlite_sizes = (
        [n for n in sizes if n <= max(DEFAULT_SQLITE_SIZES)]
        if args.sqlite_answers is None
        else sorted(args.sqlite_answers)
    )
    plans: list[tuple[str, list[int], Any]] = []
    if not args.no_postgres:
        plans.append(
            ("PostgreSQL", sizes, lambda n: postgres_database(args.postgres, n, args.fresh, say))
        )
    if not args.no_sqlite and sqlite_sizes:
        plans.append(
            ("SQLite", sqlite_sizes, lambda n: sqlite_database(args.keep, n, args.fresh, say))
        )

    say(f"report_size: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPU(s)")
    curves: list[Curve] = []
    for label, plan_sizes, database in plans:
        urls = {n: database(n) for n in plan_sizes}
        if args.seed_only:
            continue
        curve = Curve(f"report on {label} (JSON, median of {args.repeat})", "answers")
        for n in plan_sizes:
            curve.add(measure_point(urls[n], n, args.repeat, args.settle))
        curves.append(curve)
        say(curve.table())
    if args.seed_only:
        return
    postgres = next((c for c in curves if "PostgreSQL" in c.name), None)
    for line in goal_lines(postgres, curves):
        say(line)


if __name__ == "__main__":
    main()
