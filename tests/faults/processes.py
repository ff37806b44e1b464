"""The real processes of one deployment, started, killed with SIGKILL and started again.

- web: `groundswell serve` (gunicorn: a master and its worker processes);
- outbox workers: `groundswell worker`, several at once;
- clocks: `python -m tests.faults.clock_driver`, fed simulated times on stdin.

Every process is started in a session of its own, so that killing it (`os.killpg` on the
group we created) takes its children with it, as a crashed container would, and nothing
else. Output goes to one log file per role under the run's folder, appended across
restarts, for the report (recovered sends, possible duplicates, unhandled errors).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import IO

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CLI = "from bot.cli import main; main()"
#: Process start-up (imports, gunicorn boot) on a busy 2-core machine.
START_UP_SECONDS = 120.0
#: A tick of a few thousand residents; the driver answers well within this.
TICK_SECONDS = 300.0
STOP_SECONDS = 30.0


class ProcessFailed(RuntimeError):
    """A process could not be started or did not do its job in time."""


def _kill_group(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """SIGKILL the process and every process of the session we started it in."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def children(pid: int) -> list[int]:
    """Ids of the live child processes of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def rss_kib(pid: int) -> int | None:
    """Resident memory of process `pid` in KiB (VmRSS), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class ClockDriver:
    """One long-lived clock driver process, reading times on stdin (see clock_driver)."""

    def __init__(self, deployment: Deployment, name: str) -> None:
        self.deployment = deployment
        self.name = name
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the driver and wait for its `ready` line (start-up only)."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the driver process (it imports the clock, then prints `ready`)."""
        log = self.deployment.log_file(self.name)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.faults.clock_driver"],
                env=self.deployment.env,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        finally:
            log.close()
        self._lines = queue.Queue()
        threading.Thread(
            target=self._read, args=(self.process.stdout, self._lines), daemon=True
        ).start()

    def wait_ready(self) -> None:
        """Block until the driver printed `ready`."""
        if self.line(START_UP_SECONDS) != "ready":
            raise ProcessFailed(f"{self.name} did not start; see {self.name}.log")

    def send(self, moment: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(moment + "\n")
        self.process.stdin.flush()

    def line(self, timeout: float) -> str | None:
        """The next line the driver printed; None when it died (or after `timeout`)."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def kill(self) -> None:
        if self.process is not None:
            _kill_group(self.process)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(self.process)

    @staticmethod
    def _read(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
        assert stream is not None
        for text in stream:
            lines.put(text.strip())
        lines.put(None)  # end of output: the process died or exited


class Deployment:
    """`groundswell serve`, N `groundswell worker` and two clock drivers on one database.

    `env` is the whole environment of every process (DATABASE_URL, provider settings...).
    `killed` counts what was killed, `tick_kills` the clock drivers killed mid-tick.
    """

    def __init__(
        self,
        folder: Path,
        env: dict[str, str],
        *,
        web_workers: int,
        web_threads: int,
        outbox_workers: int,
        seed: int,
    ) -> None:
        self.folder = folder
        self.env = env
        self.port = free_port()
        self.web_workers = web_workers
        self.web_threads = web_threads
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * outbox_workers
        self.clocks = [ClockDriver(self, "clock-a"), ClockDriver(self, "clock-b")]
        self.killed: Counter[str] = Counter()
        self.exited: Counter[str] = Counter()  # exits nobody caused, restarted
        self.database_up = threading.Event()
        self._slots = threading.RLock()  # one restart of a process at a time
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.database_up.set()
        self._random = random.Random(seed)
        self._tick_seconds: list[float] = []

    # ----------------------------------------------------------------- logs

    def log_file(self, role: str) -> IO[bytes]:
        """The role's log, opened for appending (the child keeps its own descriptor)."""
        log = (self.folder / f"{role}.log").open("ab")
        log.write(f"--- started at {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        return log

    def log_text(self, role: str) -> str:
        """Everything `role` wrote so far, over all its restarts ("" if never started)."""
        path = self.folder / f"{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_file(role)
        try:
            return subprocess.Popen(
                [sys.executable, "-c", CLI, *args],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    # ----------------------------------------------------------------- web

    def start_web(self) -> None:
        """Start `groundswell serve` and wait until /healthz answers 200 (start-up only)."""
        self.web = self._spawn(
            "web",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.web_workers),
            "--threads",
            str(self.web_threads),
        )
        deadline = time.monotonic() + START_UP_SECONDS
        while time.monotonic() < deadline:  # start-up: short, bounded attempts
            if self.web.poll() is not None:
                raise ProcessFailed(f"groundswell serve exited with {self.web.returncode}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise ProcessFailed(f"groundswell serve did not answer /healthz in {START_UP_SECONDS} s")

    def kill_web(self) -> None:
        """SIGKILL the gunicorn master and all its workers, then start serve again."""
        with self._slots:
            if self.web is not None:
                _kill_group(self.web)
            self.killed["web (serve, all processes)"] += 1
            self.start_web()

    def web_pids(self) -> list[int]:
        """The gunicorn master and its worker processes."""
        if self.web is None or self.web.poll() is not None:
            return []
        return [self.web.pid, *children(self.web.pid)]

    def kill_web_worker(self) -> bool:
        """SIGKILL one gunicorn worker process (the master starts another); False if none."""
        if self.web is None:
            return False
        pids = children(self.web.pid)
        if not pids:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._random.choice(pids), signal.SIGKILL)
        self.killed["web worker process"] += 1
        return True

    # ----------------------------------------------------------------- outbox workers

    def start_worker(self, index: int) -> None:
        self.workers[index] = self._spawn(f"worker-{index}", "worker")

    def kill_worker(self, index: int | None = None) -> None:
        """SIGKILL an outbox worker (a random one by default), then start it again."""
        index = self._random.randrange(len(self.workers)) if index is None else index
        with self._slots:
            process = self.workers[index]
            if process is not None:
                _kill_group(process)
            self.killed["outbox worker"] += 1
            self.start_worker(index)

    def worker_logs(self) -> str:
        return "".join(self.log_text(f"worker-{n}") for n in range(len(self.workers)))

    # ----------------------------------------------------------------- clocks

    def tick(self, moment: str, *, kill: bool = False, both: bool = False) -> dict[str, int]:
        """One tick at `moment` (ISO), until a driver completes it; returns its report.

        `kill`: SIGKILL the first driver at a random moment after it began the tick (the
        tick is then run again by a fresh driver). `both`: both drivers tick at once, as a
        failover pair would. A tick that fails because the database is away is sent again
        once `database_up` is set.
        """
        drivers = self.clocks if both else self.clocks[:1]
        if both:
            self.killed["two clocks ticking at once"] += 1
        for attempt in range(1, 11):
            for driver in drivers:
                if not driver.alive:
                    driver.start()
                driver.send(moment)
            began = time.monotonic()
            for driver in drivers:
                if driver.line(TICK_SECONDS) != "ticking":
                    raise ProcessFailed(f"{driver.name} did not begin the tick at {moment}")
            struck = kill and attempt == 1 and self._kill_mid_tick(drivers[0])
            results = [driver.line(TICK_SECONDS) for driver in drivers]
            done = [r for r in results if r is not None and r.startswith("{")]
            if struck:
                finished = results[0] is not None and results[0].startswith("{")
                self.killed[
                    "clock driver (tick had finished)" if finished else "clock driver (mid-tick)"
                ] += 1
            if done:  # two clocks at once share the work: add their reports up
                self._tick_seconds.append(time.monotonic() - began)
                reports = [json.loads(line) for line in done]
                return {
                    key: sum(r[key] for r in reports)
                    for key, value in reports[0].items()
                    if isinstance(value, int)
                }
            if not self.database_up.wait(TICK_SECONDS):
                raise ProcessFailed("the database did not come back")
        raise ProcessFailed(f"the tick at {moment} failed ten times")

    def _kill_mid_tick(self, driver: ClockDriver) -> bool:
        """SIGKILL the driver at a random moment within a typical tick's length.

        False (no kill) before any tick was timed: there is nothing to aim at yet.
        """
        if not self._tick_seconds:
            return False
        typical = sorted(self._tick_seconds)[len(self._tick_seconds) // 2]
        time.sleep(self._random.uniform(0, typical))  # choosing the moment to strike
        driver.kill()
        return True

    # ----------------------------------------------------------------- all

    def start(self) -> None:
        """Start the web process, the outbox workers and the clock drivers."""
        for index in range(len(self.workers)):
            self.start_worker(index)
        for driver in self.clocks:
            driver.spawn()  # all start at once: their imports take seconds
        self.start_web()
        for driver in self.clocks:
            driver.wait_ready()
        self._supervisor.start()

    def _supervise(self) -> None:
        """Start again any web or worker process that exited on its own, as a platform
        does (Heroku, systemd): `groundswell worker` and `serve` exit when they cannot
        reach the database at start-up."""
        while not self._stopping.wait(1.0):
            with self._slots:
                if self._stopping.is_set():
                    return
                for index, process in enumerate(self.workers):
                    if process is not None and process.poll() is not None:
                        self.exited["outbox worker"] += 1
                        self.start_worker(index)
                if self.web is not None and self.web.poll() is not None:
                    self.exited["web (serve)"] += 1
                    with contextlib.suppress(ProcessFailed):  # the database is away: next round
                        self.start_web()

    def stop(self) -> None:
        """SIGTERM everything (graceful), SIGKILL what is still running after 30 s."""
        self._stopping.set()
        with self._slots:
            pass  # a restart in progress finishes first
        for driver in self.clocks:
            driver.stop()
        running = [p for p in (self.web, *self.workers) if p is not None and p.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                _kill_group(process)
