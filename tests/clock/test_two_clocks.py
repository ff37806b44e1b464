"""Two clock processes ticking at once (a failover pair) never start a check-in twice."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.schedule.clock import tick
from storage.database import transaction
from storage.models import Checkin, OutboxItem
from survey_flows.checks.folder import FlowLibrary
from tests.clock.test_clock import FRIDAY_18, SETTINGS, TUESDAY, add_people

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 600


def test_two_clock_processes_start_each_check_in_once(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    add_people(sessions, PEOPLE)
    tick(sessions, FlowLibrary(), SETTINGS, TUESDAY)  # schedules the first due times
    moment = (FRIDAY_18 + timedelta(seconds=5)).isoformat()
    clocks = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.clock.tick_process", database_url, moment, "50"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    started = [int(clock.communicate(timeout=120)[0].strip()) for clock in clocks]
    assert all(clock.returncode == 0 for clock in clocks)
    assert sum(started) == PEOPLE
    with transaction(sessions) as session:
        total = session.scalar(select(func.count()).select_from(Checkin))
        distinct = session.scalar(select(func.count(func.distinct(Checkin.participant_id))))
        queued = session.scalar(select(func.count()).select_from(OutboxItem))
    assert total == distinct == PEOPLE
    assert queued == 2 * PEOPLE
