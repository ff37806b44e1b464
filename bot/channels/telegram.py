"""The Telegram channel: parsing webhook updates and sending through python-telegram-bot.

PTB is asyncio; our worker is synchronous. Each `TelegramSender` owns one event loop (an
`asyncio.Runner`) and runs every Bot API call on it, so PTB's HTTP connection pool stays on
one loop for the sender's life. Errors become `SendError`s: RetryAfter, timeouts, network
errors and 5xx are retryable; 403 "blocked"/"deactivated" means opted out; 400 and other
4xx are permanent. Options become an inline keyboard whose presses come back as
`callback_query` updates; `button_value` turns their data back into the option's value.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import threading
import warnings
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import (
    BadWebhook,
    InboundMessage,
    OptedOut,
    OutboundMessage,
    PartProgress,
    Permanent,
    Retry,
    SendError,
    SendResult,
)
from bot.channels.rendering import split_text, utf16_len
from survey_flows.engine import DONE
from survey_flows.engine_values import ChannelTraits, Option

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "telegram"
#: Telegram does not answer STOP by itself: the engine must confirm opt-outs.
TRAITS = ChannelTraits(confirms_opt_out=False, buttons=True)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8
_INDEX_DATA = re.compile(r"#([1-9]\d{0,5})")
_CHAT_ID = re.compile(r"-?\d+")


@dataclass(frozen=True)
class TelegramSettings:
    """Bot token, webhook secret and (tests only) API base URL. Secrets stay out of repr."""

    token: str = field(default="", repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    api_url: str | None = None  # e.g. the fake's base_url; the sender appends "/bot"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TelegramSettings:
        """Read TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and TELEGRAM_API_URL."""

        def get(name: str) -> str | None:
            value = (environ.get(name) or "").strip()
            return value or None

        return cls(
            token=get("TELEGRAM_BOT_TOKEN") or "",
            webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            api_url=get("TELEGRAM_API_URL"),
        )

    @property
    def configured(self) -> bool:
        """Whether a bot token is set."""
        return bool(self.token)


# --- webhooks ------------------------------------------------------------------------


def secret_ok(expected: str | None, received: str | None) -> bool:
    """Whether the X-Telegram-Bot-Api-Secret-Token header matches, in constant time.

    An unset or empty `expected` secret never matches: configure one with setWebhook.
    """
    if not expected or received is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def parse_update(data: Mapping[str, Any]) -> InboundMessage | None:
    """A webhook update as an `InboundMessage`, or None for updates we ignore.

    - a text message in a private chat: `text`, `address` = chat id, `provider_id` =
      update_id, `display_name` = the sender's first name;
    - a button press (`callback_query` with data): `button` = data (decode it with
      `button_value`), `text` "", plus `callback_query_id` to answer and the message id;
    - anything else (edited messages, stickers and photos without text, channel posts,
      group chats, my_chat_member, ...) gives None: answer 200 so Telegram does not retry.

    Raises `BadWebhook` for shapes Telegram never sends (no integer update_id, a message
    without chat, a non-integer chat id, ...). PTB does not deduplicate update_ids for
    webhooks: the caller stores `provider_id` and checks it.
    """
    if not isinstance(data, Mapping):
        raise BadWebhook("a Telegram update must be a JSON object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BadWebhook("Telegram update without an integer update_id")
    try:
        update = Update.de_json(dict(data), bot=None)
        return _inbound(update, str(update_id))
    except BadWebhook:
        raise
    except Exception as exc:  # PTB raises KeyError/TypeError/AttributeError on bad shapes
        raise BadWebhook(f"malformed Telegram update {update_id}: {exc!r}") from exc


def _inbound(update: Update, provider_id: str) -> InboundMessage | None:
    if update.message is not None:
        message = update.message
        chat_id = _checked_chat_id(message)
        if message.chat.type != "private" or message.text is None:
            return None
        if not isinstance(message.text, str):
            raise BadWebhook("Telegram message text is not a string")
        sender = message.from_user
        return InboundMessage(
            channel=CHANNEL,
            address=str(chat_id),
            text=message.text,
            provider_id=provider_id,
            display_name=sender.first_name if sender is not None else None,
        )
    if update.callback_query is not None:
        query = update.callback_query
        if query.data is None:  # a game button: nothing for us
            return None
        if not isinstance(query.data, str) or not isinstance(query.id, str):
            raise BadWebhook("Telegram callback query with malformed id or data")
        shown = query.message
        if shown is not None:
            chat_id = _checked_chat_id(shown)
            if shown.chat.type != "private":
                return None
        else:  # a button under an inline-mode message: answer to the presser
            chat_id = query.from_user.id
        return InboundMessage(
            channel=CHANNEL,
            address=str(chat_id),
            text="",
            provider_id=provider_id,
            button=query.data,
            display_name=query.from_user.first_name,
            callback_query_id=query.id,
            callback_message_id=shown.message_id if shown is not None else None,
        )
    return None


def _checked_chat_id(message: Any) -> int:
    chat = message.chat
    if chat is None or not isinstance(chat.id, int) or isinstance(chat.id, bool):
        raise BadWebhook("Telegram message without an integer chat id")
    return chat.id


# --- buttons -------------------------------------------------------------------------


def callback_data(options: Sequence[Option]) -> list[str]:
    """The callback data of each option's button.

    The option's value when it is 1-64 bytes of UTF-8 (Telegram's limit) and does not start
    with "#"; otherwise "#<n>", its 1-based position among the options. Values starting
    with "#" are always encoded by position, so decoding is never ambiguous. The Done
    button of a multiple choice is sent as itself ("#done" is no "#<n>"), so a late press
    of it can never be read as a position in the next question.
    """
    return [
        option.value
        if option.value == DONE
        or (
            1 <= len(option.value.encode("utf-8")) <= CALLBACK_DATA_LIMIT
            and not option.value.startswith("#")
        )
        else f"#{index}"
        for index, option in enumerate(options, 1)
    ]


def button_value(step_options: Sequence[Option], data: str) -> str:
    """The option value a pressed button stands for (the inverse of `callback_data`).

    "#<n>" means the n-th option (1-based) of the question the button was sent with: pass
    that step's options, from the flow version the check-in is pinned to. Any other data
    is the value itself. Data that names no option ("#9" of three) comes back unchanged,
    so the engine treats it as an unreadable reply rather than picking a wrong answer.
    """
    match = _INDEX_DATA.fullmatch(data)
    if match is not None:
        index = int(match.group(1))
        if index <= len(step_options):
            return step_options[index - 1].value
    return data


def keyboard(options: Sequence[Option]) -> InlineKeyboardMarkup:
    """One inline button per option: side by side when few and short, else one per row."""
    buttons = [
        InlineKeyboardButton(option.label or option.value, callback_data=data)
        for option, data in zip(options, callback_data(options), strict=True)
    ]
    if len(buttons) <= 3 and all(utf16_len(str(b.text)) <= 12 for b in buttons):
        return InlineKeyboardMarkup([buttons])
    return InlineKeyboardMarkup([[button] for button in buttons])


# --- sending -------------------------------------------------------------------------


class _Request(HTTPXRequest):
    """PTB's HTTPX transport, remembering the HTTP status of the last answer.

    Why: PTB turns 5xx and unusual 4xx (413, 429 without retry_after...) alike into
    `NetworkError`; the status tells retryable from permanent.
    """

    last_status: int | None = None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        self.last_status = None
        code, payload = await super().do_request(*args, **kwargs)
        self.last_status = code
        return code, payload


class _RedactToken(logging.Filter):
    """Replace the bot token in log records: httpx logs request URLs, which contain it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<bot-token>")
            record.args = None
        return True


