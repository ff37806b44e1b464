"""Outbox worker throughput, and proof that the default rate limits hold.

1. Throughput: fill the outbox with N messages (default 20,000 over 2,000 addresses on SMS,
   Telegram and the simulator), then time one worker draining it with providers that answer
   instantly (in-process senders) and no rate limits. Each row costs a claim share, a send
   and its own "mark" transaction, as in production. Median of 3 rounds; goal >= 1,000/s.
2. The same through the real twilio and python-telegram-bot clients against the local fake
   providers over HTTP on loopback (smaller N): what the HTTP round trip adds.
3. Limits: with the default limits (SMS 1/s, Telegram 30/s overall and 1/s per chat) and a
   real clock, run the worker for a short window and report the achieved rate per sender
   and the most sends seen in any half-open one-second window [t, t + 1); it must never
   exceed the limit.
4. Several workers (`--workers 1 2 4`): K worker PROCESSES on one database, first with the
   default limits (shared through PostgreSQL: they must hold for all K together), then
   with limits lifted (the total send rate, which should grow with K on PostgreSQL). On
   SQLite only one worker runs (one writer; its own buckets are the limit). Printed as a
   table with the load average, since the machine's other work skews every figure.

Every part runs on SQLite and then on PostgreSQL; a limit exceeded (or a half that fails)
is reported and makes the script exit 1 only after both halves ran.

The K-workers part is a curve (`bench.curve`): for each K, worker-seconds per 1,000 sends
(flat when throughput grows in step with K), the sends/s, and where each send's CPU went:
the worker process, its PostgreSQL server processes, and the fake providers. The goal is
3x the throughput from 1 to 4 workers; it gets no verdict when the machine was busy.

Run: python bench/worker_send.py [--postgres postgresql+psycopg://postgres@127.0.0.1/test]
     [--workers 1 2 4] [--skip-single] [--no-sqlite]
The PostgreSQL URL is an admin connection: scratch databases are created and dropped.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import multiprocessing
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakes

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.curve import Curve, Point, settle, verdict
from bot.channels.base import OutboundMessage, Sender, SendResult
from bot.channels.simulator import SimulatorSender
from bot.delivery.outbox import Recipient, Send, enqueue_many
from bot.delivery.rate_limits import SHARED_MARGIN, RateLimits, shared_limiter
from bot.delivery.worker import Worker
from storage import migrate
from storage.database import make_engine, normalise_url, session_factory, transaction

CHANNELS = ("sms", "telegram", "sim")


class Instant:
    """A provider that accepts every message at once, recording when (monotonic seconds)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[tuple[float, str]] = []
        self.busy = 0.0  # CPU seconds spent in `send`
        self._ids = itertools.count(1)

    def send(self, message: OutboundMessage) -> SendResult:
        began = time.process_time()
        self.sent.append((time.monotonic(), message.address))
        # Unique across worker processes: provider ids are unique per channel.
        result = SendResult(f"{self.channel}-{os.getpid()}-{next(self._ids)}")
        self.busy += time.process_time() - began
        return result

    def find_sent(self, message: OutboundMessage, since: datetime) -> str | None:
        return None

    def close(self) -> None:
        pass


def address(channel: str, n: int) -> str:
    return {"sms": f"+1555{n:07d}", "telegram": str(100_000 + n), "sim": f"sim-{n}"}[channel]


