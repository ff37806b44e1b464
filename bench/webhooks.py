"""Inbound SMS webhooks end to end: many residents answering their weekly check-in at once.

What it does, per database (SQLite file by default; `--postgres ADMIN_URL` adds a fresh
PostgreSQL database):

1. sets up `--participants` residents, each with a phone number, a weekly enrolment and an
   active weekly-wellbeing check-in waiting for its first answer;
2. starts the real web process, `groundswell serve` (gunicorn, `--workers` processes,
   sync workers or gthread with `--threads`), on loopback;
3. has every resident answer `--rounds` questions: correctly signed Twilio webhook POSTs
   (twilio's own RequestValidator) from `--client-processes` processes of
   `--connections` keep-alive connections in all, signed before the clock starts so the
   client stays light; one resident's answers go one after another, as from one phone;
4. checks every answer and reply is stored, then measures, in the same run and on the same
   database, the floor: a bare SQLAlchemy Core transaction writing the same rows (inbound
   message, answer, outbound message, outbox row), from as many processes as the server
   has threads (one on SQLite, which has a single writer).

Prints messages/s, latency p50/p90/p99/max, the floor's rate and latency, and the ratio of
the floor's rate to the end-to-end rate (how many times dearer a message is end to end).
Flat out (the default) measures the most the server takes; `--rate R` sends R messages/s
and measures latency at that steady load. On Linux it also prints the web processes' CPU
time per message.

`--workers 1 2 4` runs PostgreSQL once per number of gunicorn processes, each on a fresh
database, and prints the runs as a curve (`bench.curve`: worker-seconds per 1,000 messages,
flat when the rate grows with the workers; the load average of each run; no verdict when
the machine was busy). SQLite runs once, as `serve` would (one process; `--sqlite-workers`
runs it at each number too).

`--breakdown` says where one message's time goes: the app in this process, one message at
a time, each phase timed (signature check, form parsing, the locked lookup, recording the
message, the engine, saving state/answer/reply/outbox, BEGIN and COMMIT), the SQL
statements counted (SQLite), against the floor measured the same way.

`--in-process` measures the app alone instead: the same signed webhooks through Flask's
test client in this process, one after another, and prints the CPU time per message
(`time.process_time`; the test client's own share included), with no HTTP server.
Example:
    python bench/webhooks.py --participants 2000 --workers 1 2 4 \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.curve import Curve, Point, linear_verdict, load_average, settle, verdict  # noqa: E402
from bench.twilio_load import (  # noqa: E402
    PATH,
    PUBLIC_URL,
    TOKEN,
    percentile,
    phone,
    signed_request,
    start_server,
    stop_server,
)
from bot.checkins.starting import StartRequest, start_checkins  # noqa: E402
from bot.commands.serve import default_workers  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import make_engine, session_factory, transaction  # noqa: E402
from storage.models import (  # noqa: E402
    Answer,
    ChannelAddress,
    Checkin,
    Enrolment,
    Group,
    Message,
    OutboxItem,
    Participant,
)
from survey_flows.checks.folder import FlowLibrary  # noqa: E402
from tests.ports import free_port  # noqa: E402

#: Answers to the first questions of weekly-wellbeing (scales 0-10; no follow-up asked).
ANSWERS = ("7", "6", "8", "3", "5")
WARM_UP = 20  # requests per gunicorn worker before the clock starts
NOW = datetime.now(UTC)


# --- set-up ----------------------------------------------------------------------------


def populate(url: str, participants: int) -> None:
    """Residents with a phone, a weekly enrolment and an active check-in (bulk inserts)."""
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    flow = FlowLibrary().resolve("weekly-wellbeing")
    with transaction(sessions) as session:
        group = session.scalars(insert(Group).returning(Group.id), [{"name": "Bench St"}]).one()
        ids = session.scalars(
            insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
            [
                {"name": f"Resident {n}", "pseudonym": f"B-{n:07d}", "group_id": group}
                for n in range(participants)
            ],
        ).all()
        session.execute(
            insert(ChannelAddress),
            [
                {"participant_id": i, "channel": "sms", "address": phone(n)}
                for n, i in enumerate(ids)
            ],
        )
        session.execute(
            insert(Enrolment),
            [
                {"participant_id": i, "group_id": group, "flow_id": flow.id, "active": True}
                for i in ids
            ],
        )
        start_checkins(
            session,
            [StartRequest(i, flow) for i in ids],
            NOW - timedelta(minutes=5),
            Settings(database_url=url),
            hold_for_quiet_hours=False,
        )
    engine.dispose()


# --- the web process -------------------------------------------------------------------


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by process `pid` and its descendants, from
    /proc (Linux); None elsewhere. Exited descendants count too (cutime, cstime)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            line = entry.read_text()
        except OSError:
            continue
        fields = line[line.rindex(")") + 2 :].split()
        # After the name: state, ppid, ..., utime (14th field), stime, cutime, cstime.
        stats[int(entry.parent.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    if pid not in stats:
        return None
    total, family = 0.0, {pid}
    for _ in range(3):  # gunicorn: master, workers (no deeper)
        family |= {child for child, (parent, _) in stats.items() if parent in family}
    for member in family:
        total += stats[member][1]
    return total


# --- the client ------------------------------------------------------------------------


def client_process(
    port: int,
    lanes: list[tuple[int, list[int]]],
    rounds: int,
    pace: tuple[int, float] | None,
    ready: Any,
    go: Any,
    start: Any,
    results: Any,
) -> None:
    """One client process: a thread per lane, each lane a list of residents answering
    round by round. Requests are signed before `go`; latencies go back through `results`.

    With `pace` (lanes in all, messages per second), request i of lane k is due at
    start + (i * lanes + k) / rate, and its latency counts from that moment, so time spent
    queueing behind a slow server is not hidden (no "coordinated omission").
    """
    work = [
        (
            index,
            [
                signed_request(
                    n, ANSWERS[r % len(ANSWERS)], f"SM{r:02d}{n:08d}{secrets.token_hex(10)}"
                )
                for r in range(rounds)
                for n in lane
            ],
        )
        for index, lane in lanes
    ]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def lane(index: int, requests: list[tuple[bytes, dict[str, str]]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        go.wait()
        for i, (body, headers) in enumerate(requests):
            if pace is None:
                due = time.monotonic()
            else:
                due = start.value + (i * pace[0] + index) / pace[1]
                time.sleep(max(0.0, due - time.monotonic()))
            try:
                connection.request("POST", PATH, body, headers)
                response = connection.getresponse()
                response.read()
                status: int | str = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                status = type(error).__name__
            mine.append(time.monotonic() - due)
            if status != 200:
                with lock:
                    errors.append(str(status))
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=lane, args=job) for job in work]
    for thread in threads:
        thread.start()
    ready.put(True)
    for thread in threads:
        thread.join()
    results.put((latencies, errors))


def load(
    port: int,
    participants: int,
    rounds: int,
    connections: int,
    processes: int,
    rate: float | None,
) -> dict:
    """Every resident answers `rounds` questions, as fast as the server allows or at `rate`
    messages per second; returns the time taken, latencies and errors."""
    context = mp.get_context("fork")
    lanes = [(i, list(range(i, participants, connections))) for i in range(connections)]
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    start = context.Value("d", 0.0)
    pace = (connections, rate) if rate else None
    workers = [
        context.Process(
            target=client_process,
            args=(port, lanes[p::processes], rounds, pace, ready, go, start, results),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    start.value = time.monotonic() + 0.2
    began = time.perf_counter()
    go.set()
    latencies: list[float] = []
    errors: list[str] = []
    for _ in workers:
        got, failed = results.get(timeout=3600)
        latencies.extend(got)
        errors.extend(failed)
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return {"seconds": seconds, "latencies": latencies, "errors": errors}


def warm_up(port: int, participants: int, requests: int) -> None:
    """Residents past the measured ones text once, so every worker has its pool and caches."""
    threads = []
    for k in range(requests):
        body, headers = signed_request(participants + k, "hello", f"SMWARM{k:08d}")

        def post(body: bytes = body, headers: dict[str, str] = headers) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("POST", PATH, body, headers)
            connection.getresponse().read()
            connection.close()

        threads.append(threading.Thread(target=post))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- in process ------------------------------------------------------------------------


def in_process(url: str, label: str, args: argparse.Namespace) -> None:
    """CPU time per message of the app alone: Flask's test client, no HTTP, no threads."""
    from bot.channels.twilio import TwilioSettings
    from bot.web import create_app

    print(f"{label}: setting up {args.participants:,} residents with an open weekly check-in")
    populate(url, args.participants + WARM_UP)
    app = create_app(
        Settings(database_url=url, public_url=PUBLIC_URL),
        twilio=TwilioSettings(auth_token=TOKEN),
    )
    client = app.test_client()
    for k in range(WARM_UP):
        body, headers = signed_request(args.participants + k, "hello", f"SMWARM{k:08d}")
        client.post(PATH, data=body, headers=headers)
    requests = [
        signed_request(n, ANSWERS[r % len(ANSWERS)], f"SM{r:02d}{n:08d}")
        for r in range(args.rounds)
        for n in range(args.participants)
    ]
    began_cpu, began = time.process_time(), time.perf_counter()
    for body, headers in requests:
        response = client.post(PATH, data=body, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"webhook answered {response.status_code}")
    cpu, seconds = time.process_time() - began_cpu, time.perf_counter() - began
    app.extensions["groundswell"].sessions.kw["bind"].dispose()
    verify(url, args.participants, args.rounds)
    print(
        f"  {label} in process: {cpu / len(requests) * 1000:.2f} ms CPU per message, "
        f"{seconds / len(requests) * 1000:.2f} ms elapsed ({len(requests):,} messages, "
        f"one at a time); load average {os.getloadavg()[0]:.1f}"
    )