def _chat_id(address: str) -> int | str:
    if _CHAT_ID.fullmatch(address):
        return int(address)
    if address.startswith("@"):
        return address
    raise Permanent(f"not a Telegram chat id: {address!r}")


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Sends through the real `telegram.Bot` on a private event loop.

    Call it from synchronous code only (not from inside a running event loop). Calls are
    serialised by a lock; `initialize()` (getMe) runs lazily on the first call and again
    after a failure. `timeout` (seconds) bounds connect, read, write and pool waits.
    """

    channel = CHANNEL

    def __init__(self, settings: TelegramSettings, timeout: float = 10) -> None:
        if not settings.configured:
            raise ValueError("Telegram is not configured: set TELEGRAM_BOT_TOKEN")
        self.settings = settings
        self._request = _Request(
            connection_pool_size=8,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
            media_write_timeout=timeout,
        )
        if settings.api_url:
            base = settings.api_url.rstrip("/")
            self._bot = Bot(
                settings.token,
                request=self._request,
                base_url=base + "/bot",
                base_file_url=base + "/file/bot",
            )
        else:
            self._bot = Bot(settings.token, request=self._request)
        self._runner: asyncio.Runner | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._progress = PartProgress()
        self._redact = _RedactToken(settings.token)
        logging.getLogger("httpx").addFilter(self._redact)

    # ----------------------------------------------------------------- public API

    @property
    def limit_name(self) -> str:
        """The sender its rate limits belong to: the bot's id (the token's public part)."""
        return "bot" + self.settings.token.split(":", 1)[0]

    def send(self, message: OutboundMessage) -> SendResult:
        """Send `message`; return "<chat id>:<message id>" of the first Telegram message.

        The id includes the chat because Telegram numbers messages per chat. Options become
        an inline keyboard (the buttons show the labels). Text over
        4,096 characters goes out in several messages, the keyboard under the last. A photo
        goes with the first 1,024 characters as caption and the rest in following messages.
        """
        return self._run(lambda: self._send(message))

    def find_sent(
        self, message: OutboundMessage, since: datetime, exclude: Collection[str] = ()
    ) -> str | None:
        """Always None: the Bot API cannot list what a bot sent."""
        return None

    def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        """Answer a button press so the client stops its progress spinner."""

        async def answer() -> None:
            await self._api(lambda: self._bot.answer_callback_query(callback_query_id, text=text))

        self._run(answer)

    def edit_buttons(self, chat_id: str, message_id: int, options: Sequence[Option]) -> None:
        """Replace the buttons under one of the bot's messages (editMessageReplyMarkup): a
        multiple choice's toggle ticks the question's own buttons."""

        async def edit() -> None:
            await self._api(
                lambda: self._bot.edit_message_reply_markup(
                    chat_id=_chat_id(chat_id), message_id=message_id, reply_markup=keyboard(options)
                )
            )

        self._run(edit)

    def close(self) -> None:
        """Close PTB's HTTP clients and the event loop. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            logging.getLogger("httpx").removeFilter(self._redact)
            if self._runner is None:
                return
            try:
                self._runner.run(self._bot.shutdown())
            except Exception:  # closing must not fail the worker's shutdown
                log.warning("closing the Telegram bot failed", exc_info=True)
            finally:
                self._runner.close()
                self._runner = None

    def __enter__(self) -> TelegramSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------- internals

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run the coroutine `make()` on this sender's own loop, one call at a time."""
        with self._lock:
            if self._closed:
                raise RuntimeError("TelegramSender is closed")
            if self._runner is None:
                self._runner = asyncio.Runner()

            async def main() -> T:
                return await make()

            return self._runner.run(main())

    async def _api(self, make: Callable[[], Awaitable[T]]) -> T:
        """One Bot API call (after getMe on first use), errors mapped to `SendError`."""
        try:
            await self._bot.initialize()
            return await make()
        except TelegramError as exc:
            raise self._error(exc) from exc

    async def _send(self, message: OutboundMessage) -> SendResult:
        chat_id = _chat_id(message.address)
        markup = keyboard(message.options) if message.options else None
        steps: list[tuple[str, str | None]]
        if message.photo is not None:
            texts = split_text(message.body, TEXT_LIMIT, first_limit=CAPTION_LIMIT)
            caption = texts[0] if texts else None
            steps = [("photo", caption)] + [("text", part) for part in texts[1:]]
        else:
            texts = split_text(message.body, TEXT_LIMIT)
            if not texts:
                raise Permanent("empty message: nothing to send")
            steps = [("text", part) for part in texts]
        signature = (chat_id, message.photo, *steps)
        first, done = self._progress.resume(message.key, signature)
        for index in range(done, len(steps)):
            kind, text = steps[index]
            reply_markup = markup if index == len(steps) - 1 else None
            try:
                sent = await self._api(
                    partial(self._post, chat_id, kind, text, message.photo, reply_markup)
                )
            except SendError as error:
                error.partial_id = first
                raise
            if first is None:
                first = f"{chat_id}:{sent.message_id}"
            self._progress.record(message.key, signature, first, index + 1)
        self._progress.forget(message.key, signature)
        assert first is not None
        return SendResult(first)

    def _post(
        self,
        chat_id: int | str,
        kind: str,
        text: str | None,
        photo: bytes | None,
        reply_markup: InlineKeyboardMarkup | None,
    ) -> Awaitable[Message]:
        if kind == "photo":
            if photo is None:
                raise Permanent("a photo message without its image")
            return self._bot.send_photo(
                chat_id, photo=photo, caption=text, reply_markup=reply_markup
            )
        assert text is not None
        return self._bot.send_message(chat_id, text, reply_markup=reply_markup)

    def _error(self, exc: TelegramError) -> SendError:
        """Map a PTB exception to a `SendError` (order matters: BadRequest and TimedOut
        are NetworkErrors too)."""
        text = exc.message
        if isinstance(exc, RetryAfter):
            with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes timedelta
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                retry_after = _seconds(exc.retry_after)
            return Retry(f"Telegram flood control: {text}", retry_after=retry_after, code="429")
        if isinstance(exc, Forbidden):
            lowered = text.lower()
            if "blocked" in lowered or "deactivated" in lowered:
                return OptedOut(f"Telegram: {text}", code="403")
            return Permanent(f"Telegram: {text}", code="403")
        if isinstance(exc, InvalidToken):
            return Permanent(f"Telegram rejected the bot token: {text}", code="401")
        if isinstance(exc, ChatMigrated):
            return Permanent(f"Telegram chat moved to {exc.new_chat_id}", code="400")
        if isinstance(exc, BadRequest):
            return Permanent(f"Telegram: {text}", code="400")
        if isinstance(exc, TimedOut):
            return Retry(f"Telegram request timed out: {text}")
        if isinstance(exc, NetworkError):
            status = self._request.last_status
            if status is not None and 400 <= status < 500 and status != 429:
                return Permanent(f"Telegram HTTP {status}: {text}", code=str(status))
            return Retry(f"Telegram: {text}", code=str(status) if status else None)
        return Permanent(f"Telegram: {text}", code=None)
