"""Clock ticks at injected times, in a process of its own.

    python -m tests.faults.clock_driver 2025-03-05T10:00:30+00:00   # one tick, then exit
    python -m tests.faults.clock_driver                              # one tick per stdin line

`groundswell clock` ticks at the real time; the fault suite drives a simulated week, so it
runs `bot.schedule.clock.tick` with the `now` it is given, configured from the environment
exactly as `groundswell clock` is (DATABASE_URL, GROUNDSWELL_FLOWS, GROUNDSWELL_* settings).

Importing the clock takes seconds (the coordinators' summaries load the statistics and
chart libraries), so the suite keeps a driver running and feeds it times on stdin, like a
long-lived `groundswell clock` process. For each time it prints `ticking` when the tick
begins and then the tick's report as one line of JSON, or `failed <exception type>` when
the tick raised (the database was away): the suite sends the same time again. The suite
kills drivers with SIGKILL after `ticking` (mid-tick) and starts new ones: a tick must be
safe to repeat.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.schedule.clock import tick
from bot.settings import Settings
from storage.database import make_engine, session_factory
from survey_flows.checks.folder import FlowLibrary


def tick_at(
    text: str, sessions: sessionmaker[Session], library: FlowLibrary, settings: Settings
) -> str:
    """Tick at the ISO time `text`; the line to print about it."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        return "failed ValueError: the time needs an offset, e.g. +00:00"
    print("ticking", flush=True)
    try:
        report = tick(sessions, library, settings, moment, process=f"clock-driver-{os.getpid()}")
    except Exception as error:  # the database restarting: the suite sends the time again
        return f"failed {type(error).__name__}"
    return json.dumps(asdict(report))


def main(argv: list[str]) -> int:
    """One tick at `argv[0]`, or one per line of stdin when there is no argument."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    sessions, library = session_factory(engine), FlowLibrary()
    try:
        if argv:
            line = tick_at(argv[0], sessions, library, settings)
            print(line, flush=True)
            return 1 if line.startswith("failed") else 0
        print("ready", flush=True)
        for text in sys.stdin:
            if text.strip():
                print(tick_at(text, sessions, library, settings), flush=True)
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
