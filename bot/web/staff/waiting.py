"""Why a message is still waiting to be sent, in words staff can act on.

One wording for every page that shows queued messages (Health, conversations, the
Simulator's phones, the Summaries page): the channel is not set up (say which settings
are missing), quiet hours hold it (say until when), an earlier try failed (say when the
next is), the sender limit holds it behind many others on its channel, or it is simply
the worker's turn next. Health's "messages wait for a channel" sentences come from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.channels.twilio import TwilioSettings
from bot.delivery.rate_limits import LIMIT_KINDS
from bot.web.context import WebContext
from bot.web.staff.masking import channel_name
from storage.models import OUTBOX_HELD, OUTBOX_PENDING, OutboxItem

#: With at least this many messages before it on its channel, a message is said to be held
#: by the sender limit (SMS go out at about one a second).
LIMIT_QUEUE = 10
#: Channels the worker's sender limits hold (`bot.delivery.rate_limits`).
LIMITED = frozenset(kind.channel for kind in LIMIT_KINDS)
STAYS = "(if it stays, see Health: is the worker running?)"


@dataclass(frozen=True)
class ChannelSetUp:
    """Whether a channel can send, and if not, the settings it needs."""

    ok: bool
    missing: str = ""  # e.g. "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"


def whatsapp_missing(twilio: TwilioSettings) -> list[str]:
    """The settings WhatsApp still needs to send (empty when it can)."""
    if twilio.whatsapp_configured:
        return []
    wanted = {
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_WHATSAPP_FROM": twilio.whatsapp_from,
    }
    return [name for name, value in wanted.items() if not value]


def channel_set_up(channel: str, ctx: WebContext) -> ChannelSetUp:
    """Whether `channel` has what it needs to send (the simulator always has)."""
    if channel == "sms":
        return ChannelSetUp(ctx.twilio.configured, ", ".join(ctx.twilio.missing))
    if channel == "whatsapp":
        return ChannelSetUp(ctx.twilio.whatsapp_configured, ", ".join(whatsapp_missing(ctx.twilio)))
    if channel == "telegram":
        return ChannelSetUp(ctx.telegram.configured, "TELEGRAM_BOT_TOKEN")
    return ChannelSetUp(True)


def unconfigured_waiting(waiting: dict[str, int], ctx: WebContext) -> list[str]:
    """Health's sentences for messages that wait for a channel nobody has set up: they
    stay queued until it is, so say which channel and what to do."""
    out = []
    for channel, count in sorted(waiting.items()):
        setup = channel_set_up(channel, ctx)
        if count and not setup.ok:
            advice = (
                " Until then use the Simulator to try flows, alerts and summaries."
                if channel == "sms"
                else ""
            )
            out.append(
                f"{count} message(s) wait for {channel_name(channel)}, which is "
                f"not set up: set {setup.missing} and restart; they are sent then.{advice}"
            )
    return out


def why_waiting(item: OutboxItem, ahead: int, now: datetime, ctx: WebContext) -> str:
    """Why this pending outbox row has not gone yet. `ahead`: pending rows queued before
    it on its channel."""
    name = channel_name(item.channel)
    if item.status == "sending":
        return "being sent now"
    if item.status == OUTBOX_HELD:
        return (
            "waiting for the resident to reply on WhatsApp: more than 24 hours since they "
            "last wrote, so only the approved opening message may go first"
        )
    setup = channel_set_up(item.channel, ctx)
    if not setup.ok:
        return f"{name} is not set up (no {setup.missing}), so this waits until it is"
    if item.not_before > now:
        at = item.not_before.astimezone(ctx.settings.zone).strftime("%H:%M")
        if item.attempts:
            return f"the last try failed; trying again at {at}"
        return f"waiting for quiet hours to end at {at}"
    if item.attempts:
        return "the last try failed; trying again shortly"
    if ahead >= LIMIT_QUEUE and item.channel in LIMITED:
        return (
            f"held by the sender limit: {ahead} {name} messages go before it, a few a "
            "second at most"
        )
    if ahead:
        return f"queued behind {ahead} earlier message(s), which the worker sends first {STAYS}"
    return f"next for the worker to send {STAYS}"


def reasons(
    session: Session, message_ids: Iterable[int], now: datetime, ctx: WebContext
) -> dict[int, str]:
    """Why each of these messages is still waiting, by message id (those not pending are
    left out)."""
    items = list(
        session.scalars(
            select(OutboxItem).where(
                OutboxItem.message_id.in_(list(message_ids)),
                OutboxItem.status.in_((*OUTBOX_PENDING, OUTBOX_HELD)),
            )
        )
    )
    out: dict[int, str] = {}
    for item in items:
        assert item.message_id is not None
        ahead = 0
        if channel_set_up(item.channel, ctx).ok and item.not_before <= now:
            ahead = (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxItem)
                    .where(
                        OutboxItem.channel == item.channel,
                        OutboxItem.status.in_(OUTBOX_PENDING),
                        OutboxItem.id < item.id,
                    )
                )
                or 0
            )
        out[item.message_id] = why_waiting(item, ahead, now, ctx)
    return out
