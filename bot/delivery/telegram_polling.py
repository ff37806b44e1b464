"""Telegram long polling, for deployments without a public URL (a laptop, a home server).

A python-telegram-bot `Application` holds the handlers: text messages, the commands
/start CODE, /stop, /help and /skip, and button presses (callback queries). Each handler
turns the update into an `InboundMessage` with the same `parse_update` the webhook uses
and hands it to `bot.checkins.inbound.handle`: one transaction, handled once per update_id.

We fetch updates ourselves instead of using PTB's `Updater`, because the Updater confirms
an update to Telegram (the next getUpdates offset) as soon as it has fetched it, before
the handlers ran: a database outage would lose messages. Here the offset moves past an
update only once it is stored; while the database is away the same update is retried
with backoff, and nothing after it is handled first, so each chat keeps its order.

Polling and a webhook exclude each other on Telegram's side: polling deletes the webhook.
Replies are not sent from here; the outbox worker sends them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import BadWebhook, InboundMessage
from bot.channels.telegram import TelegramSettings, parse_update
from bot.checkins.inbound import describe, handle
from bot.checkins.receiving import Received
from bot.settings import Settings
from storage.flow_versions import Flows, FlowStore
from storage.retry import database_unavailable

log = logging.getLogger(__name__)

COMMANDS = ("start", "stop", "help", "skip")
ALLOWED_UPDATES = ["message", "callback_query"]
#: Seconds Telegram holds a getUpdates call open when there is nothing to deliver.
POLL_TIMEOUT = 10
#: Longest wait between two attempts at one update while the database is away.
MAX_BACKOFF = 30.0

Handled = Callable[[InboundMessage, Received], None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TelegramPoller:
    """Long-polls the Bot API and handles each update once, in order.

    `on_handled(inbound, received)` is called after each stored update (tests wait on it).
    `run(stop)` blocks until `stop` is set; call it from a thread with no event loop.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        telegram: TelegramSettings,
        settings: Settings,
        *,
        library: Flows | None = None,
        clock: Callable[[], datetime] = _utcnow,
        poll_timeout: int = POLL_TIMEOUT,
        on_handled: Handled | None = None,
    ) -> None:
        if not telegram.configured:
            raise ValueError("Telegram is not configured: set TELEGRAM_BOT_TOKEN")
        self.sessions = sessions
        self.settings = settings
        self.library = library or FlowStore(sessions)
        self.clock = clock
        self.poll_timeout = poll_timeout
        self.on_handled = on_handled
        self.application = build_application(telegram, self._on_update)
        self._failure: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        """Poll and handle updates until `stop` is set."""
        asyncio.run(self._main(stop))

    async def _main(self, stop: threading.Event) -> None:
        stopped = asyncio.ensure_future(asyncio.to_thread(stop.wait))
        try:
            async with self.application:  # initialize (getMe) ... shutdown
                bot = self.application.bot
                await bot.delete_webhook(drop_pending_updates=False)
                log.info("polling Telegram as @%s", bot.username)
                await self._poll(stop, stopped)
        finally:
            stop.set()  # releases the waiting thread
            await stopped

    async def _poll(self, stop: threading.Event, stopped: asyncio.Future[bool]) -> None:
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                self.application.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
            )
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                fetch.cancel()  # unconfirmed updates come again next time
                return
            try:
                updates = fetch.result()
            except TelegramError as error:
                failures += 1
                wait = _retry_wait(error, failures)
                log.warning("getUpdates failed (%s); again in %.0f s", type(error).__name__, wait)
                await _sleep_unless(stop, stopped, wait)
                continue
            failures = 0
            for update in updates:
                if not await self._process(update, stop, stopped):
                    return
                offset = update.update_id + 1

    async def _process(
        self, update: Update, stop: threading.Event, stopped: asyncio.Future[bool]
    ) -> bool:
        """Handle one update, retrying while the database is away; False if stopped first."""
        attempts = 0
        while not stop.is_set():
            self._failure = None
            await self.application.process_update(update)
            if self._failure is None:
                return True
            attempts += 1
            wait = min(MAX_BACKOFF, 2.0 ** (attempts - 1))
            log.warning(
                "update %s not stored (%s); trying again in %.0f s",
                update.update_id,
                type(self._failure).__name__,
                wait,
            )
            await _sleep_unless(stop, stopped, wait)
        return False

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """The handlers' one callback: parse as the webhook does, store in one transaction."""
        try:
            inbound = parse_update(update.to_dict())
        except BadWebhook:
            log.warning("update %s has a shape we cannot read; skipped", update.update_id)
            return
        if inbound is None:
            return
        try:
            received = await asyncio.to_thread(
                handle,
                self.sessions,
                inbound,
                library=self.library,
                settings=self.settings,
                clock=self.clock,
            )
        except Exception as error:
            if database_unavailable(error):
                self._failure = error  # retried by _process
                return
            # A bug, not an outage: retrying would block every chat behind this update.
            log.error("update %s failed (%s); skipped", update.update_id, type(error).__name__)
            return
        log.info(describe(inbound, received))
        if self.on_handled is not None:
            self.on_handled(inbound, received)


def build_application(
    telegram: TelegramSettings,
    callback: Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]],
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A PTB Application (no Updater: we confirm updates ourselves) with our handlers.

    TELEGRAM_API_URL points it at another Bot API server (a local one, or a test fake).
    """
    builder = ApplicationBuilder().token(telegram.token).updater(None)
    if telegram.api_url:
        base = telegram.api_url.rstrip("/")
        builder = builder.base_url(base + "/bot").base_file_url(base + "/file/bot")
    application = builder.build()
    application.add_handler(CommandHandler(list(COMMANDS), callback))
    application.add_handler(MessageHandler(filters.TEXT, callback))
    application.add_handler(CallbackQueryHandler(callback))
    return application


def _retry_wait(error: TelegramError, failures: int) -> float:
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            retry_after = error.retry_after
        return retry_after if isinstance(retry_after, int | float) else retry_after.total_seconds()
    return min(MAX_BACKOFF, 2.0 ** (failures - 1))


async def _sleep_unless(
    stop: threading.Event, stopped: asyncio.Future[bool], seconds: float
) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    if not stop.is_set():
        await asyncio.wait({stopped}, timeout=seconds)
