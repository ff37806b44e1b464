"""A fake Twilio REST API (Messages resource) for driving the real ``twilio`` 9.x client.

Why: tests must exercise the real client library over real HTTP, with no internet. The fake
speaks the wire protocol of ``https://api.twilio.com/2010-04-01``: HTTP Basic auth with the
account SID and auth token, form-encoded requests, JSON answers shaped like Twilio's, and
Twilio's legacy error bodies (``{"code", "message", "more_info", "status"}``), so
``TwilioRestException`` carries the right ``status`` and ``code``.

Pointing the real client at the fake (checked against twilio 9.13 sources)::

    from twilio.rest import Client

    with FakeTwilio(account_sid=SID, auth_token=TOKEN) as fake:
        client = Client(SID, TOKEN)
        client.api.base_url = fake.base_url     # a plain attribute of the "api" Domain
        client.messages.create(to="+15551230001", from_="+15557650000", body="Hi")

``Client`` has no base-URL argument. ``client.messages`` is ``client.api.account.messages``;
URLs are built at request time by ``twilio.base.domain.Domain.absolute_url`` as
``f"{client.api.base_url}/2010-04-01/Accounts/{sid}/Messages.json"``, so setting
``client.api.base_url`` (before or after touching ``client.messages``) is enough for everything
under ``client.api`` (messages create/fetch/list and list paging). Other domains
(``client.messaging``, ``client.lookups``...) have their own ``base_url`` and are not faked.
Beware ``TWILIO_EDGE``/``TWILIO_REGION`` (env or ``Client(edge=, region=)``): the client then
rewrites the host name and would mangle ``127.0.0.1``; set ``client.edge = client.region =
None``. ``requests`` also honours ``HTTP(S)_PROXY``: keep ``127.0.0.1`` in ``NO_PROXY``.
For client timeouts pass ``http_client=TwilioHttpClient(timeout=0.2)``; a timeout then raises
``requests.exceptions.ReadTimeout`` and a dropped connection ``requests.exceptions.ConnectionError``
(the twilio library does not wrap transport errors). :meth:`FakeTwilio.client` does all of this.

Behaviour worth knowing:

* ``POST .../Messages.json`` answers 201 with status ``queued`` (``accepted`` when only a
  ``MessagingServiceSid`` is given, as Twilio does), ``date_sent`` null, and ``num_segments``
  computed from the body (GSM-7: 160/153 per part, otherwise UCS-2: 70/67). Validation errors
  use Twilio's codes: 21604 (no To), 21603 (no From/MessagingServiceSid), 21602 (no Body),
  21617 (body over 1600 characters), 21211 (To not E.164), 21610 (opted-out recipient).
* Messages stay ``queued`` until a test calls :meth:`FakeTwilio.set_status`, like real messages
  before the carrier reports back. Listing with a ``DateSent`` filter matches ``date_sent`` only,
  so it does NOT find messages still queued, which is also true of the real API.
* WhatsApp (``To``/``From`` with the ``whatsapp:`` prefix): the fake keeps each number's
  24-hour window. :meth:`FakeTwilio.resident_wrote` opens it (as an inbound message does;
  :func:`whatsapp_inbound_params` builds that webhook's form), :meth:`FakeTwilio.close_window`
  lets it lapse. A free-form ``Body`` outside the window fails with 63016; a template
  (``ContentSid`` registered with :meth:`FakeTwilio.add_template`, ``ContentVariables`` a JSON
  object) goes any time, but an empty or null variable fails with 63013 and an unknown
  ``ContentSid`` with 21655. The stored ``body`` of a template send is its filled-in text.
* ``GET .../Messages.json`` is newest first, filters ``To``, ``From``, ``DateSent``,
  ``DateSent<``, ``DateSent>`` (inclusive, date or ISO datetime), and pages with ``PageSize``/
  ``Page`` and ``next_page_uri`` as the client library expects.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ._server import DEFAULT_WAIT, FakeServer, Fault, IncomingRequest, Reply

if TYPE_CHECKING:
    from twilio.rest import Client

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FakeTwilio",
    "is_gsm7",
    "new_sid",
    "sms_segments",
    "twilio_error",
    "twilio_inbound_params",
    "twilio_status_callback_params",
    "whatsapp_inbound_params",
]

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fedcba9876543210" * 2

_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21655: "The ContentSid is Invalid",
    63007: "Twilio could not find a Channel with the specified From address",
    63013: "This message send failed because it violates Channel provider's policy.",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}

_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_MESSAGE_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$"
)
_E164 = re.compile(r"^(?:whatsapp:)?\+[1-9]\d{6,14}$")

# GSM 03.38 default alphabet; the extension table costs two septets per character.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

# Calling code -> ISO country for the geographic fields of inbound webhooks.
_COUNTRY_BY_CODE = {"1": "US", "44": "GB", "61": "AU", "64": "NZ", "353": "IE", "49": "DE"}


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-style SID: two-letter prefix and 32 lower-case hex digits."""
    return prefix + uuid.uuid4().hex


