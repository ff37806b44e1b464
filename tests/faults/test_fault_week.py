"""The fault week, CI-sized: simulated days of check-ins (one on PostgreSQL, two on SQLite)
with the web, worker and clock processes killed, the providers failing, webhooks
redelivered and reordered, and, on PostgreSQL, the database stopped for a few seconds
mid-run.

See tests/faults/week.py for what is simulated and how it is judged, bench/fault_week.py
for the full size (1,000 residents, seven days, a 30 s outage) and docs/proof.md for what
the runs showed. Each run prints its table (pytest -s) and writes it to fault-week.txt in
the test's temporary folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.faults.postgres import PrivatePostgres, find_binaries
from tests.faults.week import Verdict, WeekConfig, run_week

POSTGRES = WeekConfig(
    residents=24,
    days=1,
    seed=11,
    reply_delay=(0.02, 0.5),
    fault_stretch=(0.5, 2.0),
    chaos_opening=(
        "kill web",
        "telegram timeout",
        "twilio drop",
        "kill web worker",
        "telegram 500",
        "twilio 429",
    ),
    # Only the opening strikes (each provider fault hits two requests): random stretches
    # pile retries onto a few rows whose backoff then runs into minutes (bench/fault_week
    # has those). An outbox worker killed while it holds rows costs their 60 s lease, and
    # so does the outage: the workers are killed mid-send just before it, so the two
    # waits overlap.
    chaos_random=False,
    outage_seconds=3.0,
    outage_day=0,
    outage_kills_workers=True,
    phase_timeout=240.0,
)
SQLITE = WeekConfig(
    residents=16,
    days=2,
    seed=12,
    web_workers=1,
    chaos_every=4.0,
    reply_delay=(0.02, 0.5),
    fault_stretch=(0.5, 2.0),
    chaos_opening=(
        "kill web",
        "twilio 500",
        "telegram drop",
        "kill web worker",
        "telegram 429",
        "twilio drop",
    ),
    # No hangs (each holds a worker for the client's 10 s timeout) and no outbox worker
    # kills (a 60 s lease each): the PostgreSQL run has those.
    chaos_random=False,
    phase_timeout=240.0,
)


def _say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def _report(verdict: Verdict, folder: Path) -> str:
    table = verdict.table()
    (folder / "fault-week.txt").write_text(table + "\n")
    print(table)
    return table


@pytest.mark.slow
@pytest.mark.postgres
def test_fault_week_on_postgresql_loses_nothing(tmp_path: Path) -> None:
    if os.environ.get("GROUNDSWELL_TEST_POSTGRES") == "":
        pytest.skip("PostgreSQL tests disabled: GROUNDSWELL_TEST_POSTGRES is empty")
    if find_binaries() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with PrivatePostgres() as postgres:
        url = postgres.create_database("fault_week")
        verdict = run_week(POSTGRES, url, tmp_path, postgres=postgres, say=_say)
    table = _report(verdict, tmp_path)

    assert verdict.problems == [], table
    assert verdict.struck["kill outbox workers mid-send twilio"] == 1, table
    assert verdict.killed["outbox worker"] == 2, table
    assert verdict.killed["web (serve, all processes)"] >= 1, table
    assert sum(verdict.fired.values()) > 0, table
    assert verdict.redeliveries > 0, table
    assert verdict.outage_answers, table  # webhooks did arrive while it was down
    assert not any(status.startswith("2") for status in verdict.outage_answers), table


@pytest.mark.slow
def test_fault_week_on_sqlite_loses_nothing(tmp_path: Path) -> None:
    verdict = run_week(SQLITE, f"sqlite:///{tmp_path}/fault_week.db", tmp_path, say=_say)
    table = _report(verdict, tmp_path)

    assert verdict.problems == [], table
    assert verdict.killed["web (serve, all processes)"] >= 1, table
    assert sum(verdict.fired.values()) > 0, table
    assert verdict.redeliveries > 0, table
