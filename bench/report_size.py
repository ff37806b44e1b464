"""How long the full JSON report takes, and how much memory, on a million answers.

Generates a synthetic cohort on the shipped weekly-wellbeing flow: 50,000 participants in
20 groups (two of them small, so suppression is exercised) plus some in no group, five
weekly check-ins each (250,000 check-ins, about 80% answered), 995,000 measure answers and
5,000 stories: 1,000,000 answers. Rows are bulk-inserted with the database driver
(``executemany`` on SQLite, ``COPY`` on PostgreSQL), then a fresh process builds the JSON
report three times and reports the median time and its peak memory (the peak resident size
of that process, and the peak traced by ``tracemalloc`` in a separate fourth build).

    python bench/report_size.py                    # SQLite file in a temporary folder
    python bench/report_size.py --sqlite bench.db  # keep the SQLite file
    python bench/report_size.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

With ``--postgres``, URL is a server connection that may create databases: the benchmark
creates a scratch database ``gs_bench_<hex>`` on it and drops it afterwards.
Goal: under 5 s and under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage import migrate
from storage.database import make_engine, normalise_url, session_factory
from survey_flows.checks.folder import FlowLibrary

PARTICIPANTS = 50_000
NO_GROUP = 500  # participants in no group
GROUP_SIZES = [3, 8]  # two small groups; the rest share the others equally
GROUPS = 20
WEEKS = 5
ANSWERED_CHECKINS = 199_000
STORIES = 5_000
T0 = datetime(2025, 1, 6, 18, 0, tzinfo=UTC)
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


# --------------------------------------------------------------------------- the cohort


def pseudonym(i: int) -> str:
    """A unique pseudonym for participant number ``i``."""
    chars = []
    for _ in range(6):
        i, r = divmod(i, len(ALPHABET))
        chars.append(ALPHABET[r])
    return "P-" + "".join(chars)


def sqlite_time(at: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def cohort(version: str) -> dict[str, Any]:
    """Every row to insert, as lists of tuples per table (ids assigned here)."""
    rng = np.random.default_rng(2025)
    groups = [(g + 1, f"Place {g + 1:02d}") for g in range(GROUPS)]
    big = (PARTICIPANTS - NO_GROUP - sum(GROUP_SIZES)) // (GROUPS - len(GROUP_SIZES))
    sizes = GROUP_SIZES + [big] * (GROUPS - len(GROUP_SIZES))
    sizes[-1] += PARTICIPANTS - NO_GROUP - sum(sizes)
    group_of = np.concatenate(
        [np.full(size, g + 1) for g, size in enumerate(sizes)] + [np.zeros(NO_GROUP, int)]
    )
    participants = [
        (i + 1, pseudonym(i), int(group_of[i]) or None, T0) for i in range(PARTICIPANTS)
    ]
    enrolments = [(i + 1, i + 1, int(group_of[i]) or None, FLOW, T0) for i in range(PARTICIPANTS)]

    n_checkins = PARTICIPANTS * WEEKS
    person = np.repeat(np.arange(1, PARTICIPANTS + 1), WEEKS)
    week = np.tile(np.arange(WEEKS), PARTICIPANTS)
    offset_min = (person * 7) % 1440
    answered = np.zeros(n_checkins, dtype=bool)
    answered[rng.choice(n_checkins, ANSWERED_CHECKINS, replace=False)] = True
    starts = [
        T0 + timedelta(weeks=int(w), minutes=int(m)) for w, m in zip(week, offset_min, strict=True)
    ]
    checkins = [
        (
            c + 1,
            int(person[c]),
            int(person[c]),
            FLOW,
            version,
            "sms",
            "completed" if answered[c] else "expired",
            starts[c],
        )
        for c in range(n_checkins)
    ]

    base = rng.normal(5.5, 1.8, PARTICIPANTS + 1)
    shift = np.where(group_of == 3, 0.6, 0.0)  # a modest true improvement in one place
    answers = []
    answer_id = 0
    done = np.flatnonzero(answered)
    story_checkins = set(rng.choice(done, STORIES, replace=False).tolist())
    noise = rng.normal(0, 1.2, (done.size, len(STEPS)))
    for k, c in enumerate(done.tolist()):
        pid = int(person[c])
        at = starts[c] + timedelta(minutes=2)
        trend = shift[pid - 1] * week[c] / (WEEKS - 1)
        for s, (step, measure, low, high) in enumerate(STEPS):
            level = base[pid] + trend if measure != "anxiety" else 10 - base[pid] - trend
            if measure == "loneliness":
                level = (10 - base[pid] - trend) * 0.4
            score = float(np.clip(round(level + noise[k, s]), low, high))
            value = LONELY_VALUES[int(score)] if measure == "loneliness" else int(score)
            answer_id += 1
            when = at + timedelta(seconds=20 * s)
            answers.append((answer_id, c + 1, pid, step, json.dumps(value), score, measure, when))
        if c in story_checkins:
            answer_id += 1
            text = json.dumps(f"Week {int(week[c]) + 1}: the community garden opened")
            answers.append((answer_id, c + 1, pid, "story", text, None, None, at))
    return {
        "groups": groups,
        "participants": participants,
        "enrolments": enrolments,
        "checkins": checkins,
        "answers": answers,
    }


# --------------------------------------------------------------------------- bulk insert


def insert_sqlite(url: str, rows: dict[str, Any], version: str, source: str) -> None:
    """Bulk insert with sqlite3's executemany, in one transaction."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO flow_versions (version, flow_id, source_text, first_seen_at) "
            "VALUES (?, ?, ?, ?)",
            (version, FLOW, source, sqlite_time(T0)),
        )
        cur.executemany(
            "INSERT INTO groups (id, name, created_at) VALUES (?, ?, ?)",
            [(g, name, sqlite_time(T0)) for g, name in rows["groups"]],
        )
        cur.executemany(
            "INSERT INTO participants (id, pseudonym, group_id, opted_out, created_at) "
            "VALUES (?, ?, ?, 0, ?)",
            [(i, p, g, sqlite_time(t)) for i, p, g, t in rows["participants"]],
        )
        cur.executemany(
            "INSERT INTO enrolments (id, participant_id, group_id, flow_id, enrolled_at, active)"
            " VALUES (?, ?, ?, ?, ?, 1)",
            [(i, p, g, f, sqlite_time(t)) for i, p, g, f, t in rows["enrolments"]],
        )
        cur.executemany(
            "INSERT INTO checkins (id, participant_id, enrolment_id, flow_id, flow_version, "
            "channel, status, started_at, state, reminders_sent) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', 0)",
            [(*c[:7], sqlite_time(c[7])) for c in rows["checkins"]],
        )
        cur.executemany(
            "INSERT INTO answers (id, checkin_id, participant_id, flow_id, flow_version, "
            "step_id, value, score, measure, answered_at, channel) "
            f"VALUES (?, ?, ?, '{FLOW}', '{version}', ?, ?, ?, ?, ?, 'sms')",
            ((*a[:7], sqlite_time(a[7])) for a in rows["answers"]),
        )
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
        # Move the bulk insert out of the write-ahead log into the database file, as
        # SQLite's automatic checkpoints would in normal running.
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
        engine.dispose()


