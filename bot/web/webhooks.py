"""Provider webhooks: Twilio inbound SMS and status callbacks, Telegram updates.

Every request is authenticated before anything is read into the database: Twilio's
`X-Twilio-Signature` is checked against the configured public URL plus the path (the URL
Twilio called, which behind a proxy is not `request.url`), Telegram's secret-token header
against `TELEGRAM_WEBHOOK_SECRET`. A request that fails gets 403 and stores nothing.

An accepted message goes through `bot.checkins.receiving.receive` in one unit of work: the inbound
row, the answer, the new conversation state and the queued replies commit together.
Providers redeliver (Twilio after a timeout, Telegram on any non-2xx); `receive` stores the
provider's id once, so a redelivery answers 200 and changes nothing. Nothing is sent from
here: replies wait in the outbox for the worker.

Logs carry provider ids and pseudonyms only, never phone numbers or message text.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator, remove_port

from bot.channels.base import WHATSAPP_OUTSIDE_WINDOW, BadWebhook, InboundMessage
from bot.channels.telegram import parse_update, secret_ok
from bot.channels.twilio import OPTED_OUT_CODE, parse_inbound, parse_status, verify_signature
from bot.checkins.inbound import describe, handle
from bot.delivery.outbox import hold_for_window
from bot.people.opt_out import opt_out
from bot.web.context import WebContext, context
from bot.web.errors import plain
from storage.models import Message, OutboxItem, Participant

log = logging.getLogger(__name__)

blueprint = Blueprint("webhooks", __name__)

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
SIGNATURE_HEADER = "X-Twilio-Signature"
#: The channels whose messages Twilio's status callbacks report on.
TWILIO_CHANNELS = ("sms", "whatsapp")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

#: Twilio's delivery statuses as ours, with a rank: a late callback never moves a
#: message back (Twilio does not promise callbacks arrive in order).
_STATUSES: dict[str, tuple[str, int]] = {
    "accepted": ("queued", 0),
    "scheduled": ("queued", 0),
    "queued": ("queued", 0),
    "sending": ("sending", 1),
    "sent": ("sent", 2),
    "delivered": ("delivered", 3),
    "read": ("delivered", 3),
    "undelivered": ("undelivered", 3),
    "failed": ("failed", 3),
    "canceled": ("cancelled", 3),
}
_RANK = {ours: rank for ours, rank in _STATUSES.values()} | {"cancelled": 3}


@blueprint.errorhandler(BadWebhook)
def _bad_webhook(error: BadWebhook) -> Response:
    # The message may quote the payload: log the kind of problem only.
    log.warning("malformed webhook on %s", request.path)
    return plain(400, "malformed webhook")


# --- Twilio --------------------------------------------------------------------------


@blueprint.post(SMS_PATH)
def twilio_sms() -> Response:
    """An SMS or WhatsApp message from a resident (Twilio posts both here, WhatsApp with
    `whatsapp:` addresses): verify, parse, handle once, answer empty TwiML."""
    ctx = context()
    _verify_twilio(ctx)
    inbound = parse_inbound(request.form)
    _handle(ctx, inbound)
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@blueprint.post(STATUS_PATH)
def twilio_status() -> Response:
    """A delivery status callback: update the outbound message Twilio knows by this sid."""
    ctx = context()
    _verify_twilio(ctx)
    sid, status, error_code = parse_status(request.form)
    changed = ctx.write(lambda session, now: record_status(session, sid, status, error_code, now))
    log.info("twilio status %s for %s (%s)", status, sid, "recorded" if changed else "ignored")
    return Response(status=204)


def _verify_twilio(ctx: WebContext) -> None:
    """404 when SMS is not set up here; 403 unless the signature signs this exact request."""
    missing = [
        name
        for name, value in (
            ("TWILIO_AUTH_TOKEN", ctx.twilio.auth_token),
            ("GROUNDSWELL_PUBLIC_URL", ctx.settings.public_url),
        )
        if not value
    ]
    if missing:
        abort(plain(404, "SMS webhooks are not configured here: set " + " and ".join(missing)))
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not _signed(ctx.twilio.auth_token, _public_url(ctx), request.form, signature):
        log.warning("rejected %s: Twilio signature missing or wrong", request.path)
        abort(plain(403, "forbidden: invalid Twilio signature"))


def _public_url(ctx: WebContext) -> str:
    """The URL Twilio called: the configured public URL, this path, and any query string.

    Never `request.url`: behind a proxy or load balancer its scheme and host are the
    proxy's, and the signature would not match.
    """
    url = f"{ctx.settings.public_url}{request.path}"
    query = request.query_string.decode("utf-8", "replace")
    return f"{url}?{query}" if query else url


def _signed(auth_token: str, url: str, params: Any, signature: str) -> bool:
    """`verify_signature`, computing one signature instead of two when it matches.

    Twilio's `RequestValidator.validate` always signs the URL twice, without and with the
    default port, and accepts either. Here the usual one (as configured, no port) is tried
    first and the other only if it fails: the same requests pass, at half the cost.
    """
    if not auth_token or not signature:
        return False
    computed = _validator(auth_token).compute_signature(_without_port(url), params)
    if hmac.compare_digest(computed.encode(), signature.encode()):
        return True
    return verify_signature(auth_token, url, params, signature)


@lru_cache(maxsize=64)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)


@lru_cache(maxsize=64)
def _without_port(url: str) -> str:
    """The URL without its port, exactly as `RequestValidator.validate` signs it."""
    return str(remove_port(urlparse(url)))


def record_status(
    session: Session, sid: str, status: str, error_code: str | None, now: datetime
) -> bool:
    """Apply a Twilio status callback to our outbound message; False if nothing changed.

    Unknown sids (a later part of a split message, a message sent from elsewhere) and
    unknown statuses are ignored. Error 21610 means the number texted STOP: the
    participant is opted out and nothing more is sent to them. Error 63016 means WhatsApp
    refused a free-form message outside the window: it is held and the template sent.
    """
    mapped = _STATUSES.get(status.lower())
    if mapped is None:
        return False
    ours, rank = mapped
    message = session.scalars(
        select(Message)
        .where(
            Message.channel.in_(TWILIO_CHANNELS),
            Message.direction == "out",
            Message.provider_id == sid,
        )
        .with_for_update()
    ).first()
    if message is None or _RANK.get(message.status or "queued", 0) > rank:
        return False
    message.status = ours
    if error_code is not None:
        message.error_code = error_code
    if error_code == WHATSAPP_OUTSIDE_WINDOW and message.channel == "whatsapp":
        # WhatsApp refused it after accepting it: hold it and send the template instead.
        item = session.scalar(select(OutboxItem.id).where(OutboxItem.message_id == message.id))
        if item is not None:
            hold_for_window(session, item, now)
    if error_code == str(OPTED_OUT_CODE) and message.participant_id is not None:
        participant = session.get(Participant, message.participant_id, with_for_update=True)
        if participant is not None:
            opt_out(session, participant, now, "participant opted out (Twilio 21610)")
    return True


# --- Telegram ------------------------------------------------------------------------


@blueprint.post(TELEGRAM_PATH)
def telegram_update() -> Response:
    """A Bot API update: verify the secret, parse, handle once; button presses get answered."""
    ctx = context()
    if not (ctx.telegram.configured and ctx.telegram.webhook_secret):
        abort(
            plain(
                404,
                "the Telegram webhook is not configured here: "
                "set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET",
            )
        )
    if not secret_ok(ctx.telegram.webhook_secret, request.headers.get(SECRET_HEADER)):
        log.warning("rejected %s: Telegram secret token missing or wrong", request.path)
        abort(plain(403, "forbidden: invalid Telegram secret token"))
    data = request.get_json(force=True, silent=True)
    if data is None:
        raise BadWebhook("Telegram update is not JSON")
    inbound = parse_update(data)
    if inbound is None:
        return plain(200, "ignored")
    _handle(ctx, inbound)
    return plain(200, "ok")


# --- shared --------------------------------------------------------------------------


def _handle(ctx: WebContext, inbound: InboundMessage) -> None:
    """Handle the message once (a button press also queues its callback answer)."""
    received = handle(
        ctx.sessions, inbound, library=ctx.library, settings=ctx.settings, clock=ctx.clock
    )
    if log.isEnabledFor(logging.INFO):
        log.info(describe(inbound, received))