def twilio_error(code: int, status: int, message: str | None = None) -> dict[str, Any]:
    """Twilio's legacy REST error body, e.g. ``twilio_error(21610, 400)``."""
    return {
        "code": code,
        "message": message or _ERROR_MESSAGES.get(code, HTTPStatus(status).phrase),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def is_gsm7(body: str) -> bool:
    """Whether ``body`` fits the GSM-7 alphabet (otherwise Twilio sends it as UCS-2)."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in body)


def sms_segments(body: str) -> int:
    """How many SMS segments Twilio bills for ``body``.

    GSM-7: 160 septets in one part, 153 per part when split (extension characters count 2).
    Any other character switches the whole text to UCS-2: 70 UTF-16 units, 67 per part.
    """
    if is_gsm7(body):
        units, single, multi = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def _rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


def _geo(number: str) -> dict[str, str]:
    """Plausible geographic webhook fields for ``number`` (Twilio sends "" when unknown)."""
    digits = number.removeprefix("whatsapp:").lstrip("+")
    codes = sorted(_COUNTRY_BY_CODE, key=len, reverse=True)  # longest calling code wins
    country = next((_COUNTRY_BY_CODE[c] for c in codes if digits.startswith(c)), "")
    if country == "US":
        return {"City": "SAN FRANCISCO", "State": "CA", "Zip": "94105", "Country": "US"}
    return {"City": "", "State": "", "Zip": "", "Country": country}


def twilio_inbound_params(
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    *,
    messaging_service_sid: str | None = None,
    num_media: int = 0,
    **overrides: str,
) -> dict[str, str]:
    """The form Twilio POSTs to an inbound-SMS webhook, with every field it normally sends.

    Includes ``MessageSid``/``SmsSid``/``SmsMessageSid``, ``AccountSid``, ``From``, ``To``,
    ``Body``, ``NumMedia``, ``NumSegments``, ``SmsStatus=received``, ``ApiVersion`` and the
    geographic ``FromCity``/``FromState``/``FromZip``/``FromCountry`` and ``To*`` fields
    (US numbers get San Francisco, others only a country). ``MessagingServiceSid`` is present
    only when given, as with Twilio. ``overrides`` add or replace fields verbatim (Twilio adds
    parameters without notice; signature checks must cover whatever arrives).
    Sign the result with ``RequestValidator(token).compute_signature(url, params)``.
    """
    sid = message_sid or new_sid("SM")
    params = {
        "ToCountry": "",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": str(num_media),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "",
        "To": to,
        "ToZip": "",
        "NumSegments": str(sms_segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for prefix, number in (("From", from_), ("To", to)):
        for key, value in _geo(number).items():
            params[prefix + key] = value
    if messaging_service_sid is not None:
        params["MessagingServiceSid"] = messaging_service_sid
    params.update(overrides)
    return params


def whatsapp_inbound_params(
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    *,
    profile_name: str = "Sam",
    button_payload: str | None = None,
    button_text: str | None = None,
) -> dict[str, str]:
    """The form Twilio POSTs to the messaging webhook for an inbound WhatsApp message.

    ``from_``/``to`` are E.164 numbers; they get the ``whatsapp:`` prefix here. Adds
    ``ProfileName``, ``WaId`` (the number's digits) and ``MessageType`` (``button`` with
    ``ButtonPayload``/``ButtonText`` for a quick-reply press, whose ``Body`` is the button's
    text, as Twilio sends it); no geographic fields, as for WhatsApp.
    """
    sid = message_sid or new_sid("SM")
    pressed = button_payload is not None or button_text is not None
    params = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": profile_name,
        "MessageType": "button" if pressed else "text",
        "SmsSid": sid,
        "WaId": from_.removeprefix("whatsapp:").lstrip("+"),
        "SmsStatus": "received",
        "Body": (button_text or body) if pressed else body,
        "To": "whatsapp:" + to.removeprefix("whatsapp:"),
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": "whatsapp:" + from_.removeprefix("whatsapp:"),
        "ApiVersion": API_VERSION,
    }
    if button_payload is not None:
        params["ButtonPayload"] = button_payload
    if button_text is not None:
        params["ButtonText"] = button_text
    return params


def twilio_status_callback_params(
    message_sid: str,
    status: str,
    *,
    from_: str,
    to: str,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    error_code: int | None = None,
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """The form Twilio POSTs to a message's ``StatusCallback`` URL.

    ``ErrorCode`` is included only for failed/undelivered statuses with a code, as Twilio does.
    """
    params = {
        "SmsSid": message_sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": message_sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid is not None:
        params["MessagingServiceSid"] = messaging_service_sid
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


@dataclass
class _Stored:
    """A message the fake accepted: Twilio's resource plus what only the fake knows."""

    resource: dict[str, Any]
    created: datetime
    received_at: float = field(default_factory=time.monotonic)  # precise, for rate checks
    sent: datetime | None = None
    status_callback: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            **copy.deepcopy(self.resource),
            "status_callback": self.status_callback,
            "request_params": copy.deepcopy(self.params),
            "received_at": self.received_at,
        }


