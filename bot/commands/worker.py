"""`groundswell worker [--once]`: send what the outbox holds, through every configured channel.

Twilio and Telegram are used when their credentials are set (see
`bot.delivery.senders.senders_from_env`), the local simulator always. Rate limits come from
GROUNDSWELL_RATE_*; on PostgreSQL they hold across every worker process together.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from bot.channels.base import Sender
from bot.commands.common import database, settings, wait_for_database
from bot.delivery import outbox
from bot.delivery.rate_limits import RateLimits, daily_recipients_from_env, shared_limiter
from bot.delivery.senders import senders_from_env
from bot.delivery.worker import Worker
from bot.settings import SettingsError
from storage.database import transaction

log = logging.getLogger(__name__)


@click.command()
@click.option("--once", is_flag=True, help="Drain what is due now, print a summary and exit.")
@wait_for_database
def worker(once: bool, wait: float) -> None:
    """Send queued messages until stopped (SIGTERM or Ctrl-C finishes the current send).

    Rate limits, in messages per second (0 = unlimited): GROUNDSWELL_RATE_SMS (default 1,
    a Twilio long code), GROUNDSWELL_RATE_WHATSAPP (80), GROUNDSWELL_RATE_TELEGRAM (30) and
    GROUNDSWELL_RATE_TELEGRAM_CHAT (1); GROUNDSWELL_WHATSAPP_DAILY_RECIPIENTS (1,000) is
    Meta's per-day limit on people a WhatsApp sender opens conversations with. On
    PostgreSQL the rates hold for all workers together, however many run on however many
    machines; on SQLite run one worker.
    """
    sessions = database(settings(), wait=wait)
    try:
        limits = RateLimits.from_env(os.environ)
        daily = daily_recipients_from_env(os.environ)
        senders = senders_from_env(os.environ)
    except (SettingsError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    runner = Worker(
        sessions,
        senders,
        limits=limits,
        shared=shared_limiter(sessions, limits, senders, time.sleep),
        whatsapp_daily_recipients=daily,
    )
    try:
        if once:
            report = runner.run_once()
            with transaction(sessions, readonly=True) as session:
                left = outbox.counts(session)
            waiting = left.get("queued", 0) + left.get("sending", 0)
            click.echo(f"{report}; {waiting} still waiting")
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        stop = threading.Event()
        with _stopped_by_signals(stop):
            log.info("worker %s sending on %s", runner.name, ", ".join(sorted(senders)))
            total = runner.run_forever(stop)
        log.info("worker %s stopped: %s", runner.name, total)
    finally:
        _close(senders)


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (the worker finishes its current send, then exits)."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: finishing the current send", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _close(senders: dict[str, Sender]) -> None:
    for sender in senders.values():
        try:
            sender.close()
        except Exception:  # closing must not hide the real outcome
            log.warning("closing the %s sender failed", sender.channel, exc_info=True)
