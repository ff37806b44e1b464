"""The senders a deployment can use, from its environment.

Twilio (SMS, WhatsApp) and Telegram when their credentials are set, the local simulator always (so
`groundswell run` works with no credentials at all).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.channels.base import Sender
from bot.channels.simulator import SimulatorSender
from bot.settings import SettingsError

#: Loggers of the provider clients that write recipients into INFO lines (twilio logs
#: every request's query string, e.g. `To=+44...` when looking for a lost send; httpx
#: every Bot API URL).
CLIENT_LOGGERS = ("twilio.http_client", "httpx", "httpcore")


def quiet_client_loggers() -> None:
    """Keep the provider clients' request logs out of INFO output: phone numbers must
    never reach the logs. A level set explicitly to WARNING or above is left alone."""
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def senders_from_env(environ: Mapping[str, str]) -> dict[str, Sender]:
    """The senders this deployment can use: Twilio and Telegram when configured, and the
    simulator always. Partly configured Twilio is an error naming what is missing.
    Also quiets the clients' request logs (`quiet_client_loggers`)."""
    # Imported here: the provider clients take a while to import, and every CLI command
    # imports this module through `bot.delivery.worker`.
    from bot.channels.telegram import TelegramSender, TelegramSettings
    from bot.channels.twilio import TwilioSender, TwilioSettings
    from bot.channels.whatsapp import WhatsAppSender

    quiet_client_loggers()
    senders: dict[str, Sender] = {}
    twilio = TwilioSettings.from_env(environ)
    if twilio.configured:
        senders["sms"] = TwilioSender(twilio)
    if twilio.whatsapp_configured:
        senders["whatsapp"] = WhatsAppSender(twilio)
    elif twilio.whatsapp_from:
        raise SettingsError(
            "WhatsApp is partly configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    if not senders and (twilio.account_sid or twilio.auth_token or twilio.from_number):
        raise SettingsError("Twilio is partly configured: set " + ", ".join(twilio.missing))
    telegram = TelegramSettings.from_env(environ)
    if telegram.configured:
        senders["telegram"] = TelegramSender(telegram)
    senders["sim"] = SimulatorSender()
    return senders
