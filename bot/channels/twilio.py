"""The SMS channel through Twilio: sending, finding a lost send, and reading webhooks.

Sending uses the real `twilio.rest.Client` over our own `TwilioHttpClient` (so timeouts
apply and a 429's Retry-After header is not lost). Errors become `SendError`s:
transport failures, 5xx and 429 are retryable, 21610 means opted out, other 4xx are
permanent. Webhooks are verified with Twilio's `RequestValidator` and parsed into
`InboundMessage`s; nothing here touches the database.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from bot.channels.rendering import split_text
from survey_flows.engine_values import ChannelTraits

log = logging.getLogger(__name__)

CHANNEL = "sms"
WHATSAPP_CHANNEL = "whatsapp"
#: Twilio answers STOP/START/HELP itself on long codes (and with Advanced Opt-Out).
TRAITS = ChannelTraits(confirms_opt_out=True)
#: Twilio refuses bodies over 1,600 characters (error 21617); longer texts are split.
BODY_LIMIT = 1600
#: Error code for sends to a number that texted STOP.
OPTED_OUT_CODE = 21610
STATUS_PATH = "/webhooks/twilio/status"
#: How many recent messages to a number `find_sent` inspects at most.
FIND_SENT_SCAN = 200
#: What marks a WhatsApp address in Twilio's API and webhooks.
WHATSAPP_PREFIX = "whatsapp:"
#: A WhatsApp sender's number, as Twilio writes it after the prefix.
_E164 = re.compile(r"\+[1-9]\d{6,14}")
#: The WhatsApp templates a deployment may name (TWILIO_WHATSAPP_TEMPLATE_<PURPOSE>).
TEMPLATE_PURPOSES = ("checkin", "reminder", "coordinator")
#: WhatsApp allows at most three quick-reply buttons in a session message.
QUICK_REPLY_MAX = 3


def _without_prefix(number: str | None) -> str | None:
    return number.removeprefix(WHATSAPP_PREFIX) if number else None


@dataclass(frozen=True)
class TwilioSettings:
    """Credentials and addresses for Twilio. The auth token never appears in repr or logs."""

    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_url: str | None = None  # tests: the fake's base URL; None for api.twilio.com
    status_callback_url: str | None = None
    #: The WhatsApp sender's number (E.164, without the `whatsapp:` prefix).
    whatsapp_from: str | None = None
    #: WhatsApp template purpose ("checkin", "reminder", "coordinator") -> Content SID (HX...).
    whatsapp_templates: Mapping[str, str] = field(default_factory=dict)
    #: Number of buttons (1-3) -> Content SID of a twilio/quick-reply content whose body is
    #: {{1}}, button titles {{2}}.. and ids after them (see `bot.channels.whatsapp`).
    whatsapp_quick_replies: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TwilioSettings:
        """Read TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM,
        TWILIO_MESSAGING_SERVICE_SID, TWILIO_API_URL and GROUNDSWELL_PUBLIC_URL (the status
        callback is that URL plus /webhooks/twilio/status); for WhatsApp
        TWILIO_WHATSAPP_FROM, the template Content SIDs TWILIO_WHATSAPP_TEMPLATE_CHECKIN,
        _REMINDER and _COORDINATOR, and the quick-reply contents TWILIO_WHATSAPP_QUICK_REPLY_1
        to _3. Empty values count as unset."""

        def get(name: str) -> str | None:
            value = (environ.get(name) or "").strip()
            return value or None

        public = get("GROUNDSWELL_PUBLIC_URL")
        return cls(
            account_sid=get("TWILIO_ACCOUNT_SID") or "",
            auth_token=get("TWILIO_AUTH_TOKEN") or "",
            from_number=get("TWILIO_FROM"),
            messaging_service_sid=get("TWILIO_MESSAGING_SERVICE_SID"),
            api_url=get("TWILIO_API_URL"),
            status_callback_url=public.rstrip("/") + STATUS_PATH if public else None,
            whatsapp_from=_without_prefix(get("TWILIO_WHATSAPP_FROM")),
            whatsapp_templates={
                purpose: sid
                for purpose in TEMPLATE_PURPOSES
                if (sid := get(f"TWILIO_WHATSAPP_TEMPLATE_{purpose.upper()}"))
            },
            whatsapp_quick_replies={
                count: sid
                for count in range(1, QUICK_REPLY_MAX + 1)
                if (sid := get(f"TWILIO_WHATSAPP_QUICK_REPLY_{count}"))
            },
        )

    @property
    def configured(self) -> bool:
        """Whether SMS can be sent: account, token, and a sender number or service."""
        return bool(
            self.account_sid
            and self.auth_token
            and (self.from_number or self.messaging_service_sid)
        )

    @property
    def whatsapp_configured(self) -> bool:
        """Whether WhatsApp can be sent: account, token and a WhatsApp sender number."""
        return bool(self.account_sid and self.auth_token and self.whatsapp_from)

    @property
    def missing(self) -> list[str]:
        """Names of the environment variables still needed (for a clear start-up error)."""
        needed = []
        if not self.account_sid:
            needed.append("TWILIO_ACCOUNT_SID")
        if not self.auth_token:
            needed.append("TWILIO_AUTH_TOKEN")
        if not (self.from_number or self.messaging_service_sid):
            needed.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        return needed


class _HttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """`TwilioHttpClient` that keeps the last response's headers, per thread.

    Why: `TwilioRestException` carries status and code but not headers, and a 429's
    `Retry-After` is the only word on how long to back off.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._local.headers = None
        response = super().request(*args, **kwargs)
        self._local.headers = response.headers
        return response

    @property
    def last_headers(self) -> Mapping[str, str] | None:
        return getattr(self._local, "headers", None)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def render_sms(message: OutboundMessage) -> list[str]:
    """The SMS bodies for `message`, split at 1,600 characters. A choice question's numbered
    options are already in its body (`bot.delivery.outbox.for_channel` renders them)."""
    return split_text(message.body, BODY_LIMIT)