# --- where the time goes ----------------------------------------------------------------

#: The phases of one inbound SMS, as (label, module, attribute) of the function timed.
PHASES = (
    ("request: verify (form parse + signature)", "bot.web.webhooks", "_verify_twilio"),
    ("  of which the signature", "bot.web.webhooks", "_signed"),
    ("request: parse the message", "bot.web.webhooks", "parse_inbound"),
    ("unit of work (BEGIN .. COMMIT)", "bot.checkins.inbound", "unit_of_work"),
    ("  receive (inside the transaction)", "bot.checkins.inbound", "receive"),
    ("    sender + open check-in (locked)", "bot.checkins.receiving", "sender_and_open_checkin"),
    ("    record the inbound message", "bot.checkins.receiving", "record_inbound_id"),
    ("    flow version", "bot.checkins.receiving.flow_versions", "load"),
    ("    engine (pure)", "bot.checkins.receiving.engine", "advance"),
    ("    save state, answer, reply, outbox", "bot.checkins.receiving", "apply"),
)


class Timers:
    """Wall time per phase (`PHASES`), by wrapping each function where it is called from."""

    def __init__(self) -> None:
        import importlib

        self.spent = {label: 0.0 for label, _, _ in PHASES}
        self._undo: list[tuple[Any, str, Any]] = []
        for label, module_name, name in PHASES:
            module: Any
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:  # a module's attribute: bot.checkins.receiving.engine
                head, _, attr = module_name.rpartition(".")
                module = getattr(importlib.import_module(head), attr)
            original = getattr(module, name)
            setattr(module, name, self._timed(label, original))
            self._undo.append((module, name, original))

    def _timed(self, label: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[label] += time.perf_counter() - began

        return timed

    def close(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)


def breakdown(url: str, label: str, args: argparse.Namespace) -> None:
    """One message at a time through the app in this process (Flask's test client), each
    phase timed, the SQL statements counted (SQLite), and the floor measured the same way
    in the same process: what the inbound path costs over the bare transaction, and where."""
    from sqlalchemy import event

    from bot.channels.twilio import TwilioSettings
    from bot.web import create_app

    print(f"{label}: breakdown of one inbound SMS, {args.participants:,} messages one at a time")
    populate(url, args.participants + WARM_UP)
    app = create_app(
        Settings(database_url=url, public_url=PUBLIC_URL),
        twilio=TwilioSettings(auth_token=TOKEN),
    )
    engine = app.extensions["groundswell"].sessions.kw["bind"]
    statements = [0]
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _count(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(
                lambda _sql: statements.__setitem__(0, statements[0] + 1)
            )

        engine.dispose()  # connections made from here on are counted
    client = app.test_client()
    for k in range(WARM_UP):
        body, headers = signed_request(args.participants + k, "hello", f"SMWARM{k:08d}")
        client.post(PATH, data=body, headers=headers)
    requests = [signed_request(n, ANSWERS[0], f"SM00{n:08d}") for n in range(args.participants)]
    settle()
    timers = Timers()
    statements[0] = 0
    point = Point(len(requests), 0.0)
    began = time.perf_counter()
    try:
        for body, headers in requests:
            if client.post(PATH, data=body, headers=headers).status_code != 200:
                raise SystemExit("webhook failed")
    finally:
        timers.close()
    total = time.perf_counter() - began
    point.finish()
    engine.dispose()
    count = len(requests)
    base = floor(url, count, 1)
    floor_ms = base["seconds"] / count * 1000
    print(f"  load {point.load_before:.1f}-{point.load_after:.1f}; ms per message (wall):")
    rows = [("whole request (test client, Flask, app)", total)]
    rows += list(timers.spent.items())
    rows.append(("floor: the bare transaction, same rows", base["seconds"]))
    for name, seconds in rows:
        print(f"    {name:44} {seconds / count * 1000:7.3f}")
    transaction_only = (
        timers.spent["unit of work (BEGIN .. COMMIT)"]
        - timers.spent["  receive (inside the transaction)"]
    )
    print(
        f"    {'  (BEGIN, COMMIT and the session around)':44} "
        f"{transaction_only / count * 1000:7.3f}"
    )
    if statements[0]:
        print(
            f"  SQL statements per message (BEGIN and COMMIT included): {statements[0] / count:.1f}"
        )
    work = timers.spent["unit of work (BEGIN .. COMMIT)"] / count * 1000
    print(
        f"  in process: the whole request is {total / count * 1000 / floor_ms:.1f}x the floor, "
        f"its unit of work {work / floor_ms:.1f}x"
    )


# --- the floor -------------------------------------------------------------------------


def floor_process(url: str, jobs: list[tuple[int, int, str]], tag: str, results: Any) -> None:
    """Bare SQLAlchemy Core transactions writing what one handled SMS writes."""
    engine = make_engine(url)
    messages, answers, outbox = Message.__table__, Answer.__table__, OutboxItem.__table__
    latencies = []
    with engine.connect() as connection:
        for k, (participant, checkin, version) in enumerate(jobs):
            began = time.perf_counter()
            with connection.begin():
                now = datetime.now(UTC)
                inbound = connection.execute(
                    insert(messages).returning(messages.c.id),
                    {
                        "participant_id": participant,
                        "direction": "in",
                        "channel": "sms",
                        "address": phone(participant),
                        "body": "7",
                        "provider_id": f"SMFLOOR{tag}{k:08d}",
                        "created_at": now,
                        "checkin_id": checkin,
                    },
                ).scalar_one()
                connection.execute(
                    insert(answers),
                    {
                        "checkin_id": checkin,
                        "participant_id": participant,
                        "flow_id": "weekly-wellbeing",
                        "flow_version": version,
                        "step_id": f"floor_{tag}_{k}",
                        "value": 7,
                        "score": 7.0,
                        "measure": "life_satisfaction",
                        "raw_text": "7",
                        "answered_at": now,
                        "channel": "sms",
                        "message_id": inbound,
                    },
                )
                reply = connection.execute(
                    insert(messages).returning(messages.c.id),
                    {
                        "participant_id": participant,
                        "direction": "out",
                        "channel": "sms",
                        "address": phone(participant),
                        "body": "Overall, to what extent do you feel the things you do ...",
                        "created_at": now,
                        "checkin_id": checkin,
                        "status": "queued",
                    },
                ).scalar_one()
                connection.execute(
                    insert(outbox),
                    {
                        "message_id": reply,
                        "channel": "sms",
                        "address": phone(participant),
                        "body": "Overall, to what extent do you feel the things you do ...",
                        "status": "queued",
                        "attempts": 0,
                        "not_before": now,
                        "created_at": now,
                        "idempotency_key": f"floor-{tag}-{k}-{secrets.token_hex(8)}",
                    },
                )
            latencies.append(time.perf_counter() - began)
    engine.dispose()
    results.put(latencies)


def floor(url: str, count: int, processes: int) -> dict:
    """The floor's rate with `processes` writers in parallel, and its latencies."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Checkin.participant_id, Checkin.id, Checkin.flow_version).limit(count)
        ).all()
    engine.dispose()
    jobs = [tuple(rows[k % len(rows)]) for k in range(count)]
    context = mp.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=floor_process, args=(url, jobs[p::processes], f"{p}", results))
        for p in range(processes)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    latencies = [value for _ in workers for value in results.get(timeout=3600)]
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return {"seconds": seconds, "latencies": latencies}


# --- report ----------------------------------------------------------------------------


@dataclass
class Figures:
    """One database's results."""

    database: str
    messages: int
    errors: int
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    floor_rate: float
    floor_p50_ms: float
    floor_p99_ms: float
    ratio: float | None  # floor rate / end-to-end rate; None when paced
    paced: float | None
    server_cpu_ms: float | None  # CPU of the web processes per message (Linux only)
    workers: int = 1
    load_before: float = 0.0
    load_after: float = 0.0


def verify(url: str, participants: int, rounds: int) -> None:
    """Every answer and every reply stored: nothing lost."""
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        answers = connection.scalar(select(func.count()).select_from(Answer.__table__))
        outbox = connection.scalar(select(func.count()).select_from(OutboxItem.__table__))
    engine.dispose()
    expected = participants * rounds
    if answers != expected:
        raise SystemExit(f"expected {expected} answers, found {answers}")
    print(f"  verified: {answers:,} answers stored, {outbox:,} outbox rows")


def measure(url: str, label: str, args: argparse.Namespace) -> Figures:
    print(f"{label}: setting up {args.participants:,} residents with an open weekly check-in")
    populate(url, args.participants)
    workers = args.workers_now or default_workers(url)
    port = free_port()
    server = start_server(url, port, workers, args.threads)
    try:
        warm_up(port, args.participants, WARM_UP * workers)
        print(
            f"  {args.participants:,} residents x {args.rounds} answers, "
            f"{args.connections} connections from {args.client_processes} client processes, "
            f"gunicorn {workers} workers x {args.threads} threads, "
            f"{f'paced at {args.rate:g}/s' if args.rate else 'flat out'}; "
            f"load average before: {os.getloadavg()[0]:.1f}"
        )
        load_before = load_average()
        cpu_before = tree_cpu_seconds(server.pid)
        result = load(
            port,
            args.participants,
            args.rounds,
            args.connections,
            args.client_processes,
            args.rate,
        )
        cpu_after = tree_cpu_seconds(server.pid)
        load_after = load_average()
    finally:
        stop_server(server)
    verify(url, args.participants, args.rounds)
    sent = len(result["latencies"])
    # SQLite has one writer at a time: its floor is one process writing flat out.
    writers = 1 if url.startswith("sqlite") else min(workers * args.threads, args.connections)
    base = floor(url, sent, writers)
    rate = sent / result["seconds"]
    floor_rate = len(base["latencies"]) / base["seconds"]
    return Figures(
        database=label,
        messages=sent,
        errors=len(result["errors"]),
        rate=rate,
        p50_ms=percentile(result["latencies"], 0.50),
        p90_ms=percentile(result["latencies"], 0.90),
        p99_ms=percentile(result["latencies"], 0.99),
        max_ms=max(result["latencies"]) * 1000,
        floor_rate=floor_rate,
        floor_p50_ms=percentile(base["latencies"], 0.50),
        floor_p99_ms=percentile(base["latencies"], 0.99),
        ratio=None if args.rate else floor_rate / rate,
        paced=args.rate,
        server_cpu_ms=(
            (cpu_after - cpu_before) / sent * 1000
            if cpu_before is not None and cpu_after is not None
            else None
        ),
        workers=workers,
        load_before=load_before,
        load_after=load_after,
    )


def show(figures: Figures) -> None:
    mode = f"paced at {figures.paced:g}/s" if figures.paced else "flat out"
    ratio = (
        f"end to end is {figures.ratio:.1f}x the floor"
        if figures.ratio is not None
        else "(no ratio when paced)"
    )
    cpu = (
        f"; web processes' CPU {figures.server_cpu_ms:.2f} ms/message"
        if figures.server_cpu_ms is not None
        else ""
    )
    print(
        f"  {figures.database} ({mode}): {figures.rate:,.0f} messages/s "
        f"({figures.messages:,} messages, {figures.errors} errors); latency "
        f"p50 {figures.p50_ms:.1f} ms, p90 {figures.p90_ms:.1f} ms, "
        f"p99 {figures.p99_ms:.1f} ms, max {figures.max_ms:.0f} ms{cpu}\n"
        f"  floor (bare SQLAlchemy transaction, same rows): {figures.floor_rate:,.0f}/s, "
        f"p50 {figures.floor_p50_ms:.1f} ms, p99 {figures.floor_p99_ms:.1f} ms; {ratio}"
    )
    goals = [("p99 < 100 ms", figures.p99_ms < 100)]
    if figures.ratio is not None:
        goals = [
            ("rate >= 500/s", figures.rate >= 500),
            *goals,
            ("within 3x of the floor", figures.ratio <= 3),
        ]
    # One verdict rule for every benchmark: none when the run started on a busy machine.
    run = Curve(figures.database, "messages")
    run.add(
        Point(figures.messages, figures.messages / figures.rate, load_before=figures.load_before)
    )
    for name, ok in goals:
        print("  " + verdict(name, ok, [run]))
    print(f"  load average {figures.load_before:.1f} before, {figures.load_after:.1f} after")


def curve_of_workers(figures: list[Figures]) -> None:
    """The PostgreSQL runs as a curve over web worker processes: worker-seconds per 1,000
    messages stays flat when the rate grows in step with the workers."""
    if len(figures) < 2:
        return
    curve = Curve(
        "PostgreSQL webhooks by web worker processes "
        "(seconds = worker-seconds per 1,000 messages; flat = the rate grows with the workers)",
        "workers",
        flat=True,
    )
    for f in figures:
        point = Point(f.workers, f.workers / f.rate * 1000, load_before=f.load_before)
        point.load_after = f.load_after
        point.extra = {
            "messages/s": f"{f.rate:,.0f}",
            "p99 ms": f"{f.p99_ms:.0f}",
            "CPU ms/msg": "-" if f.server_cpu_ms is None else f"{f.server_cpu_ms:.2f}",
            "floor/s": f"{f.floor_rate:,.0f}",
            "x floor": "-" if f.ratio is None else f"{f.ratio:.1f}",
        }
        curve.add(point)
    print(curve.table())
    print("  " + linear_verdict(curve))
    print(
        f"  ({os.cpu_count()} CPUs here, shared with the load's client processes and "
        "PostgreSQL: more web workers than CPUs cannot add throughput)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="answers per resident")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="gunicorn processes, one run each, PostgreSQL printed as a curve "
        "[default: as `serve`: 1 on SQLite, else 2]",
    )
    parser.add_argument(
        "--sqlite-workers",
        action="store_true",
        help="SQLite too at each --workers (default: SQLite runs once, as `serve` would)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="where one message's time goes (in process, phase by phase, against the floor)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--connections", type=int, default=32, help="concurrent client lanes")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument(
        "--rate",
        type=float,
        help="send at this many messages/s (latency at a steady load) instead of flat out",
    )
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to test as well")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="CPU per message of the app alone (Flask test client, no HTTP server)",
    )
    args = parser.parse_args()
    if args.rounds > len(ANSWERS):
        parser.error(f"--rounds is at most {len(ANSWERS)}")
    results = []

    def run(url: str, label: str) -> None:
        if args.breakdown:
            breakdown(url, label, args)
        elif args.in_process:
            in_process(url, label, args)
        else:
            settle()
            results.append(measure(url, label, args))
            show(results[-1])

    if not args.no_sqlite:
        for workers in args.workers if args.sqlite_workers else [None]:
            args.workers_now = workers
            with tempfile.TemporaryDirectory() as folder:
                run(f"sqlite:///{folder}/bench.db", "SQLite")
    if args.postgres:
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        for workers in args.workers or [None]:
            args.workers_now = workers
            name = f"gs_bench_{secrets.token_hex(4)}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = (
                    make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
                )
                run(url, "PostgreSQL")
            finally:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        curve_of_workers([r for r in results if r.database == "PostgreSQL"])
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    if results:
        print("median of the runs' rates:", f"{statistics.median(r.rate for r in results):,.0f}/s")


if __name__ == "__main__":
    main()
