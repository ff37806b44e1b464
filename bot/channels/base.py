"""Values and errors shared by the channel adapters (SMS via Twilio, Telegram).

The adapters are pure of storage: a webhook or poll becomes an `InboundMessage`, an outbox
row becomes an `OutboundMessage`, and a send either returns a `SendResult` or raises a
`SendError` that tells the worker what to do next (retry later, mark the person opted out,
or give up). The worker, not the adapter, owns retries, backoff and the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from survey_flows.engine_values import Option

#: WhatsApp's error for a free-form message outside the 24-hour window: the adapter raises
#: it, a status callback reports it, and the host then sends the approved template.
WHATSAPP_OUTSIDE_WINDOW = "63016"
#: What stands in for an empty WhatsApp template variable (WhatsApp refuses those: 63013).
WHATSAPP_EMPTY_VARIABLE = "there"


class BadWebhook(ValueError):
    """A webhook body that is not what the provider sends: answer 400, do not process it."""


@dataclass(frozen=True)
class InboundMessage:
    """A message from a resident, as a webhook or poll delivered it.

    `address` is an E.164 phone number on "sms" and the chat id (as text) on "telegram".
    `provider_id` deduplicates provider retries (Twilio MessageSid, Telegram update_id).
    `button` is the data of a pressed button (decode with `telegram.button_value`);
    `callback_query_id` must be answered so the Telegram client stops its spinner.
    """

    channel: str
    address: str
    text: str
    provider_id: str
    button: str | None = None
    display_name: str | None = None
    callback_query_id: str | None = None
    callback_message_id: int | None = None

    def __post_init__(self) -> None:
        # No database text column takes U+0000 (PostgreSQL refuses it outright), and it
        # means nothing in a reply: drop it here, where every channel's messages pass.
        for name in ("text", "address", "display_name", "button", "provider_id"):
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                object.__setattr__(self, name, value.replace("\x00", ""))


@dataclass(frozen=True)
class OutboundMessage:
    """One outbox row to deliver. `key` is the row's idempotency key.

    `options` become buttons where the channel has them (on SMS the outbox has already
    listed them, numbered, in `body`). `photo` is image bytes (Telegram only; SMS sends the
    text). `template` names a pre-approved WhatsApp template ("checkin", "reminder",
    "coordinator") to send instead of `body`, filled with `variables` ("1" -> text, ...).
    """

    channel: str
    address: str
    body: str
    options: tuple[Option, ...] = ()
    photo: bytes | None = None
    key: str = ""
    template: str | None = None
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SendResult:
    """The provider's id of the (first) message it accepted."""

    provider_id: str


class SendError(Exception):
    """A send failed; the attributes say what the worker should do.

    - `retryable`: try again later (timeouts, dropped connections, HTTP 5xx and 429);
      wait at least `retry_after` seconds when the provider said so.
    - `opted_out`: the person unsubscribed or blocked the bot; never retry, mark them.
    - otherwise permanent: the provider refused the message (`code` says why).

    `code` is the provider's error code as text (Twilio "21610", Telegram "403"), or None
    for transport failures. `partial_id` is set when a message was split into several
    provider messages and some went out before the failure: the provider id of the first
    part. A retry through the same sender object resumes after the parts already sent.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        opted_out: bool = False,
        code: str | None = None,
        partial_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.opted_out = opted_out
        self.code = code
        self.partial_id = partial_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, retryable={self.retryable}, "
            f"retry_after={self.retry_after}, opted_out={self.opted_out}, code={self.code!r})"
        )


class Retry(SendError):
    """A transient failure: send again later (after `retry_after` seconds, if given)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        partial_id: str | None = None,
    ) -> None:
        super().__init__(
            message, retryable=True, retry_after=retry_after, code=code, partial_id=partial_id
        )


class OptedOut(SendError):
    """The recipient unsubscribed (Twilio 21610) or blocked/deleted (Telegram 403)."""

    def __init__(
        self, message: str, *, code: str | None = None, partial_id: str | None = None
    ) -> None:
        super().__init__(message, opted_out=True, code=code, partial_id=partial_id)


class Permanent(SendError):
    """The provider refused the message for good; sending it again will fail again."""

    def __init__(
        self, message: str, *, code: str | None = None, partial_id: str | None = None
    ) -> None:
        super().__init__(message, code=code, partial_id=partial_id)


@runtime_checkable
class Sender(Protocol):
    """What the worker needs from a channel: send, look for a lost send, close."""

    channel: str

    def send(self, message: OutboundMessage) -> SendResult:
        """Deliver `message`; raise `SendError` on failure."""
        ...

    def find_sent(
        self, message: OutboundMessage, since: datetime, exclude: Collection[str] = ()
    ) -> str | None:
        """The provider id of `message` if the provider already holds it (sent at or after
        `since`), after a crash or timeout left the outcome unknown; None when the provider
        has no such message or cannot tell. Provider ids in `exclude` belong to other rows
        (the same text sent to the same address earlier) and are never the answer."""
        ...

    def close(self) -> None:
        """Release connections (and, for Telegram, the event loop)."""
        ...


class PartProgress:
    """Remembers how far a split message got, so a retry does not resend earlier parts.

    Why: a long text goes out as several provider messages; when part 2 of 3 hits a rate
    limit, the worker retries the whole outbox row. Keyed by the row's idempotency key and
    the parts themselves, the sender skips what it already delivered. Memory only (a
    crashed process resends everything) and bounded to `capacity` keys, oldest forgotten.
    """

    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._done: OrderedDict[tuple[str, int], tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _slot(key: str, parts: tuple[object, ...]) -> tuple[str, int] | None:
        return (key, hash(parts)) if key and len(parts) > 1 else None

    def resume(self, key: str, parts: tuple[object, ...]) -> tuple[str | None, int]:
        """(provider id of the first part, number of parts already sent) for this message."""
        slot = self._slot(key, parts)
        with self._lock:
            if slot is None or slot not in self._done:
                return None, 0
            first, count = self._done[slot]
            return first, count

    def record(self, key: str, parts: tuple[object, ...], first: str, count: int) -> None:
        """Note that `count` parts went out, the first with provider id `first`."""
        slot = self._slot(key, parts)
        if slot is None:
            return
        with self._lock:
            self._done[slot] = (first, count)
            self._done.move_to_end(slot)
            while len(self._done) > self._capacity:
                self._done.popitem(last=False)

    def forget(self, key: str, parts: tuple[object, ...]) -> None:
        """The message is complete: drop its entry."""
        slot = self._slot(key, parts)
        if slot is not None:
            with self._lock:
                self._done.pop(slot, None)