class TwilioSender:
    """Sends SMS through the real Twilio client; one instance per worker is enough.

    `timeout` (seconds) bounds each HTTP request. Thread-safe as far as `requests` is.
    """

    channel = CHANNEL

    def __init__(self, settings: TwilioSettings, timeout: float = 10) -> None:
        self._check(settings)
        self.settings = settings
        self._http = _HttpClient(timeout=timeout)
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        if settings.api_url:
            # Client has no base-URL argument; edge/region would rewrite the host name.
            self._client.api.base_url = settings.api_url.rstrip("/")
            self._client.edge = None
            self._client.region = None
        self._progress = PartProgress()

    @staticmethod
    def _check(settings: TwilioSettings) -> None:
        if not settings.configured:
            raise ValueError("Twilio is not configured: set " + ", ".join(settings.missing))

    @property
    def limit_name(self) -> str:
        """The sender its rate limit belongs to: the number, or the Messaging Service."""
        return str(self.settings.messaging_service_sid or self.settings.from_number)

    def _route(self, to: str) -> dict[str, Any]:
        """The recipient and sender arguments of `messages.create` for `to`."""
        if self.settings.messaging_service_sid:
            return {"to": to, "messaging_service_sid": self.settings.messaging_service_sid}
        return {"to": to, "from_": self.settings.from_number}

    def _list_filters(self, to: str) -> dict[str, Any]:
        """The `messages.stream` filters that find what we sent to `to`."""
        filters: dict[str, Any] = {"to": to}
        if self.settings.from_number and not self.settings.messaging_service_sid:
            filters["from_"] = self.settings.from_number
        return filters

    def send(self, message: OutboundMessage) -> SendResult:
        """Send `message` as one SMS (several if over 1,600 characters); return the first sid.

        A photo cannot be attached (Twilio MMS needs a public media URL): the text goes alone.
        """
        bodies = render_sms(message)
        if not bodies:
            raise Permanent("empty message: nothing to send", code=None)
        if message.photo is not None:
            log.warning("SMS cannot carry an uploaded photo; sending the text of %s", message.key)
        parts = tuple(bodies)
        first, done = self._progress.resume(message.key, parts)
        for index in range(done, len(parts)):
            try:
                sid = self._create(message.address, parts[index])
            except SendError as error:
                error.partial_id = first
                raise
            if first is None:
                first = sid
            self._progress.record(message.key, parts, first, index + 1)
        self._progress.forget(message.key, parts)
        assert first is not None
        return SendResult(first)

    def _create(self, to: str, body: str) -> str:
        return self._call_create({**self._route(to), "body": body})

    def _call_create(self, kwargs: dict[str, Any]) -> str:
        """`messages.create(**kwargs)` plus the status callback; the new message's sid."""
        if self.settings.status_callback_url:
            kwargs["status_callback"] = self.settings.status_callback_url
        try:
            created = self._client.messages.create(**kwargs)
        except Exception as exc:
            raise self._error(exc) from exc
        if not created.sid:
            raise Retry("Twilio accepted the request but returned no sid")
        return str(created.sid)

    def find_sent(
        self, message: OutboundMessage, since: datetime, exclude: Collection[str] = ()
    ) -> str | None:
        """The sid of the message's first part if Twilio holds every part of it, sent to
        this number at or after `since` and not one of the sids in `exclude` (other rows'
        messages: the same text may have gone to the same number before); else None.

        Lists up to 200 messages by recipient and compares `date_created` and the bodies.
        A `DateSent` filter would miss messages still queued, which are exactly the ones a
        crashed send leaves behind. `since` is compared to the second (Twilio's precision);
        a naive `since` is taken as UTC. Pass a moment a little before the send started.

        A long text split into parts may have got only partway before the crash: then the
        parts found are remembered, None is returned, and the next `send` of the message
        sends only the parts that are missing.
        """
        parts = tuple(render_sms(message))
        if not parts:
            return None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        since = since.astimezone(UTC).replace(microsecond=0)
        filters = self._list_filters(message.address)
        sids: dict[str, str] = {}  # body -> sid of the earliest-listed match
        try:
            for record in self._client.messages.stream(
                **filters, limit=FIND_SENT_SCAN, page_size=50
            ):
                created = record.date_created
                if created is None or created < since:
                    continue  # no early stop: Twilio's order for queued messages is unclear
                if (record.direction or "").startswith("inbound") or record.sid in exclude:
                    continue
                sids.setdefault((record.body or "").strip(), str(record.sid))
        except Exception as exc:
            raise self._error(exc) from exc
        found = 0
        while found < len(parts) and parts[found].strip() in sids:
            found += 1
        if found == 0:
            return None
        first = sids[parts[0].strip()]
        if found < len(parts):
            self._progress.record(message.key, parts, first, found)
            return None
        return first

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _error(self, exc: Exception) -> SendError:
        """Map what the client raised to a `SendError`."""
        answer = _http_error(exc)
        if answer is not None:
            status, code, text = answer
            detail = f"Twilio HTTP {status}, error {code}: {text}"
            if code == str(OPTED_OUT_CODE):
                return OptedOut(detail, code=code)
            if status == 429 or status >= 500:
                return Retry(detail, retry_after=self._retry_after(), code=code)
            return Permanent(detail, code=code)
        if isinstance(exc, requests.Timeout):
            return Retry(f"Twilio request timed out: {type(exc).__name__}")
        if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            return Retry(f"Twilio connection failed: {type(exc).__name__}")
        if isinstance(exc, requests.RequestException | TwilioException):
            return Permanent(f"cannot call Twilio: {type(exc).__name__}: {exc}")
        if isinstance(exc, json.JSONDecodeError):  # a garbled answer: it may have gone out
            return Retry(f"unreadable answer from Twilio: {exc}")
        raise exc

    def _retry_after(self) -> float | None:
        headers = self._http.last_headers
        return _parse_retry_after(headers.get("Retry-After") if headers else None)


