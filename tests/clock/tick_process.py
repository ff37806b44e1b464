"""Run one clock tick in a process of its own: `python -m tests.clock.tick_process URL ISO`."""

from __future__ import annotations

import sys
from datetime import datetime

from bot.schedule.clock import tick
from bot.settings import Settings
from storage.database import make_engine, session_factory
from survey_flows.checks.folder import FlowLibrary

if __name__ == "__main__":
    url, moment, batch = sys.argv[1], datetime.fromisoformat(sys.argv[2]), int(sys.argv[3])
    report = tick(session_factory(make_engine(url)), FlowLibrary(), Settings(), moment, batch=batch)
    print(report.started)