def _copy(cur: Any, table: str, columns: str, rows: Iterator[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_postgres(url: str, rows: dict[str, Any], version: str, source: str) -> None:
    """Bulk insert with COPY, in one transaction."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(
            "INSERT INTO flow_versions (version, flow_id, source_text, first_seen_at) "
            "VALUES (%s, %s, %s, %s)",
            (version, FLOW, source, T0),
        )
        _copy(cur, "groups", "id, name, created_at", ((g, n, T0) for g, n in rows["groups"]))
        _copy(
            cur,
            "participants",
            "id, pseudonym, group_id, opted_out, created_at",
            ((i, p, g, False, t) for i, p, g, t in rows["participants"]),
        )
        _copy(
            cur,
            "enrolments",
            "id, participant_id, group_id, flow_id, enrolled_at, active",
            ((*e, True) for e in rows["enrolments"]),
        )
        _copy(
            cur,
            "checkins",
            "id, participant_id, enrolment_id, flow_id, flow_version, channel, status, "
            "started_at, state, reminders_sent",
            ((*c, "{}", 0) for c in rows["checkins"]),
        )
        _copy(
            cur,
            "answers",
            "id, checkin_id, participant_id, step_id, value, score, measure, answered_at, "
            "flow_id, flow_version, channel",
            ((*a, FLOW, version, "sms") for a in rows["answers"]),
        )
        for table in ("groups", "participants", "enrolments", "checkins", "answers"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


# --------------------------------------------------------------------------- measuring


def peak_resident_mb() -> float:
    """This process's peak resident memory in MB.

    ``VmHWM`` from /proc where there is one: unlike ``ru_maxrss``, which Linux carries over
    ``exec`` from the parent that forked us (here, the process holding the generated rows),
    it counts only this program. Elsewhere ``ru_maxrss``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str) -> dict[str, Any]:
    """Build the JSON report 3 times (median time), then once under tracemalloc."""
    from reports.build import analyse
    from reports.formats.json import render

    flow = FlowLibrary().resolve(FLOW)
    sessions = session_factory(make_engine(url))
    times, cpu = [], []
    for _ in range(3):
        began, began_cpu = time.perf_counter(), time.process_time()
        text = render(analyse(sessions, flow, threshold=5).data)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    max_rss_mb = peak_resident_mb()
    tracemalloc.start()
    analyse(sessions, flow, threshold=5)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report = json.loads(text)
    return {
        "seconds": times,
        "median_seconds": statistics.median(times),
        "cpu_seconds": cpu,
        "median_cpu_seconds": statistics.median(cpu),
        "max_rss_mb": max_rss_mb,
        "traced_peak_mb": traced_peak / 2**20,
        "json_bytes": len(text.encode()),
        "enrolled": report["participants"]["enrolled"],
        "n_paired": {m: v["n_paired"] for m, v in report["measures"].items()},
        "hidden_groups": sorted(
            g for g, body in report["groups"].items() if body["participants"]["suppressed"]
        ),
        "stories": len(report["stories"]),
    }


def run_case(label: str, url: str, insert: Any) -> None:
    """Generate, insert, then measure in a fresh process."""
    flow = FlowLibrary().resolve(FLOW)
    began = time.perf_counter()
    rows = cohort(flow.version)
    generated = time.perf_counter() - began
    migrate.upgrade(url)
    began = time.perf_counter()
    insert(url, rows, flow.version, flow.source_text)
    inserted = time.perf_counter() - began
    n_answers = len(rows["answers"])
    del rows
    child = subprocess.run(
        [sys.executable, __file__, "--measure", url],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(child.stdout)
    print(f"{label}: {n_answers:,} answers from {PARTICIPANTS:,} participants")
    print(f"  generated in {generated:.1f} s, bulk-inserted in {inserted:.1f} s")
    runs = ", ".join(f"{s:.2f}" for s in result["seconds"])
    print(f"  JSON report: median {result['median_seconds']:.2f} s wall (runs: {runs} s)")
    print(
        f"  CPU time of the report process: median {result['median_cpu_seconds']:.2f} s "
        "(on SQLite this includes the database engine; on PostgreSQL the server's work is not "
        "in it)"
    )
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s)")
    print(
        f"  peak memory: {result['max_rss_mb']:.0f} MB resident (whole process, imports too), "
        f"{result['traced_peak_mb']:.0f} MB traced by tracemalloc during one build"
    )
    print(
        f"  report: {result['json_bytes'] / 1024:.0f} KB JSON, {result['enrolled']:,} enrolled, "
        f"paired per measure {result['n_paired']}, hidden groups {result['hidden_groups']}, "
        f"{result['stories']:,} stories"
    )
    ok = result["median_seconds"] < 5 and result["max_rss_mb"] < 1024
    print(f"  goal (< 5 s, < 1 GB): {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", help="SQLite file to create (default: a temporary file)")
    parser.add_argument("--postgres", help="PostgreSQL server URL; a scratch database is used")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.sqlite) if args.sqlite else Path(folder) / "bench.db"
        if path.exists():
            sys.exit(f"{path} exists; give a new file name")
        run_case("SQLite", f"sqlite:///{path}", insert_sqlite)

    if args.postgres:
        server = make_url(normalise_url(args.postgres))
        admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        name = f"gs_bench_{os.getpid()}_{secrets.token_hex(3)}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            run_case("PostgreSQL", url, insert_postgres)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
