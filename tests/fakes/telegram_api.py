"""A fake Telegram Bot API server for driving the real python-telegram-bot 22.x client.

Why: tests must exercise PTB's real ``Bot`` over real HTTP with no internet. The fake speaks the
Bot API wire protocol: ``/bot<TOKEN>/<method>`` accepting query strings, url-encoded forms
(what PTB sends; ``reply_markup`` arrives as a JSON string), JSON bodies and multipart
uploads, and answering ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ...}`` with Telegram's own descriptions, so PTB raises its real exceptions.

Pointing the real client at the fake (checked against PTB 22.8 ``telegram/_bot.py``)::

    from telegram import Bot

    with FakeTelegram(token="123:ABC") as fake:
        bot = Bot("123:ABC", base_url=fake.base_url + "/bot")   # == fake.bot_base_url
        async with bot:              # Bot.initialize() calls getMe
            await bot.send_message(chat_id=42, text="Hi")

PTB appends the token to ``base_url`` (``_parse_base_url``: ``value + token``, unless the
string contains ``{token}``) and posts to ``f"{base_url}/{method}"``. Files use
``base_file_url`` (``fake.base_url + "/file/bot"``), which the fake does not serve. For client
timeouts pass ``request=HTTPXRequest(read_timeout=0.2)`` (and ``get_updates_request=`` for
polling). :meth:`FakeTelegram.bot` builds such a ``Bot``.

What PTB raises for the fake's answers: 429 with ``parameters.retry_after`` ->
``telegram.error.RetryAfter``; 403 -> ``Forbidden``; 400 -> ``BadRequest``; 401/404 ->
``InvalidToken``; 409 -> ``Conflict``; 5xx -> ``NetworkError``; a dropped connection ->
``NetworkError``; a hang longer than the read timeout -> ``TimedOut`` (a ``NetworkError``).

Methods: getMe, sendMessage, sendPhoto, editMessageText, editMessageReplyMarkup,
answerCallbackQuery, setWebhook, deleteWebhook, getWebhookInfo, getUpdates (long polling with
``offset``/``limit``/``timeout``/``allowed_updates``), plus sendChatAction, setMyCommands and
deleteMyCommands answered ``true``. Method names are case-insensitive, as on Telegram.
Unknown methods get 404 "Not Found", a wrong token 401 "Unauthorized".
Realistic checks: text 1-4096 UTF-16 units ("Bad Request: message text is empty" / "message is
too long"), caption <= 1024, callback_data 1-64 bytes ("Bad Request: BUTTON_DATA_INVALID"),
webhook URLs must be https, getUpdates while a webhook is set -> 409 Conflict. Message ids
count up per chat (also past ids seen in pushed updates); the returned ``Message`` echoes
only inline keyboards as ``reply_markup``, as Telegram does.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
import zlib
from collections import defaultdict
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ._server import DEFAULT_WAIT, FakeServer, Fault, IncomingRequest, Reply, UploadedFile

if TYPE_CHECKING:
    from collections.abc import Callable

    from telegram import Bot

__all__ = [
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_TOKEN",
    "FakeTelegram",
    "TelegramAPIError",
    "telegram_callback_update",
    "telegram_text_update",
]

DEFAULT_TOKEN = "123:ABC"
DEFAULT_BOT_USERNAME = "groundswell_test_bot"
DEFAULT_BOT_FIRST_NAME = "Groundswell"

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024

ChatId = int | str


class TelegramAPIError(Exception):
    """Raised inside the fake to answer a Bot API error; carries status and description."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def reply(self) -> Reply:
        """The wire answer: ``{"ok": false, "error_code", "description"[, "parameters"]}``."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return Reply.json(self.status, body)


def _bad_request(detail: str) -> TelegramAPIError:
    return TelegramAPIError(400, f"Bad Request: {detail}")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _bot_user(bot_id: int, first_name: str, username: str) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def _private_chat(
    chat_id: int, first_name: str, username: str | None, last_name: str | None
) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "first_name": first_name, "type": "private"}
    if last_name:
        chat["last_name"] = last_name
    if username:
        chat["username"] = username
    return chat


def _user(
    user_id: int, first_name: str, username: str | None, last_name: str | None
) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    user["language_code"] = "en"
    return user


def telegram_text_update(
    update_id: int,
    chat_id: int,
    text: str,
    first_name: str = "Sam",
    *,
    message_id: int | None = None,
    date: int | None = None,
    username: str | None = None,
    last_name: str | None = None,
) -> dict[str, Any]:
    """An ``Update`` dict for a resident's text message in a private chat, as Telegram sends it.

    In private chats the user id equals the chat id. Texts starting with ``/`` carry the
    ``bot_command`` entity Telegram adds (PTB's ``CommandHandler`` relies on it), e.g.
    ``/start CODE`` from a deep link. ``message_id`` defaults to ``update_id``.
    """
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else update_id,
        "from": _user(chat_id, first_name, username, last_name),
        "chat": _private_chat(chat_id, first_name, username, last_name),
        "date": date if date is not None else int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"offset": 0, "length": _utf16_len(command), "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def telegram_callback_update(
    update_id: int,
    chat_id: int,
    data: str,
    message_id: int,
    *,
    first_name: str = "Sam",
    callback_id: str | None = None,
    message_text: str = "Pick one:",
    reply_markup: dict[str, Any] | None = None,
    bot_id: int | None = None,
    bot_username: str = DEFAULT_BOT_USERNAME,
    date: int | None = None,
) -> dict[str, Any]:
    """An ``Update`` dict for a press on an inline-keyboard button under bot message
    ``message_id``: a ``callback_query`` with ``data`` (1-64 bytes, as Telegram enforces).

    ``bot_id`` defaults to the id in :data:`DEFAULT_TOKEN`. The embedded message is the bot's
    own, so its ``from`` is the bot; answer the query with ``answerCallbackQuery``.
    """
    if not 1 <= len(data.encode("utf-8")) <= 64:
        raise ValueError("callback data must be 1-64 bytes; Telegram would never deliver this")
    bot_id = bot_id if bot_id is not None else int(DEFAULT_TOKEN.split(":")[0])
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": _bot_user(bot_id, DEFAULT_BOT_FIRST_NAME, bot_username),
        "chat": _private_chat(chat_id, first_name, None, None),
        "date": date if date is not None else int(time.time()),
        "text": message_text,
    }
    if reply_markup is not None:
        message["reply_markup"] = reply_markup
    return {
        "update_id": update_id,
        "callback_query": {
            "id": callback_id or str(zlib.crc32(f"{chat_id}:{update_id}".encode()) * 1000 + 7),
            "from": _user(chat_id, first_name, None, None),
            "message": message,
            "chat_instance": str(zlib.crc32(str(chat_id).encode())),
            "data": data,
        },
    }


def _parse_chat_id(value: Any) -> ChatId:
    if value is None or value == "":
        raise _bad_request("chat_id is empty")
    if isinstance(value, int):
        return value
    text = str(value)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith("@"):
        return text
    raise _bad_request("chat not found")


def _json_field(value: Any, what: str) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _bad_request(f"can't parse {what} JSON object") from None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise _bad_request("BUTTON_DATA_INVALID")
    return markup


def _check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise _bad_request("message text is empty")
    if _utf16_len(text) > _TEXT_LIMIT:
        raise _bad_request("message is too long")
    return text


class FakeTelegram(FakeServer):
    """A fake ``api.telegram.org`` Bot API for one bot token, on 127.0.0.1.

    Use as a context manager; point PTB at ``bot_base_url`` (``base_url + "/bot"``).
    Thread-safe. Attributes and helpers:

    * ``sent``: snapshot list of messages the bot sent (sendMessage/sendPhoto), each a dict
      with ``method``, ``chat_id``, ``text``, ``caption``, ``parse_mode``, ``reply_markup``
      (parsed), ``photo`` (bytes or str), ``params`` (everything received), ``received_at``
      (``time.monotonic()`` on arrival) and ``message`` (the Message object answered);
      ``wait_for_sent(n)`` blocks until ``n`` were sent.
    * ``edits``, ``callback_answers`` (with ``wait_for_callback_answers(n)``), ``webhook``
      (current setWebhook parameters or ``None``), ``requests``/``wait_for_requests``.
    * ``push_update(update)`` queues an update for ``getUpdates``; ``pending_updates``;
      ``wait_for_pollers(n)`` blocks until ``n`` getUpdates long polls are waiting.
    * faults: ``fail_next(n, status=500)``, ``rate_limit_next(n, retry_after=1)``,
      ``hang_next(n, seconds)``, ``drop_next(n)`` (``only="sendMessage"`` to target a method);
      ``blocked(chat_id)``, ``deactivated(chat_id)``, ``chat_not_found(chat_id)``.
    * ``set_chat(chat_id, first_name=..., username=...)`` names a private chat.
    * ``bot(read_timeout=...)`` builds a real ``telegram.Bot`` pointed at the fake.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        if ":" not in token or not token.split(":")[0].isdigit():
            raise ValueError("a bot token looks like '123456:ABC-DEF...'")
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.bot_user = _bot_user(self.bot_id, bot_first_name, bot_username)
        self._sent: list[dict[str, Any]] = []
        self._edits: list[dict[str, Any]] = []
        self._callback_answers: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._webhook: dict[str, Any] | None = None
        self._pollers = 0
        self._last_message_id: dict[ChatId, int] = defaultdict(int)
        self._messages: dict[tuple[ChatId, int], dict[str, Any]] = {}
        self._chats: dict[ChatId, dict[str, Any]] = {}
        self._chat_errors: dict[ChatId, TelegramAPIError] = {}
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "sendChatAction": self._accept,
                "setMyCommands": self._accept,
                "deleteMyCommands": self._accept,
            }.items()
        }

    # ----------------------------------------------------------------- test-facing API

    @property
    def bot_base_url(self) -> str:
        """The value for ``telegram.Bot(token, base_url=...)``: ``base_url + "/bot"``."""
        return self.base_url + "/bot"

    def bot(self, *, read_timeout: float | None = None, **kwargs: Any) -> Bot:
        """A real ``telegram.Bot`` for this fake's token, pointed at the fake.

        ``read_timeout`` (seconds) applies to ordinary calls and to ``get_updates`` (PTB adds
        the long-poll ``timeout`` on top); other keyword arguments go to ``Bot``.
        """
        from telegram import Bot
        from telegram.request import HTTPXRequest

        if read_timeout is not None:
            kwargs.setdefault("request", HTTPXRequest(read_timeout=read_timeout))
            kwargs.setdefault("get_updates_request", HTTPXRequest(read_timeout=read_timeout))
        return Bot(
            self.token,
            base_url=self.bot_base_url,
            base_file_url=self.base_url + "/file/bot",
            **kwargs,
        )

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Snapshot of every message the bot sent, oldest first (copies: safe to keep)."""
        with self._cond:
            return copy.deepcopy(self._sent)

    def wait_for_sent(self, n: int, *, timeout: float = DEFAULT_WAIT) -> list[dict[str, Any]]:
        """Block until at least ``n`` messages were sent; return the snapshot."""

        def enough() -> list[dict[str, Any]] | None:
            return copy.deepcopy(self._sent) if len(self._sent) >= n else None

        return self._wait_until(enough, timeout, f"{n} sent message(s)")

    @property
    def edits(self) -> list[dict[str, Any]]:
        """Snapshot of editMessageText / editMessageReplyMarkup calls that succeeded."""
        with self._cond:
            return copy.deepcopy(self._edits)

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        """Snapshot of answerCallbackQuery calls (``callback_query_id``, ``text``, ...)."""
        with self._cond:
            return copy.deepcopy(self._callback_answers)

    def wait_for_callback_answers(
        self, n: int, *, timeout: float = DEFAULT_WAIT
    ) -> list[dict[str, Any]]:
        """Block until at least ``n`` callback queries were answered; return the snapshot."""

        def enough() -> list[dict[str, Any]] | None:
            answers = self._callback_answers
            return copy.deepcopy(answers) if len(answers) >= n else None

        return self._wait_until(enough, timeout, f"{n} answerCallbackQuery call(s)")

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The parameters of the last successful setWebhook, or ``None`` if none is set."""
        with self._cond:
            return copy.deepcopy(self._webhook)

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an ``Update`` dict for ``getUpdates`` and wake any long poll waiting for it."""
        if "update_id" not in update:
            raise ValueError("an Update needs an update_id")
        with self._cond:
            self._updates.append(copy.deepcopy(update))
            self._updates.sort(key=lambda u: u["update_id"])
            message = update.get("message") or update.get("edited_message")
            if message and "chat" in message:
                chat_id = message["chat"]["id"]
                last = self._last_message_id[chat_id]
                self._last_message_id[chat_id] = max(last, int(message["message_id"]))
            self._cond.notify_all()

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates ``offset``."""
        with self._cond:
            return copy.deepcopy(self._updates)

    def wait_for_pollers(self, n: int = 1, *, timeout: float = DEFAULT_WAIT) -> int:
        """Block until at least ``n`` getUpdates calls are parked in a long poll.

        Lets a test push an update *after* the client started polling, without sleeping.
        """

        def enough() -> int | None:
            return self._pollers if self._pollers >= n else None

        return self._wait_until(enough, timeout, f"{n} waiting getUpdates long poll(s)")

    def set_chat(
        self,
        chat_id: int,
        *,
        first_name: str = "Sam",
        username: str | None = None,
        last_name: str | None = None,
    ) -> None:
        """Name the private chat ``chat_id`` (by default every chat is "Sam")."""
        with self._cond:
            self._chats[chat_id] = _private_chat(chat_id, first_name, username, last_name)

    def blocked(self, chat_id: ChatId) -> None:
        """Sends to ``chat_id`` fail with 403 "Forbidden: bot was blocked by the user"."""
        self._set_chat_error(
            chat_id, TelegramAPIError(403, "Forbidden: bot was blocked by the user")
        )

    def deactivated(self, chat_id: ChatId) -> None:
        """Sends to ``chat_id`` fail with 403 "Forbidden: user is deactivated"."""
        self._set_chat_error(chat_id, TelegramAPIError(403, "Forbidden: user is deactivated"))

    def chat_not_found(self, chat_id: ChatId) -> None:
        """Sends to ``chat_id`` fail with 400 "Bad Request: chat not found"."""
        self._set_chat_error(chat_id, _bad_request("chat not found"))

    def unblocked(self, chat_id: ChatId) -> None:
        """Undo :meth:`blocked`, :meth:`deactivated` or :meth:`chat_not_found`."""
        with self._cond:
            self._chat_errors.pop(chat_id, None)

    def _set_chat_error(self, chat_id: ChatId, error: TelegramAPIError) -> None:
        with self._cond:
            self._chat_errors[chat_id] = error

    # ----------------------------------------------------------------- FakeServer hooks

    def _operation(self, request: IncomingRequest) -> str | None:
        match = _PATH.match(request.path)
        if not match:
            return None
        known = self._methods.get(match["method"].lower())
        return known[0] if known else match["method"]

    def _fault_reply(self, fault: Fault) -> Reply:
        if fault.kind == "rate_limit":
            error = TelegramAPIError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        else:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            error = TelegramAPIError(fault.status, fault.message or phrase)
        return error.reply()

    def _handle(self, request: IncomingRequest) -> Reply:
        match = _PATH.match(request.path)
        if not match:
            return TelegramAPIError(404, "Not Found").reply()
        if match["token"] != self.token:
            return TelegramAPIError(401, "Unauthorized").reply()
        known = self._methods.get(match["method"].lower())
        if known is None:
            return TelegramAPIError(404, "Not Found").reply()
        try:
            params = request.params()
        except ValueError:
            return _bad_request("can't parse JSON object").reply()
        try:
            result = known[1](params)
        except TelegramAPIError as error:
            return error.reply()
        if isinstance(result, tuple):  # (result, description)
            return Reply.json(200, {"ok": True, "result": result[0], "description": result[1]})
        return Reply.json(200, {"ok": True, "result": result})

    # ----------------------------------------------------------------- helpers

    def _chat(self, chat_id: ChatId) -> dict[str, Any]:
        if isinstance(chat_id, str):  # @channelusername
            return {
                "id": -1000000000000 - zlib.crc32(chat_id.encode()),
                "title": chat_id[1:],
                "username": chat_id[1:],
                "type": "channel",
            }
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "title": f"Group {chat_id}", "type": kind}
        return copy.deepcopy(self._chats.get(chat_id) or _private_chat(chat_id, "Sam", None, None))

    def _check_chat(self, chat_id: ChatId) -> None:
        error = self._chat_errors.get(chat_id)
        if error is not None:
            raise error

    def _new_message(
        self, chat_id: ChatId, markup: dict[str, Any] | None, **content: Any
    ) -> dict[str, Any]:
        """Build the bot's Message; the caller holds ``self._cond``."""
        self._last_message_id[chat_id] += 1
        message: dict[str, Any] = {
            "message_id": self._last_message_id[chat_id],
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup and "inline_keyboard" in markup:  # Telegram echoes inline keyboards only
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _record_sent(
        self, method: str, chat_id: ChatId, params: dict[str, Any], **extra: Any
    ) -> None:
        """Store a sent-message record and wake waiters; the caller holds ``self._cond``."""
        record = {
            "method": method,
            "chat_id": chat_id,
            "text": None,
            "caption": None,
            "parse_mode": params.get("parse_mode"),
            "reply_markup": None,
            "photo": None,
            "params": {k: v for k, v in params.items() if not isinstance(v, UploadedFile)},
            "received_at": time.monotonic(),  # precise, for rate-limit checks
            **extra,
        }
        self._sent.append(record)
        self._cond.notify_all()

    # ----------------------------------------------------------------- Bot API methods

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _accept(self, params: dict[str, Any]) -> bool:
        return True

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _parse_chat_id(params.get("chat_id"))
        text = _check_text(params.get("text"))
        markup = _check_markup(_json_field(params.get("reply_markup"), "reply keyboard markup"))
        with self._cond:
            self._check_chat(chat_id)
            message = self._new_message(chat_id, markup, text=text)
            self._record_sent(
                "sendMessage",
                chat_id,
                params,
                text=text,
                reply_markup=copy.deepcopy(markup),
                message=copy.deepcopy(message),
            )
            return message

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _parse_chat_id(params.get("chat_id"))
        photo = params.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = params.get(photo.removeprefix("attach://"))
        if not photo:
            raise _bad_request("there is no photo in the request")
        caption = params.get("caption")
        if caption is not None and _utf16_len(str(caption)) > _CAPTION_LIMIT:
            raise _bad_request("message caption is too long")
        markup = _check_markup(_json_field(params.get("reply_markup"), "reply keyboard markup"))
        size = len(photo.data) if isinstance(photo, UploadedFile) else 0
        unique = uuid.uuid4().hex[:16]
        sizes = [
            {"file_id": f"AgAC{unique}{w}", "file_unique_id": f"AQAD{unique}{w}",
             "file_size": max(1, size * w // 1280), "width": w, "height": w * 3 // 4}
            for w in (90, 320, 800, 1280)
        ]  # fmt: skip
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        with self._cond:
            self._check_chat(chat_id)
            message = self._new_message(chat_id, markup, **content)
            self._record_sent(
                "sendPhoto",
                chat_id,
                params,
                caption=caption,
                reply_markup=copy.deepcopy(markup),
                photo=photo.data if isinstance(photo, UploadedFile) else photo,
                filename=photo.filename if isinstance(photo, UploadedFile) else None,
                message=copy.deepcopy(message),
            )
            return message

    def _edit(self, method: str, params: dict[str, Any], **changes: Any) -> dict[str, Any] | bool:
        markup = _check_markup(_json_field(params.get("reply_markup"), "reply keyboard markup"))
        if params.get("inline_message_id"):
            with self._cond:
                self._edits.append({"method": method, "params": dict(params), "message": None})
                self._cond.notify_all()
            return True
        chat_id = _parse_chat_id(params.get("chat_id"))
        try:
            message_id = int(params.get("message_id") or 0)
        except ValueError:
            raise _bad_request("message identifier is not specified") from None
        if message_id <= 0:
            raise _bad_request("message identifier is not specified")
        with self._cond:
            self._check_chat(chat_id)
            # Lenient: tests may press buttons on messages this fake never sent.
            old = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id,
                "from": dict(self.bot_user),
                "chat": self._chat(chat_id),
                "date": int(time.time()),
            }
            new = {k: v for k, v in old.items() if k not in ("reply_markup", "edit_date")}
            new.update(changes)
            if markup and "inline_keyboard" in markup:
                new["reply_markup"] = markup
            unchanged = {k: v for k, v in old.items() if k != "edit_date"}
            if new == unchanged:
                raise _bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            new["edit_date"] = int(time.time())
            self._messages[(chat_id, message_id)] = new
            self._edits.append(
                {"method": method, "params": dict(params), "message": copy.deepcopy(new)}
            )
            self._cond.notify_all()
            return new

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit("editMessageText", params, text=_check_text(params.get("text")))

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        return self._edit("editMessageReplyMarkup", params)

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        answer = {
            "callback_query_id": str(query_id),
            "text": params.get("text"),
            "show_alert": _bool(params.get("show_alert", False)),
            "url": params.get("url"),
            "cache_time": int(params.get("cache_time") or 0),
        }
        with self._cond:
            self._callback_answers.append(answer)
            self._cond.notify_all()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> tuple[bool, str]:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if not url.lower().startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        allowed = _json_field(params.get("allowed_updates"), "allowed updates")
        with self._cond:
            if _bool(params.get("drop_pending_updates", False)):
                self._updates.clear()
            self._webhook = {
                "url": url,
                "secret_token": secret,
                "max_connections": int(params.get("max_connections") or 40),
                "allowed_updates": allowed,
                "ip_address": params.get("ip_address"),
                "has_custom_certificate": isinstance(params.get("certificate"), UploadedFile),
            }
            self._cond.notify_all()
        return True, "Webhook was set"

    def _delete_webhook(self, params: dict[str, Any]) -> tuple[bool, str]:
        with self._cond:
            if _bool(params.get("drop_pending_updates", False)):
                self._updates.clear()
            was_set, self._webhook = self._webhook is not None, None
            self._cond.notify_all()
        return True, "Webhook was deleted" if was_set else "Webhook is already deleted"

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            hook = self._webhook
            info: dict[str, Any] = {
                "url": hook["url"] if hook else "",
                "has_custom_certificate": bool(hook and hook["has_custom_certificate"]),
                "pending_update_count": len(self._updates),
            }
            if hook:
                info["max_connections"] = hook["max_connections"]
                info["ip_address"] = hook["ip_address"] or "127.0.0.1"
                if hook["allowed_updates"]:
                    info["allowed_updates"] = hook["allowed_updates"]
            return info

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            offset = int(params.get("offset") or 0)
            limit = max(1, min(100, int(params.get("limit") or 100)))
            timeout = max(0.0, float(params.get("timeout") or 0))
        except ValueError:
            raise _bad_request("wrong parameter value") from None
        allowed = _json_field(params.get("allowed_updates"), "allowed updates") or []

        def wanted(update: dict[str, Any]) -> bool:
            return not allowed or any(key in allowed for key in update if key != "update_id")

        def available() -> list[dict[str, Any]] | None:
            if self._webhook is not None:
                raise TelegramAPIError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if offset > 0:  # confirms (forgets) every update below offset
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:  # only the last -offset updates; older ones are forgotten
                self._updates = self._updates[offset:]
            found = [u for u in self._updates if wanted(u)][:limit]
            return found or None

        with self._cond:
            self._pollers += 1
            self._cond.notify_all()
            try:
                found = self._cond.wait_for(
                    lambda: self._closing.is_set() or available(), timeout=timeout
                )
            finally:
                self._pollers -= 1
            if found is True or not found:  # closing, or the long poll ran out
                return []
            return copy.deepcopy(found)
