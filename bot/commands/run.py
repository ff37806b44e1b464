"""`groundswell run [--host H] [--port P]`: everything in one process, for a laptop or a
small server.

The embedded default: the SQLite database is migrated, then the web app (webhooks, health
check, staff pages) is served by waitress, a production WSGI server (its own threads), the
outbox worker sends in another thread (the local simulator always, Twilio and Telegram
when configured), and the clock ticks in a third. Ctrl-C or SIGTERM stops all of it
cleanly: the web server stops taking requests, the worker finishes the message it is
sending, and the command exits 0.

For more than one machine, run the Procfile's processes separately against PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

import click
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.channels.base import Sender
from bot.commands.clock import TICK_SECONDS, run_tick
from bot.commands.common import database, settings
from bot.commands.serve import DEFAULT_HOST, default_port
from bot.delivery.rate_limits import RateLimits, daily_recipients_from_env, shared_limiter
from bot.delivery.senders import senders_from_env
from bot.delivery.worker import Worker
from bot.settings import Settings, SettingsError
from bot.web import create_app
from bot.web.staff.accounts import add_user
from storage.database import transaction
from storage.flow_versions import Flows, FlowStore
from storage.models import User

log = logging.getLogger(__name__)

#: Seconds between outbox polls when nothing is due.
WORKER_POLL = 1.0
#: Seconds the main thread sleeps between checks of the stop flag (signals interrupt it).
WAKE = 0.5
#: Request threads of the web server (waitress).
WEB_THREADS = 8


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port to listen on  [default: $PORT or 8000]")
def run(host: str, port: int | None) -> None:
    """Run Groundswell in one process: web app, outbox worker and scheduler.

    Works with no credentials at all (messages go to the local simulator); set the
    TWILIO_* and TELEGRAM_* variables to talk to real phones.
    """
    config = settings()
    sessions = database(config)  # migrates the embedded SQLite database
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # The scheduler logs every 30-second tick at INFO: noise in the terminal a newcomer reads.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    port = port if port is not None else default_port()
    try:
        senders = senders_from_env(os.environ)
        limits = RateLimits.from_env(os.environ)
        daily = daily_recipients_from_env(os.environ)
    except (SettingsError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    library = FlowStore(sessions)
    try:
        server = create_server(
            create_app(config, sessions=sessions, library=library),
            host=host,
            port=port,
            threads=WEB_THREADS,
            ident="groundswell (waitress)",
        )
    except OSError as error:
        _close(senders)
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None
    stop = threading.Event()
    shared = shared_limiter(sessions, limits, senders, time.sleep)
    worker = Worker(
        sessions, senders, limits=limits, shared=shared, whatsapp_daily_recipients=daily
    )
    threads = [
        threading.Thread(target=server.run, name="web", daemon=True),
        threading.Thread(
            target=worker.run_forever, args=(stop, WORKER_POLL), name="worker", daemon=True
        ),
    ]
    with _stopped_by_signals(stop):
        for thread in threads:
            thread.start()
        threads += start_background_jobs(sessions, library, config, stop)
        click.echo(welcome(f"http://{_shown_host(host)}:{_port_of(server)}", senders))
        if host in LOOPBACK:
            click.echo(first_account(sessions))
        else:
            click.echo(NO_ACCOUNT_PRINTED)
        while not stop.wait(WAKE):
            pass
        click.echo("Stopping...")
        _shut_down(server, threads)
    _close(senders)
    click.echo("Stopped.")


def start_background_jobs(
    sessions: sessionmaker[Session],
    library: Flows,
    settings: Settings,
    stop: threading.Event,
) -> list[threading.Thread]:
    """Start the clock for `groundswell run`: one tick at once, then an APScheduler
    BackgroundScheduler ticking as `groundswell clock` does. Returns a thread that shuts
    the scheduler down once `stop` is set."""
    run_tick(sessions, library, settings)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=TICK_SECONDS,
        args=(sessions, library, settings),
        next_run_time=datetime.now(UTC) + timedelta(seconds=TICK_SECONDS),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=TICK_SECONDS,
    )
    scheduler.start()

    def keeper() -> None:
        stop.wait()
        scheduler.shutdown(wait=True)  # lets a tick in progress finish

    thread = threading.Thread(target=keeper, name="clock", daemon=True)
    thread.start()
    return [thread]


LOOPBACK = ("127.0.0.1", "localhost", "::1")
FIRST_ACCOUNT = "staff@groundswell.local"
NO_ACCOUNT_PRINTED = (
    "Listening beyond this computer, so no sign-in is printed here: make the first staff "
    "account with\n  groundswell users add you@example.org --role staff"
)


def first_account(sessions: sessionmaker[Session]) -> str:
    """On this computer only, with nobody able to sign in yet: make a staff account with a
    fresh random password, so a newcomer can open the web app straight away."""
    with transaction(sessions) as session:
        if session.scalar(select(func.count()).select_from(User)):
            return ""
        password = secrets.token_urlsafe(12)
        add_user(session, FIRST_ACCOUNT, "staff", password, (), now=datetime.now(UTC), actor="run")
    return (
        f"First run: sign in as {FIRST_ACCOUNT} with password {password}\n"
        "(this computer only; make your own account with `groundswell users add` and remove "
        f"this one with `groundswell users remove {FIRST_ACCOUNT}`)."
    )


def welcome(url: str, senders: dict[str, Sender]) -> str:
    """What `run` prints once it is serving: where it is, and what to do next."""
    sms = (
        "on" if "sms" in senders else "off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM)"
    )
    whatsapp = "on" if "whatsapp" in senders else "off (set TWILIO_WHATSAPP_FROM as well)"
    telegram = "on" if "telegram" in senders else "off (set TELEGRAM_BOT_TOKEN)"
    return "\n".join(
        [
            f"Groundswell is running at {url} (health check: {url}/healthz).",
            f"SMS: {sms}. WhatsApp: {whatsapp}. Telegram: {telegram}. "
            "The local simulator is always on.",
            f"Next: open {url}, sign in and try the Simulator page, or add a group residents"
            " can join:",
            '  groundswell groups add "Mill Lane" --join-code MILL --flow weekly-wellbeing',
            "then text JOIN MILL to your Twilio number (by SMS or WhatsApp), or send /start MILL"
            " to your Telegram bot.",
            "Stop with Ctrl-C.",
        ]
    )


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT (Ctrl-C) set `stop`; the previous handlers come back after."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        stop.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _shut_down(server: BaseWSGIServer | MultiSocketServer, threads: list[threading.Thread]) -> None:
    """Stop taking requests, let the worker finish its current send, wait for everyone."""
    server.task_dispatcher.shutdown()  # requests in progress finish first
    if isinstance(server, MultiSocketServer):
        wasyncore.close_all(server.map)
    else:  # a dispatcher's own socket map; types-waitress leaves the attribute out
        wasyncore.close_all(server._map)  # type: ignore[attr-defined]
    for thread in threads:
        thread.join(timeout=30)
        if thread.is_alive():
            log.warning("thread %s did not stop within 30 s", thread.name)


def _port_of(server: BaseWSGIServer | MultiSocketServer) -> int:
    """The port really listened on (the one asked for, or the one picked for port 0)."""
    if isinstance(server, MultiSocketServer):
        return int(server.effective_listen[0][1])
    return int(server.getsockname()[1])  # what waitress sets `effective_port` from


def _close(senders: dict[str, Sender]) -> None:
    for sender in senders.values():
        try:
            sender.close()
        except Exception:  # closing must not hide the real outcome
            log.warning("closing the %s sender failed", sender.channel, exc_info=True)


def _shown_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