def _parse_filter_time(value: str) -> tuple[datetime, bool]:
    """Parse a ``DateSent`` filter value; the flag says whether it was a bare date."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC), True
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), False


class FakeTwilio(FakeServer):
    """A fake ``api.twilio.com`` serving the 2010-04-01 Messages resource on 127.0.0.1.

    Use as a context manager; ``base_url`` is ``http://127.0.0.1:PORT``. Thread-safe.

    Attributes and helpers:

    * ``messages``: snapshot list of accepted messages (Twilio resource dicts, plus the fake-only
      keys ``status_callback`` and ``request_params``); ``message(sid)`` one of them;
      ``wait_for_messages(n)`` blocks until ``n`` were accepted.
    * ``requests`` / ``wait_for_requests(n, operation=)``: every request, faulted or not;
      operations are ``"create"``, ``"fetch"``, ``"list"`` (``None`` for anything else).
    * faults: ``fail_next(n, status=500)``, ``rate_limit_next(n, retry_after=1)`` (429 with a
      ``Retry-After`` header and code 20429), ``hang_next(n, seconds)``, ``drop_next(n)``, each
      with ``only=<operation>``; ``opted_out(number)`` makes sends to it fail with 21610.
    * ``set_status(sid, status)`` moves a message along (sets ``date_sent`` once sent).
    * ``client(timeout=)`` returns a real ``twilio.rest.Client`` pointed at the fake.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._stored: list[_Stored] = []
        self._by_sid: dict[str, _Stored] = {}
        self._opted_out: set[str] = set()
        self._windows: dict[str, float] = {}  # whatsapp:+number -> monotonic last inbound
        self._templates: dict[str, str] = {}  # ContentSid -> text with {{1}} placeholders
        self._session_only: set[str] = set()  # contents WhatsApp takes only in the window

    # ----------------------------------------------------------------- WhatsApp

    def add_template(self, content_sid: str, text: str, *, session_only: bool = False) -> None:
        """Register an approved template: ``text`` with ``{{1}}``, ``{{2}}``... placeholders.

        ``session_only``: content that is not an approved template (quick replies sent in a
        conversation): outside the window it fails with 63016 like free-form text.
        """
        with self._cond:
            self._templates[content_sid] = text
            if session_only:
                self._session_only.add(content_sid)

    def resident_wrote(self, number: str) -> None:
        """``number`` (E.164, prefix optional) sent us a WhatsApp message: its window opens."""
        with self._cond:
            self._windows["whatsapp:" + number.removeprefix("whatsapp:")] = time.monotonic()

    def close_window(self, number: str) -> None:
        """Let ``number``'s 24-hour window lapse (free-form sends to it fail with 63016)."""
        with self._cond:
            self._windows.pop("whatsapp:" + number.removeprefix("whatsapp:"), None)

    def _window_open(self, to: str) -> bool:
        opened = self._windows.get(to)
        return opened is not None and time.monotonic() - opened < 24 * 3600

    def _whatsapp_content(self, params: dict[str, Any]) -> tuple[str | None, Reply | None]:
        """(text to store, None) for an acceptable WhatsApp send, else (None, error reply)."""
        content_sid = params.get("ContentSid")
        if not content_sid:
            if not self._window_open(params.get("To") or ""):
                return None, Reply.json(400, twilio_error(63016, 400))
            return None, None
        template = self._templates.get(content_sid)
        if template is None:
            return None, Reply.json(400, twilio_error(21655, 400))
        if content_sid in self._session_only and not self._window_open(params.get("To") or ""):
            return None, Reply.json(400, twilio_error(63016, 400))
        try:
            variables = json.loads(params.get("ContentVariables") or "{}")
        except ValueError:
            return None, Reply.json(400, twilio_error(21656, 400, "Invalid ContentVariables"))
        if not isinstance(variables, dict) or any(
            not isinstance(v, str) or not v.strip() for v in variables.values()
        ):
            return None, Reply.json(400, twilio_error(63013, 400))
        text = re.sub(r"\{\{(\d+)\}\}", lambda m: str(variables.get(m[1], m[0])), template)
        return text, None

    # ----------------------------------------------------------------- test-facing API

    def client(self, *, timeout: float | None = None) -> Client:
        """A real ``twilio.rest.Client`` for this fake's credentials, pointed at the fake.

        ``timeout`` (seconds) goes to ``TwilioHttpClient``; edge/region are cleared so the
        client does not rewrite the 127.0.0.1 host.
        """
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        client = Client(
            self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=timeout)
        )
        client.edge = None
        client.region = None
        client.api.base_url = self.base_url
        return client

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Snapshot of every accepted message, oldest first (copies: safe to keep)."""
        with self._cond:
            return [m.snapshot() for m in self._stored]

    def message(self, sid: str) -> dict[str, Any]:
        """The accepted message with this SID (``KeyError`` if unknown)."""
        with self._cond:
            return self._by_sid[sid].snapshot()

    def wait_for_messages(self, n: int, *, timeout: float = DEFAULT_WAIT) -> list[dict[str, Any]]:
        """Block until at least ``n`` messages were accepted; return the snapshot."""

        def enough() -> list[dict[str, Any]] | None:
            return [m.snapshot() for m in self._stored] if len(self._stored) >= n else None

        return self._wait_until(enough, timeout, f"{n} accepted message(s)")

    def opted_out(self, number: str) -> None:
        """Make sends to ``number`` fail like an unsubscribed recipient (400, code 21610)."""
        with self._cond:
            self._opted_out.add(number)

    def opted_in(self, number: str) -> None:
        """Undo :meth:`opted_out` (the resident texted START)."""
        with self._cond:
            self._opted_out.discard(number)

    def set_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> dict[str, Any]:
        """Move message ``sid`` to ``status`` (e.g. sent, delivered, undelivered, failed).

        Sets ``date_sent`` the first time the message leaves the queue. Does not post any
        status callback: build one with :func:`twilio_status_callback_params` and post it.
        """
        now = datetime.now(UTC)
        with self._cond:
            stored = self._by_sid[sid]
            if status in ("sent", "delivered", "undelivered", "failed", "read") and not stored.sent:
                stored.sent = now
                stored.resource["date_sent"] = _rfc2822(now)
            stored.resource.update(
                status=status,
                error_code=error_code,
                error_message=error_message,
                date_updated=_rfc2822(now),
            )
            self._cond.notify_all()
            return stored.snapshot()

    # ----------------------------------------------------------------- FakeServer hooks

    def _operation(self, request: IncomingRequest) -> str | None:
        if _MESSAGES_PATH.match(request.path):
            return {"POST": "create", "GET": "list"}.get(request.method)
        if _MESSAGE_PATH.match(request.path) and request.method == "GET":
            return "fetch"
        return None

    def _fault_reply(self, fault: Fault) -> Reply:
        if fault.kind == "rate_limit":
            return Reply.json(
                429, twilio_error(20429, 429), {"Retry-After": str(fault.retry_after)}
            )
        default_code = {500: 20500, 503: 20503}.get(fault.status, fault.status)
        code = fault.code if fault.code is not None else default_code
        return Reply.json(fault.status, twilio_error(code, fault.status, fault.message))

    def _handle(self, request: IncomingRequest) -> Reply:
        if not self._authorised(request):
            return Reply.json(
                401, twilio_error(20003, 401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        not_found = Reply.json(
            404,
            twilio_error(20404, 404, f"The requested resource {request.path} was not found"),
        )
        if match := _MESSAGES_PATH.match(request.path):
            if match["account"] != self.account_sid:
                return not_found
            if request.method == "POST":
                return self._create(request)
            if request.method == "GET":
                return self._list(request)
            return Reply.json(405, twilio_error(20004, 405, "Method not allowed"))
        if (match := _MESSAGE_PATH.match(request.path)) and request.method == "GET":
            with self._cond:
                stored = self._by_sid.get(match["sid"])
                if match["account"] != self.account_sid or stored is None:
                    return not_found
                return Reply.json(200, copy.deepcopy(stored.resource))
        return not_found

    # ----------------------------------------------------------------- the resource

    def _authorised(self, request: IncomingRequest) -> bool:
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == (self.account_sid, self.auth_token)

    def _create(self, request: IncomingRequest) -> Reply:
        params = request.params()
        to = params.get("To") or ""
        from_ = params.get("From") or None
        service = params.get("MessagingServiceSid") or None
        body = params.get("Body") or ""
        media = params.get("MediaUrl") or []
        media = [media] if isinstance(media, str) else list(media)
        if not to:
            return Reply.json(400, twilio_error(21604, 400))
        whatsapp = to.startswith("whatsapp:")
        if whatsapp and not (from_ or "").startswith("whatsapp:"):
            return Reply.json(400, twilio_error(63007, 400))
        if not from_ and not service:
            return Reply.json(400, twilio_error(21603, 400))
        if not body and not media and not params.get("ContentSid"):
            return Reply.json(400, twilio_error(21602, 400))
        if len(body) > 1600:
            return Reply.json(400, twilio_error(21617, 400))
        if not _E164.match(to):
            return Reply.json(400, twilio_error(21211, 400, f"Invalid 'To' Phone Number: {to}"))
        now = datetime.now(UTC)
        sid = new_sid("SM" if not media else "MM")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        resource = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": _rfc2822(now),
            "date_sent": None,
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            "num_segments": str(sms_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {
                "media": uri.removesuffix(".json") + "/Media.json",
                "feedback": uri.removesuffix(".json") + "/Feedback.json",
            },
            "to": to,
            "uri": uri,
        }
        with self._cond:
            if to in self._opted_out:
                return Reply.json(400, twilio_error(21610, 400))
            if whatsapp:
                filled, refused = self._whatsapp_content(params)
                if refused is not None:
                    return refused
                if filled is not None:
                    resource["body"] = filled
            stored = _Stored(
                resource=resource,
                created=now,
                status_callback=params.get("StatusCallback"),
                params=dict(params),
            )
            self._stored.append(stored)
            self._by_sid[sid] = stored
            self._cond.notify_all()
        return Reply.json(201, copy.deepcopy(resource))

    def _list(self, request: IncomingRequest) -> Reply:
        params = request.params()
        try:
            page_size = max(1, min(1000, int(params.get("PageSize", 50))))
            page = max(0, int(params.get("Page", 0)))
            bounds = {
                op: _parse_filter_time(params[key])
                for op, key in (("=", "DateSent"), ("<", "DateSent<"), (">", "DateSent>"))
                if params.get(key)
            }
        except ValueError as exc:
            return Reply.json(400, twilio_error(20001, 400, f"Invalid parameter: {exc}"))

        def keep(m: _Stored) -> bool:
            if params.get("To") and m.resource["to"] != params["To"]:
                return False
            if params.get("From") and m.resource["from"] != params["From"]:
                return False
            if bounds and m.sent is None:
                return False
            for op, (moment, is_date) in bounds.items():
                by_date = is_date or op == "="
                sent: Any = m.sent.date() if by_date else m.sent
                limit: Any = moment.date() if by_date else moment
                if (op == "=" and sent != limit) or (op == "<" and sent > limit):
                    return False
                if op == ">" and sent < limit:
                    return False
            return True

        with self._cond:
            found = [copy.deepcopy(m.resource) for m in reversed(self._stored) if keep(m)]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        filters = {
            k: params[k]
            for k in ("To", "From", "DateSent", "DateSent<", "DateSent>")
            if k in params
        }

        def page_uri(number: int) -> str:
            return f"{base}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

        start = page * page_size
        chunk = found[start : start + page_size]
        has_next = start + page_size < len(found)
        return Reply.json(
            200,
            {
                "end": start + max(len(chunk), 1) - 1,
                "first_page_uri": page_uri(0),
                "messages": chunk,
                "next_page_uri": page_uri(page + 1) if has_next else None,
                "page": page,
                "page_size": page_size,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": page_uri(page),
            },
        )
