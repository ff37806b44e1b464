"""The fake providers, watched: every send attempt is logged, every accepted message handed on.

`FakeTwilio` and `FakeTelegram` (tests/fakes) are the real HTTP servers the worker talks
to. The fault suite needs two more things from them, without changing them:

- a log of every send ATTEMPT, accepted or not (faulted, refused as opted out or blocked),
  with the moment it arrived: the suite checks that nobody was messaged after their STOP;
- a callback for every message the provider ACCEPTED, in the order it accepted them per
  recipient: the simulated residents read their phones through it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes import FakeTelegram, FakeTwilio
from tests.fakes._server import IncomingRequest, Reply, _Outcome

#: `(channel, address, text, inline keyboard or None, provider's id of the message)`: the
#: Twilio sid, or the Telegram message id (as text).
Listener = Callable[[str, str, str, dict[str, Any] | None, str], None]

TWILIO_SEND = "create"
TELEGRAM_SENDS = ("sendMessage", "sendPhoto")


@dataclass(frozen=True)
class Attempt:
    """One send request as the provider saw it: when, to whom, what, and the answer.

    `status` is None when the connection was dropped without an answer.
    """

    at: float  # time.monotonic() on arrival
    address: str
    text: str
    status: int | None


class _AttemptLog:
    """Send attempts per address, in arrival order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_address: dict[str, list[Attempt]] = defaultdict(list)

    def add(self, attempt: Attempt) -> None:
        with self._lock:
            self._by_address[attempt.address].append(attempt)

    def to(self, address: str) -> list[Attempt]:
        """The attempts to `address` so far."""
        with self._lock:
            return list(self._by_address.get(address, ()))


def _attempt(
    request: IncomingRequest,
    arrived: float,
    outcome: _Outcome,
    address_field: str,
    text_fields: tuple[str, ...],
) -> Attempt:
    """The send attempt `request` made: to its `address_field`, with the first non-empty
    of its `text_fields` (a body the fake could not parse gives empty ones)."""
    try:
        params = request.params()
    except ValueError:
        params = {}
    text = next((params[name] for name in text_fields if params.get(name)), "")
    status = outcome.reply.status if outcome.reply is not None else None
    return Attempt(arrived, str(params.get(address_field, "")), str(text), status)


class WatchedTwilio(FakeTwilio):
    """`FakeTwilio` that logs send attempts and reports accepted messages to `listener`."""

    def __init__(self, listener: Listener, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listener = listener
        self.attempts = _AttemptLog()

    def _dispatch(self, request: IncomingRequest) -> _Outcome:
        arrived = time.monotonic()
        outcome = super()._dispatch(request)
        if self._operation(request) == TWILIO_SEND:
            self.attempts.add(_attempt(request, arrived, outcome, "To", ("Body",)))
        return outcome

    def _create(self, request: IncomingRequest) -> Reply:
        reply = super()._create(request)
        if reply.status == 201:
            resource = json.loads(reply.body)
            self.listener("sms", resource["to"], resource["body"], None, resource["sid"])
        return reply


class WatchedTelegram(FakeTelegram):
    """`FakeTelegram` that logs send attempts and reports accepted messages to `listener`."""

    def __init__(self, listener: Listener, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.listener = listener
        self.attempts = _AttemptLog()

    def _dispatch(self, request: IncomingRequest) -> _Outcome:
        arrived = time.monotonic()
        outcome = super()._dispatch(request)
        if self._operation(request) in TELEGRAM_SENDS:
            self.attempts.add(_attempt(request, arrived, outcome, "chat_id", ("text", "caption")))
        return outcome

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super()._send_message(params)
        self._heard(message, message.get("text") or "")
        return message

    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super()._send_photo(params)
        self._heard(message, message.get("caption") or "")
        return message

    def _heard(self, message: dict[str, Any], text: str) -> None:
        self.listener(
            "telegram",
            str(message["chat"]["id"]),
            text,
            message.get("reply_markup"),
            str(message["message_id"]),
        )