def _http_error(exc: Exception) -> tuple[int, str, str] | None:
    """(HTTP status, Twilio error code, message) when Twilio answered with an error.

    Covers `TwilioRestException` (create, fetch), `TwilioServiceException` (RFC 9457
    answers) and the bare `TwilioException("Unable to fetch page", response)` of listing.
    """
    if isinstance(exc, TwilioRestException):
        status = int(exc.status)
        return status, str(exc.code if exc.code is not None else status), str(exc.msg)
    if isinstance(exc, TwilioServiceException):
        return int(exc.status), str(exc.code), str(exc.detail or exc.title)
    if isinstance(exc, TwilioException) and len(exc.args) >= 2:
        response = exc.args[1]
        http_status = getattr(response, "status_code", None)
        if isinstance(http_status, int):
            try:
                payload = json.loads(response.text)
            except (TypeError, ValueError):
                payload = {}
            payload = payload if isinstance(payload, dict) else {}
            code = payload.get("code", http_status)
            return http_status, str(code), f"{exc.args[0]}: {payload.get('message', '')}"
    return None


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


# --- webhooks ------------------------------------------------------------------------


def verify_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether `signature` (X-Twilio-Signature) signs this request with `auth_token`.

    `url` must be the URL Twilio called, scheme and query included: build it from the
    configured public URL behind a proxy. `params` are all POST parameters as received
    (a Flask MultiDict works too: repeated names are covered).
    """
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def _required(params: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = params.get(name)
        if value is not None:
            return str(value)
    raise BadWebhook(f"Twilio webhook without {' or '.join(names)}")


def parse_inbound(params: Mapping[str, str]) -> InboundMessage:
    """An incoming SMS or WhatsApp webhook as an `InboundMessage` (MessageSid, From, Body).

    A `From` starting `whatsapp:` is WhatsApp: the address is the number without the
    prefix, `ProfileName` the display name, and a pressed button (`ButtonPayload`, else
    `ButtonText`) is read as if typed, so a button and the same word typed answer alike.
    Raises `BadWebhook` when a field Twilio always sends is missing. An empty Body (an MMS
    with only a picture) gives empty text.
    """
    sid = _required(params, "MessageSid", "SmsSid")
    sender = _required(params, "From")
    if not sid or not sender:
        raise BadWebhook("Twilio webhook with an empty MessageSid or From")
    if sender.startswith(WHATSAPP_PREFIX):
        number = sender.removeprefix(WHATSAPP_PREFIX)
        if not _E164.fullmatch(number):
            raise BadWebhook("WhatsApp webhook whose From is not a phone number")
        pressed = params.get("ButtonPayload") or params.get("ButtonText")
        return InboundMessage(
            channel=WHATSAPP_CHANNEL,
            address=number,
            text=str(pressed) if pressed else _required(params, "Body"),
            provider_id=sid,
            display_name=(params.get("ProfileName") or "").strip() or None,
        )
    body = _required(params, "Body")
    return InboundMessage(channel=CHANNEL, address=sender, text=body, provider_id=sid)


def parse_status(params: Mapping[str, str]) -> tuple[str, str, str | None]:
    """A status callback as (MessageSid, MessageStatus, ErrorCode or None)."""
    sid = _required(params, "MessageSid", "SmsSid")
    status = _required(params, "MessageStatus", "SmsStatus")
    if not sid or not status:
        raise BadWebhook("Twilio status callback with an empty MessageSid or MessageStatus")
    error_code = params.get("ErrorCode") or None
    return sid, status, str(error_code) if error_code is not None else None
