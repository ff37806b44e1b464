"""WhatsApp through Twilio's Messaging API: the same client, webhook and errors as SMS.

Addresses are E.164 numbers everywhere in Groundswell; only here do they gain Twilio's
`whatsapp:` prefix. A message is either free-form (allowed within 24 hours of the
resident's last message) or an approved template sent by Content SID (`ContentSid` plus
`ContentVariables`, no `Body`); which one to send is the host's decision
(`bot.delivery.whatsapp_window`), not this adapter's. Error 63016 ("outside the allowed
window") becomes `OutsideWindow`, so the host can switch to the template.

Buttons: WhatsApp's quick replies are Content API resources that must exist before they
are sent. A deployment creates one twilio/quick-reply content per number of buttons (1 to
3) whose body is `{{1}}`, whose button titles are `{{2}}`, `{{3}}`... and whose button ids
follow (for two buttons: titles {{2}} {{3}}, ids {{4}} {{5}}), and names them in
TWILIO_WHATSAPP_QUICK_REPLY_1 to _3. A choice or yes/no question with that many options
(titles of at most 20 characters) then goes with buttons; anything else (more options,
long labels, no content configured) goes as numbered options in the text, as on SMS. List
pickers (up to 10 items) are not used. A pressed button arrives as `ButtonPayload` (the
option's value) and is read like typed text (`twilio.parse_inbound`), so a press and the
same answer typed are read alike.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import (
    WHATSAPP_EMPTY_VARIABLE,
    WHATSAPP_OUTSIDE_WINDOW,
    OutboundMessage,
    Permanent,
    SendError,
    SendResult,
)
from bot.channels.rendering import render_plain
from bot.channels.twilio import (
    FIND_SENT_SCAN,
    WHATSAPP_CHANNEL,
    WHATSAPP_PREFIX,
    TwilioSender,
    TwilioSettings,
)
from survey_flows.engine_values import ChannelTraits

CHANNEL = WHATSAPP_CHANNEL
#: Twilio's opt-out keywords do not cover WhatsApp: Groundswell confirms STOP itself.
TRAITS = ChannelTraits(confirms_opt_out=False)
#: A template variable that is empty or null.
EMPTY_VARIABLE_CODE = "63013"
#: WhatsApp refuses quick-reply button titles longer than this.
BUTTON_TITLE_MAX = 20


class OutsideWindow(Permanent):
    """WhatsApp refused a free-form message: the 24-hour window is closed (63016)."""


def prefixed(number: str) -> str:
    """`number` as Twilio's WhatsApp address (`whatsapp:+44...`)."""
    return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number


def content_variables(variables: tuple[tuple[str, str], ...]) -> str:
    """The `ContentVariables` JSON; an empty value becomes `WHATSAPP_EMPTY_VARIABLE` (63013)."""
    return json.dumps({key: (value.strip() or WHATSAPP_EMPTY_VARIABLE) for key, value in variables})


class WhatsAppSender(TwilioSender):
    """Sends WhatsApp messages from TWILIO_WHATSAPP_FROM through the real Twilio client."""

    channel = CHANNEL

    @staticmethod
    def _check(settings: TwilioSettings) -> None:
        if not settings.whatsapp_configured:
            raise ValueError(
                "WhatsApp is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_WHATSAPP_FROM"
            )

    @property
    def limit_name(self) -> str:
        """The WhatsApp sender its limits belong to."""
        return prefixed(str(self.settings.whatsapp_from))

    def _route(self, to: str) -> dict[str, Any]:
        return {"to": prefixed(to), "from_": prefixed(str(self.settings.whatsapp_from))}

    def _list_filters(self, to: str) -> dict[str, Any]:
        return self._route(to)

    def content_sid(self, purpose: str) -> str:
        """The Content SID of the template for `purpose`; the check-in template stands in
        for a missing reminder or coordinator template."""
        templates = self.settings.whatsapp_templates
        sid = templates.get(purpose) or templates.get("checkin")
        if not sid:
            raise Permanent(
                f"no WhatsApp template for {purpose}: set TWILIO_WHATSAPP_TEMPLATE_CHECKIN",
                code=None,
            )
        return sid

    def quick_reply_sid(self, message: OutboundMessage) -> str | None:
        """The quick-reply content for `message`'s options, if it can go with buttons."""
        options = message.options
        if message.template is not None or not options:
            return None
        if any(
            not o.label.strip() or len(o.label) > BUTTON_TITLE_MAX or not o.value.strip()
            for o in options
        ):
            return None
        return self.settings.whatsapp_quick_replies.get(len(options))

    def send(self, message: OutboundMessage) -> SendResult:
        """Send a template (`message.template`), a question with quick-reply buttons, or a
        free-form text; raise `OutsideWindow` when WhatsApp says the window is closed."""
        buttons = self.quick_reply_sid(message)
        if buttons is not None:
            kwargs = {
                **self._route(message.address),
                "content_sid": buttons,
                "content_variables": json.dumps(dict(quick_reply_variables(message))),
            }
            try:
                return SendResult(self._call_create(kwargs))
            except SendError as error:
                raise _window_error(error) from error
        if message.template is None:
            try:
                return super().send(message)
            except SendError as error:
                raise _window_error(error) from error
        kwargs = {
            **self._route(message.address),
            "content_sid": self.content_sid(message.template),
            "content_variables": content_variables(message.variables),
        }
        return SendResult(self._call_create(kwargs))

    def find_sent(
        self, message: OutboundMessage, since: datetime, exclude: Collection[str] = ()
    ) -> str | None:
        """As for SMS; the text of a template or quick reply is Twilio's to fill in, so for
        those the answer is any message we sent this number at or after `since` that no
        other row claims (rows to one number go strictly one after another)."""
        if message.template is None and self.quick_reply_sid(message) is None:
            return super().find_sent(message, since, exclude)
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        since = since.astimezone(UTC).replace(microsecond=0)
        found = None
        try:
            for record in self._client.messages.stream(
                **self._list_filters(message.address), limit=FIND_SENT_SCAN, page_size=50
            ):
                created = record.date_created
                if created is None or created < since or record.sid in exclude:
                    continue
                if not (record.direction or "").startswith("inbound"):
                    found = str(record.sid)  # listed newest first: keep the earliest
        except Exception as exc:
            raise self._error(exc) from exc
        return found


def quick_reply_variables(message: OutboundMessage) -> tuple[tuple[str, str], ...]:
    """The variables of a quick-reply content: "1" the question (without the numbered
    options the text carries for channels without buttons), then each button's title,
    then each button's id (the option's value)."""
    options = message.options
    listed = render_plain("", options, numbered=True)
    text = message.body.removesuffix(listed).strip() or message.body
    values = [text, *(o.label for o in options), *(o.value for o in options)]
    return tuple((str(number), value) for number, value in enumerate(values, 1))


def _window_error(error: SendError) -> SendError:
    """63016 as `OutsideWindow`; any other error unchanged."""
    if error.code == WHATSAPP_OUTSIDE_WINDOW:
        return OutsideWindow(error.message, code=error.code, partial_id=error.partial_id)
    return error
