"""`groundswell telegram-poll`: receive Telegram messages by long polling.

For deployments without a public HTTPS address (no webhook possible). Run it next to the
worker (which sends the replies); do not also set a webhook: Telegram allows one or the
other, and polling removes the webhook when it starts.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

from bot.channels.telegram import TelegramSettings
from bot.commands.common import database, settings
from bot.delivery.telegram_polling import TelegramPoller

log = logging.getLogger(__name__)


@click.command("telegram-poll")
def telegram_poll() -> None:
    """Fetch Telegram updates by long polling until stopped (Ctrl-C or SIGTERM)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines hold the token
    telegram = TelegramSettings.from_env(os.environ)
    if not telegram.configured:
        raise click.ClickException("Telegram is not configured: set TELEGRAM_BOT_TOKEN")
    config = settings()
    poller = TelegramPoller(database(config), telegram, config)
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        poller.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("Stopped.")
