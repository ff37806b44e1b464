"""Sustained inbound load: residents answering by SMS at a steady rate, for minutes on end.

What it does:

1. sets up enough residents, each with a phone number and an open weekly-wellbeing
   check-in, that every one answers at most six questions over the whole run (so every
   message is a real answer, to the end);
2. starts the real web process, `groundswell serve` (gunicorn), on loopback, against a
   private PostgreSQL server (initdb in a temporary folder; `--postgres ADMIN_URL` uses an
   existing server instead, `--sqlite` a SQLite file);
3. sends correctly signed Twilio webhooks at `--rate` messages per second for
   `--duration` seconds from `--client-processes` processes over `--connections`
   keep-alive connections; request i is due at a fixed moment and its latency counts from
   then, so a server that falls behind shows it (no coordinated omission);
4. every 5 s samples the resident memory (VmRSS) of the gunicorn master and workers;
5. prints, per minute: messages, errors, latency p50/p90/p99/max, the server's memory and
   the load average; then checks that every answer was stored.

Flat memory from minute to minute means no leak; rising latency means the server cannot
keep up with the rate (or the machine is busy: the load average says which).
Example (the README figures):
    python bench/soak.py --duration 600 --rate 300

300 messages a second is about the rate `bench/webhooks.py` reached flat out on PostgreSQL
on the development machine (318/s): the soak holds it for ten minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing as mp
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.twilio_load import (  # noqa: E402
    PATH,
    percentile,
    phone,
    signed_request,
    start_server,
    stop_server,
)
from bot.checkins.starting import StartRequest, start_checkins  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import make_engine, session_factory, transaction  # noqa: E402
from storage.models import Answer, ChannelAddress, Enrolment, Group, Participant  # noqa: E402
from survey_flows.checks.folder import FlowLibrary  # noqa: E402
from tests.faults.postgres import PrivatePostgres  # noqa: E402
from tests.faults.processes import children, rss_kib  # noqa: E402
from tests.ports import free_port  # noqa: E402

#: Answers to weekly-wellbeing in order (no follow-up question: 7 > 4 and 3 < 8).
ANSWERS = ("7", "6", "8", "3", "2", "A quiet week on our street")
SAMPLE_SECONDS = 5.0


# --- set-up ----------------------------------------------------------------------------


def populate(url: str, residents: int) -> None:
    """Residents with a phone, an enrolment and an open weekly-wellbeing check-in."""
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    flow = FlowLibrary().resolve("weekly-wellbeing")
    started = datetime.now(UTC) - timedelta(minutes=5)
    batch = 5000
    with transaction(sessions) as session:
        group = session.scalars(insert(Group).returning(Group.id), [{"name": "Soak St"}]).one()
    for first in range(0, residents, batch):
        numbers = range(first, min(residents, first + batch))
        with transaction(sessions) as session:
            ids = session.scalars(
                insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
                [{"name": f"R{n}", "pseudonym": f"S-{n:08d}", "group_id": group} for n in numbers],
            ).all()
            session.execute(
                insert(ChannelAddress),
                [
                    {"participant_id": i, "channel": "sms", "address": phone(n)}
                    for n, i in zip(numbers, ids, strict=True)
                ],
            )
            session.execute(
                insert(Enrolment),
                [{"participant_id": i, "group_id": group, "flow_id": flow.id} for i in ids],
            )
            start_checkins(
                session,
                [StartRequest(i, flow) for i in ids],
                started,
                Settings(database_url=url),
                hold_for_quiet_hours=False,
            )
    engine.dispose()


# --- the client ------------------------------------------------------------------------


def client_process(
    port: int,
    lanes: list[tuple[int, list[int]]],
    total_lanes: int,
    rate: float,
    count: int,
    go: Any,
    start: Any,
    ready: Any,
    results: Any,
) -> None:
    """A thread per lane; lane k sends its i-th request at start + (i * lanes + k) / rate.

    A lane is a fixed set of residents answering round by round, one message at a time as
    from one phone. Sends back (due offset, latency, status) for every request.
    """
    work = []
    for index, residents in lanes:
        requests = []
        i = 0
        while i * total_lanes + index < count:
            resident = residents[i % len(residents)]
            answer = ANSWERS[(i // len(residents)) % len(ANSWERS)]
            requests.append(signed_request(resident, answer))
            i += 1
        work.append((index, requests))
    records: list[tuple[float, float, str]] = []
    lock = threading.Lock()

    def lane(index: int, requests: list[tuple[bytes, dict[str, str]]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        go.wait()
        for i, (body, headers) in enumerate(requests):
            offset = (i * total_lanes + index) / rate
            due = start.value + offset
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                connection.request("POST", PATH, body, headers)
                response = connection.getresponse()
                response.read()
                status = str(response.status)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = type(error).__name__
            mine.append((offset, time.monotonic() - due, status))
        connection.close()
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=lane, args=job) for job in work]
    for thread in threads:
        thread.start()
    ready.put(True)
    for thread in threads:
        thread.join()
    results.put(records)


# --- memory ------------------------------------------------------------------------------


@dataclass
class Memory:
    """RSS samples of the gunicorn master and workers: (seconds since start, {pid: KiB})."""

    samples: list[tuple[float, dict[int, int]]] = field(default_factory=list)

    def watch(self, master: int, began: float, stop: threading.Event) -> None:
        while not stop.wait(SAMPLE_SECONDS):
            pids = [master, *children(master)]
            sizes = {pid: size for pid in pids if (size := rss_kib(pid)) is not None}
            self.samples.append((time.monotonic() - began, sizes))


# --- report --------------------------------------------------------------------------------


def per_minute(
    records: list[tuple[float, float, str]], memory: Memory, master: int, loads: dict[int, float]
) -> list[dict[str, Any]]:
    minutes: dict[int, list[tuple[float, str]]] = {}
    for offset, latency, status in records:
        minutes.setdefault(int(offset // 60), []).append((latency, status))
    rows = []
    for minute in sorted(minutes):
        entries = minutes[minute]
        latencies = [latency for latency, _ in entries]
        errors = Counter(status for _, status in entries if status != "200")
        sizes = [s for t, s in memory.samples if int(t // 60) == minute]
        last = sizes[-1] if sizes else {}
        workers = [kib for pid, kib in last.items() if pid != master]
        rows.append(
            {
                "minute": minute + 1,
                "messages": len(entries),
                "errors": dict(errors),
                "p50_ms": percentile(latencies, 0.50),
                "p90_ms": percentile(latencies, 0.90),
                "p99_ms": percentile(latencies, 0.99),
                "max_ms": max(latencies) * 1000,
                "rss_master_mib": last.get(master, 0) / 1024,
                "rss_workers_mib": [round(kib / 1024, 1) for kib in sorted(workers)],
                "load": loads.get(minute, 0.0),
            }
        )
    return rows


def show(rows: list[dict[str, Any]]) -> None:
    print(
        f"  {'min':>3} {'msgs':>6} {'err':>4} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'master MiB':>10}  workers MiB           load"
    )
    for row in rows:
        print(
            f"  {row['minute']:>3} {row['messages']:>6} {sum(row['errors'].values()):>4} "
            f"{row['p50_ms']:>7.1f} {row['p90_ms']:>7.1f} {row['p99_ms']:>7.1f} "
            f"{row['max_ms']:>7.0f} {row['rss_master_mib']:>10.1f}  "
            f"{' '.join(f'{m:.1f}' for m in row['rss_workers_mib']):<20}  {row['load']:.1f}"
        )


# --- the run ---------------------------------------------------------------------------------


def soak(url: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    count = int(args.rate * args.duration)
    # Every lane's residents answer at most len(ANSWERS) questions each over the run.
    per_lane = math.ceil(count / args.connections)
    residents = args.connections * math.ceil(per_lane / len(ANSWERS))
    print(f"  setting up {residents:,} residents with an open check-in", flush=True)
    populate(url, residents)
    port = free_port()
    server = start_server(url, port, args.workers, args.threads, folder / "serve.log")
    try:
        return drive(url, port, server, args, count, residents)
    finally:
        stop_server(server)


def drive(
    url: str,
    port: int,
    server: subprocess.Popen,
    args: argparse.Namespace,
    count: int,
    residents: int,
) -> dict[str, Any]:
    context = mp.get_context("fork")
    lanes = [(k, list(range(k, residents, args.connections))) for k in range(args.connections)]
    go, start = context.Event(), context.Value("d", 0.0)
    ready, results = context.Queue(), context.Queue()
    clients = [
        context.Process(
            target=client_process,
            args=(
                port,
                lanes[p :: args.client_processes],
                args.connections,
                args.rate,
                count,
                go,
                start,
                ready,
                results,
            ),
        )
        for p in range(args.client_processes)
    ]
    for client in clients:
        client.start()
    for _ in clients:
        ready.get(timeout=600)
    print(
        f"  {count:,} messages at {args.rate:g}/s for {args.duration:g} s; gunicorn "
        f"{args.workers} workers x {args.threads} threads; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    memory, stop = Memory(), threading.Event()
    loads: dict[int, float] = {}
    began = time.monotonic() + 0.5
    start.value = began
    watcher = threading.Thread(target=memory.watch, args=(server.pid, began, stop), daemon=True)
    watcher.start()
    go.set()
    records: list[tuple[float, float, str]] = []
    pending = len(clients)
    while pending:
        try:
            records.extend(results.get(timeout=10))
            pending -= 1
        except Exception:  # queue.Empty: note the load average, keep waiting
            pass
        loads[int((time.monotonic() - began) // 60)] = os.getloadavg()[0]
    stop.set()
    for client in clients:
        client.join()
    rows = per_minute(records, memory, server.pid, loads)
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(Answer.__table__))
    engine.dispose()
    first = rows[0]["rss_workers_mib"] if rows else []
    last = rows[-1]["rss_workers_mib"] if rows else []
    errors = Counter(status for _, _, status in records if status != "200")
    return {
        "messages": len(records),
        "rate": args.rate,
        "duration": args.duration,
        "errors": dict(errors),
        "answers_stored": stored,
        "p50_ms": percentile([lat for _, lat, _ in records], 0.50),
        "p99_ms": percentile([lat for _, lat, _ in records], 0.99),
        "max_ms": max((lat for _, lat, _ in records), default=0) * 1000,
        "rss_workers_first_mib": first,
        "rss_workers_last_mib": last,
        "minutes": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=300.0, help="messages per second")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--postgres", help="admin URL of an existing PostgreSQL server")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    print(f"logs in {folder}", flush=True)
    if args.sqlite:
        args.workers = 1
        label, result = "SQLite", soak(f"sqlite:///{folder}/soak.db", args, folder)
    elif args.postgres:
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        name = f"gs_soak_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            label, result = "PostgreSQL", soak(url, args, folder)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        with PrivatePostgres() as postgres:
            url = postgres.create_database("soak")
            label, result = "PostgreSQL (private)", soak(url, args, folder)
    print(f"{label}:")
    show(result["minutes"])
    print(
        f"  {result['messages']:,} messages, {sum(result['errors'].values())} errors "
        f"{result['errors'] or ''}; latency p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.0f} ms; "
        f"{result['answers_stored']:,} answers stored\n"
        f"  worker RSS first minute {result['rss_workers_first_mib']} MiB, "
        f"last minute {result['rss_workers_last_mib']} MiB"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"database": label, **result}, indent=2) + "\n")
    ok = not result["errors"] and result["answers_stored"] == result["messages"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
