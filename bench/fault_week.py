"""The fault week at full size: 1,000 residents, seven simulated days, everything failing.

Runs `tests.faults.week.run_week` (see its docstring for what is simulated and injected)
against a PRIVATE PostgreSQL server (initdb into a temporary folder, a free port; never the
shared test server, because this one is stopped for `--outage` seconds mid-run), and with
`--sqlite` also against a SQLite file (no outage there). Prints, per database, the table of
what was injected and what was lost or duplicated, and exits 1 if a goal was missed.

Example (about 25 minutes on a busy 2-core machine):
    python bench/fault_week.py --residents 1000 --days 7 --outage 30
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.postgres import PrivatePostgres  # noqa: E402
from tests.faults.week import Verdict, WeekConfig, run_week  # noqa: E402


def say(line: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {line}", flush=True)


def config_from(args: argparse.Namespace, outage: float) -> WeekConfig:
    return WeekConfig(
        residents=args.residents,
        days=args.days,
        seed=args.seed,
        web_workers=args.web_workers,
        outbox_workers=args.outbox_workers,
        postman_threads=args.postman_threads,
        reply_delay=(0.2, args.max_delay),
        chaos_every=args.chaos_every,
        outage_seconds=outage,
        outage_day=min(2, args.days - 1),
        phase_timeout=args.phase_timeout,
    )


def logs_folder(args: argparse.Namespace, label: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"fault-week-{label}-"))
    say(f"process logs in {folder} (kept if a goal is missed, or with --keep)")
    return folder


def finish(folder: Path, verdict: Verdict, keep: bool) -> Verdict:
    if not verdict.problems and not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return verdict


def on_postgres(args: argparse.Namespace) -> Verdict:
    folder = logs_folder(args, "postgres")
    with PrivatePostgres() as postgres:
        url = postgres.create_database("fault_week")
        say(f"private PostgreSQL on port {postgres.port}")
        verdict = run_week(config_from(args, args.outage), url, folder, postgres=postgres, say=say)
    return finish(folder, verdict, args.keep)


def on_sqlite(args: argparse.Namespace) -> Verdict:
    folder = logs_folder(args, "sqlite")
    config = config_from(args, 0.0)
    config.web_workers = 1  # as `serve` does on SQLite: one writer at a time
    verdict = run_week(config, f"sqlite:///{folder}/fault_week.db", folder, say=say)
    return finish(folder, verdict, args.keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds PostgreSQL is down")
    parser.add_argument(
        "--chaos-every", type=float, default=8.0, help="mean seconds between strikes"
    )
    parser.add_argument("--max-delay", type=float, default=3.0, help="longest reply delay (s)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--outbox-workers", type=int, default=2)
    parser.add_argument("--postman-threads", type=int, default=16)
    parser.add_argument("--phase-timeout", type=float, default=1800.0)
    parser.add_argument("--sqlite", action="store_true", help="also run on SQLite")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", help="also write the verdicts to this file")
    parser.add_argument("--keep", action="store_true", help="keep the process logs")
    args = parser.parse_args()
    verdicts: list[tuple[str, Verdict]] = []
    if not args.no_postgres:
        print(f"PostgreSQL: {args.residents} residents, {args.days} days", flush=True)
        verdicts.append(("PostgreSQL", on_postgres(args)))
        print(verdicts[-1][1].table(), flush=True)
    if args.sqlite or args.no_postgres:
        print(f"SQLite: {args.residents} residents, {args.days} days", flush=True)
        verdicts.append(("SQLite", on_sqlite(args)))
        print(verdicts[-1][1].table(), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "database": name,
                        "seconds": v.seconds,
                        "injected": v.injected,
                        "outcome": v.outcome,
                        "channels": {k: asdict(c) for k, c in v.channels.items()},
                        "facts": v.facts,
                        "problems": v.problems,
                        "known": v.known,
                    }
                    for name, v in verdicts
                ],
                indent=2,
                default=str,
            )
            + "\n"
        )
    return 1 if any(v.problems for _, v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