def fill(url: str, per_channel: Mapping[str, tuple[int, int]]) -> int:
    """Queue `per_channel[channel] = (addresses, messages each)`; returns the row count."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    sends = []
    for channel, (addresses, each) in per_channel.items():
        for k in range(each):
            for n in range(addresses):
                to = Recipient(channel, address(channel, n))
                sends.append(Send(to, f"Check-in question {k} of {each}", now))
    for start in range(0, len(sends), 5_000):
        with transaction(sessions) as session:
            enqueue_many(session, sends[start : start + 5_000], now=now)
    engine.dispose()
    return len(sends)


class Databases:
    """Fresh migrated databases, one per round: SQLite files or PostgreSQL scratch DBs."""

    def __init__(self, postgres: str | None) -> None:
        self.postgres = postgres
        self._dir = Path(tempfile.mkdtemp(prefix="gs-bench-"))
        self._count = itertools.count(1)
        self._prefix = f"gs_bench_{os.getpid()}_{secrets.token_hex(3)}"
        if postgres:
            self._admin = create_engine(
                normalise_url(postgres), isolation_level="AUTOCOMMIT", poolclass=NullPool
            )
            self._sql(f'CREATE DATABASE "{self._prefix}" TEMPLATE template0')
            migrate.upgrade(self._url(self._prefix))
        else:
            self._template = self._dir / "template.db"
            migrate.upgrade(f"sqlite:///{self._template}")

    @property
    def name(self) -> str:
        return "PostgreSQL" if self.postgres else "SQLite"

    def _url(self, database: str) -> str:
        assert self.postgres
        url = make_url(normalise_url(self.postgres)).set(database=database)
        return url.render_as_string(hide_password=False)

    def _sql(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.exec_driver_sql(statement)

    @contextmanager
    def fresh(self) -> Iterator[str]:
        number = next(self._count)
        if not self.postgres:
            path = self._dir / f"round{number}.db"
            shutil.copyfile(self._template, path)
            try:
                yield f"sqlite:///{path}"
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        name = f"{self._prefix}_{number}"
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self._prefix}"')
        try:
            yield self._url(name)
        finally:
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.postgres:
            self._sql(f'DROP DATABASE IF EXISTS "{self._prefix}" WITH (FORCE)')
            self._admin.dispose()
        shutil.rmtree(self._dir, ignore_errors=True)


def drain_rate(url: str, senders: Mapping[str, Sender], expected: int) -> tuple[float, float]:
    """(messages per wall-clock second, per CPU second of this process) for one worker
    draining everything due. The CPU figure is what the worker costs when it does not
    share the machine (it leaves out the PostgreSQL server's own work)."""
    engine = make_engine(url)
    worker = Worker(session_factory(engine), senders, limits=RateLimits.unlimited())
    began, cpu = time.perf_counter(), time.process_time()
    report = worker.run_once()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    engine.dispose()
    assert report.sent == expected, (report, expected)
    return expected / seconds, expected / cpu


def throughput(dbs: Databases, messages: int, addresses: int, rounds: int) -> None:
    per = addresses // len(CHANNELS)
    each = max(1, messages // (per * len(CHANNELS)))
    rates, cpu_rates = [], []
    for _ in range(rounds):
        with dbs.fresh() as url:
            n = fill(url, {c: (per, each) for c in CHANNELS})
            wall, cpu = drain_rate(url, {c: Instant(c) for c in CHANNELS}, n)
            rates.append(wall)
            cpu_rates.append(cpu)
    print(
        f"{dbs.name}: {n:,} messages to {per * len(CHANNELS):,} addresses, instant providers, "
        f"no limits: median {statistics.median(rates):,.0f} msg/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}; {rounds} rounds); "
        f"{statistics.median(cpu_rates):,.0f} msg per CPU-second of the worker"
    )


def through_http(dbs: Databases, messages: int) -> None:
    from bot.channels.telegram import TelegramSender, TelegramSettings
    from bot.channels.twilio import TwilioSender, TwilioSettings
    from tests.fakes import FakeTwilio
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

    half = messages // 2
    with FakeTwilio() as twilio, FakeTelegram() as telegram, dbs.fresh() as url:
        n = fill(url, {"sms": (half // 5, 5), "telegram": (half // 5, 5)})
        sms = TwilioSender(
            TwilioSettings(
                account_sid=DEFAULT_ACCOUNT_SID,
                auth_token=DEFAULT_AUTH_TOKEN,
                from_number="+15557650000",
                api_url=twilio.base_url,
            )
        )
        tg = TelegramSender(TelegramSettings(token=telegram.token, api_url=telegram.base_url))
        try:
            rate, _ = drain_rate(url, {"sms": sms, "telegram": tg}, n)
        finally:
            sms.close()
            tg.close()
        assert len(twilio.messages) + len(telegram.sent) == n
    print(
        f"{dbs.name}: {n:,} messages through the real twilio/PTB clients to the fake "
        f"providers over loopback HTTP, no limits: {rate:,.0f} msg/s"
    )


def most_in_a_second(times: list[float]) -> int:
    """The most events in any half-open window [t, t + 1 s) starting at an event."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def limits_hold(dbs: Databases, window: float) -> bool:
    limits = RateLimits()
    with dbs.fresh() as url:
        # More than the limits can carry in the window on every sender.
        fill(url, {"sms": (200, 1), "telegram": (60, 20), "sim": (500, 1)})
        senders: dict[str, Instant] = {c: Instant(c) for c in ("sms", "telegram")}
        engine = make_engine(url)
        worker = Worker(
            session_factory(engine),
            {**senders, "sim": SimulatorSender()},
            limits=limits,
            name=f"bench-{uuid.uuid4().hex[:6]}",
        )
        stop = threading.Event()
        thread = threading.Thread(target=worker.run_forever, args=(stop, 0.05))
        began = time.monotonic()
        thread.start()
        stop.wait(window)
        stop.set()
        thread.join()
        engine.dispose()
    print(f"{dbs.name}: default limits, {window:.0f} s window (per worker process):")
    rows: list[tuple[str, list[float], float]] = [
        ("sms (Twilio)", [t for t, _ in senders["sms"].sent], limits.sms),
        ("telegram overall", [t for t, _ in senders["telegram"].sent], limits.telegram),
    ]
    by_chat: dict[str, list[float]] = defaultdict(list)
    for t, chat in senders["telegram"].sent:
        by_chat[chat].append(t)
    worst_chat = max(by_chat.values(), key=most_in_a_second, default=[])
    rows.append(("telegram busiest chat", worst_chat, limits.telegram_chat))
    ok = True
    for label, times, limit in rows:
        peak = most_in_a_second(times)
        span = (max(times) - began) if times else 0.0
        achieved = len(times) / window
        ok &= peak <= limit
        print(
            f"  {label:22} limit {limit:>4g}/s  sent {len(times):4d}  achieved {achieved:5.1f}/s  "
            f"most in any 1 s {peak:3d}  ({'ok' if peak <= limit else 'EXCEEDED'}; "
            f"last send at {span:.1f} s)"
        )
    return ok


def _backend_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the PostgreSQL server processes `pids` used so far, from
    /proc (Linux; 0 elsewhere): the database's share of a worker's sends."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for pid in pids:
        try:
            line = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = line[line.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _worker_process(
    url: str, limited: bool, seconds: float, results: multiprocessing.Queue
) -> None:
    """One worker process: drain (limits lifted: until empty) or run for `seconds`
    (limited), then report its send times (monotonic: one clock for all processes) and,
    when draining, where its CPU went: its own process, its database connections' server
    processes, and the fake providers' `send` (in process)."""
    engine = make_engine(url)
    backends: list[int] = []
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _remember(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("SELECT pg_backend_pid()")
            backends.append(int(cursor.fetchone()[0]))
            cursor.close()
            dbapi_connection.rollback()  # type: ignore[attr-defined]

    sessions = session_factory(engine)
    senders: dict[str, Instant] = {c: Instant(c) for c in ("sms", "telegram")}
    limits = RateLimits() if limited else RateLimits.unlimited()
    worker = Worker(
        sessions,
        {**senders, "sim": SimulatorSender()} if limited else dict(senders),
        limits=limits,
        shared=shared_limiter(sessions, limits, senders, time.sleep),
    )
    cpu = {"worker": 0.0, "database": 0.0, "fake": 0.0}
    if limited:
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        worker.run_forever(stop, 0.05)
        timer.cancel()
    else:
        with transaction(sessions, readonly=True):  # connect before the clock starts
            pass
        db_before, own_before = _backend_cpu(backends), time.process_time()
        worker.run_once()
        cpu["worker"] = time.process_time() - own_before
        cpu["database"] = _backend_cpu(backends) - db_before
        cpu["fake"] = sum(s.busy for s in senders.values())
    engine.dispose()
    results.put(({c: s.sent for c, s in senders.items()}, cpu))


def _run_workers(
    url: str, k: int, limited: bool, seconds: float
) -> tuple[dict[str, list[tuple[float, str]]], dict[str, float]]:
    """K worker processes at once; (every send by channel, CPU seconds by where)."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()
    processes = [
        context.Process(target=_worker_process, args=(url, limited, seconds, results))
        for _ in range(k)
    ]
    for process in processes:
        process.start()
    merged: dict[str, list[tuple[float, str]]] = defaultdict(list)
    cpu: dict[str, float] = defaultdict(float)
    for _ in processes:
        sent, used = results.get(timeout=seconds + 600)
        for channel, times in sent.items():
            merged[channel].extend(times)
        for where, value in used.items():
            cpu[where] += value
    for process in processes:
        process.join()
    return merged, cpu


def _peaks(sent: Mapping[str, list[tuple[float, str]]]) -> tuple[int, int, int]:
    """Most SMS, Telegram, and Telegram to one chat in any half-open 1 s window."""
    by_chat: dict[str, list[float]] = defaultdict(list)
    for t, chat in sent["telegram"]:
        by_chat[chat].append(t)
    return (
        most_in_a_second([t for t, _ in sent["sms"]]),
        most_in_a_second([t for t, _ in sent["telegram"]]),
        max((most_in_a_second(v) for v in by_chat.values()), default=0),
    )


def scale(dbs: Databases, workers: list[int], messages: int, window: float) -> bool:
    """K worker processes: the limits held together (and the rate they reached), then the
    total rate with limits lifted as a curve over K, with where each send's CPU went."""
    limits = RateLimits()
    ceiling = {  # what the limits let out: shared limits keep a safety margin
        "sms": limits.sms / (1 + SHARED_MARGIN) if dbs.postgres else limits.sms,
        "telegram": limits.telegram / (1 + SHARED_MARGIN) if dbs.postgres else limits.telegram,
    }
    ok = True
    limited = Curve(
        f"{dbs.name}: K workers with the default limits, {window:.0f} s "
        "(seconds = between two Telegram sends; flat = the limit holds the same for any K)",
        "workers",
        flat=True,
    )
    curve = Curve(
        f"{dbs.name}: K workers, limits lifted, instant providers "
        "(seconds = worker-seconds per 1,000 sends; flat = throughput grows with K)",
        "workers",
        flat=True,
    )
    for k in workers if dbs.postgres else [1]:
        settle()
        with dbs.fresh() as url:
            fill(url, {"sms": (200, 1), "telegram": (60, 20)})
            point = Point(k, 0.0)
            sent, _ = _run_workers(url, k, True, window)
        sms_peak, tg_peak, chat_peak = _peaks(sent)
        held = (
            sms_peak <= limits.sms
            and tg_peak <= limits.telegram
            and chat_peak <= limits.telegram_chat
        )
        ok &= held
        # The rate from the first send to the last of a full second's sends: start-up
        # (spawned processes importing) is not sending time.
        tg_times = sorted(t for t, _ in sent["telegram"])
        tg_rate = (len(tg_times) - 1) / (tg_times[-1] - tg_times[0]) if len(tg_times) > 1 else 0
        point.seconds = 1 / tg_rate if tg_rate else 0.0
        point.extra = {
            "SMS sent": str(len(sent["sms"])),
            "SMS peak": str(sms_peak),
            "Telegram/s": f"{tg_rate:.1f} of {ceiling['telegram']:.1f}",
            "Telegram peak": str(tg_peak),
            "chat peak": str(chat_peak),
            "held": "yes" if held else "EXCEEDED",
        }
        limited.add(point.finish())

        settle()
        with dbs.fresh() as url:
            per = max(1, messages // 2 // 500)
            n = fill(url, {"sms": (500, per), "telegram": (500, per)})
            point = Point(k, 0.0)
            drained, cpu = _run_workers(url, k, False, 0)
        total = sum(len(v) for v in drained.values())
        assert total == n, (total, n)
        # From the first send to the last (one monotonic clock for all processes): the
        # processes' start-up (imports, connections) is not sending time.
        times = [t for sends in drained.values() for t, _ in sends]
        seconds = max(times) - min(times)
        point.seconds = k * seconds / n * 1000
        point.extra = {
            "sends/s": f"{n / seconds:,.0f}",
            "CPU ms/send: worker": f"{(cpu['worker'] - cpu['fake']) / n * 1000:.2f}",
            "database": f"{cpu['database'] / n * 1000:.2f}" if dbs.postgres else "(in worker)",
            "fake": f"{cpu['fake'] / n * 1000:.3f}",
        }
        curve.add(point.finish())
    print(limited.table())
    print(
        "  peak = most sends in any half-open 1 s window [t, t + 1); limits SMS "
        f"{limits.sms:g}/s, Telegram {limits.telegram:g}/s and {limits.telegram_chat:g}/s "
        "per chat" + (f"; shared limits keep a {SHARED_MARGIN:.0%} margin" if dbs.postgres else "")
    )
    print(curve.table())
    if not dbs.postgres:
        print("  (SQLite: one worker only; several workers on SQLite share no limits)")
        return ok
    rates = {int(p.size): float(p.extra["sends/s"].replace(",", "")) for p in curve.points}
    if 1 in rates and 4 in rates:
        growth = rates[4] / rates[1]
        print(f"  growth from 1 to 4 workers: {growth:.2f}x")
        print(
            "  " + verdict("throughput grows at least 3x from 1 to 4 workers", growth >= 3, [curve])
        )
        last = curve.points[-1]
        per_send = (
            sum(float(last.extra[k]) for k in ("CPU ms/send: worker", "database", "fake")) / 1000
        )
        cores = os.cpu_count() or 1
        print(
            f"  CPU per send at {int(last.size)} workers: {per_send * 1000:.2f} ms in all, so "
            f"{cores} cores carry at most {cores / per_send:,.0f} sends/s and 4 cores "
            f"{4 / per_send:,.0f}/s (commits wait on the disk, not the CPU: not counted)"
        )
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--addresses", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http-messages", type=int, default=2_000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds for the limit run")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2, 4], help="worker processes to try"
    )
    parser.add_argument(
        "--scale-messages", type=int, default=10_000, help="messages for the K-workers run"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--skip-single", action="store_true", help="only the K-workers table (parts 1-3 skipped)"
    )
    args = parser.parse_args(argv)
    runs: list[Callable[[], Databases]] = []
    if not args.no_sqlite:
        runs.append(lambda: Databases(None))
    if args.postgres:
        runs.append(lambda: Databases(args.postgres))
    problems = []
    for make in runs:  # both halves always run, whatever the first found; failures at the end
        dbs = make()
        try:
            if not args.skip_single:
                throughput(dbs, args.messages, args.addresses, args.rounds)
                through_http(dbs, args.http_messages)
                if not limits_hold(dbs, args.window):
                    problems.append(f"{dbs.name}: a rate limit was exceeded (see above)")
            if not scale(dbs, args.workers, args.scale_messages, args.window):
                problems.append(f"{dbs.name}: K workers exceeded a rate limit (see above)")
        except Exception as error:  # reported with the other half's figures, not instead
            problems.append(f"{dbs.name}: {type(error).__name__}: {error}")
            traceback.print_exc()
        finally:
            dbs.close()
    if problems:
        raise SystemExit("\n".join(problems))


if __name__ == "__main__":
    main()
