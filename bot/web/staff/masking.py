"""Contact details as staff see them: masked, unless one is revealed (and that is logged)."""

from __future__ import annotations

CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram", "sim": "Simulator"}


def channel_name(channel: str) -> str:
    """A channel as people say it."""
    return CHANNEL_NAMES.get(channel, channel)


def masked(channel: str, address: str) -> str:
    """ "SMS number ending 123": enough to tell two numbers apart, not enough to call one."""
    kind = {"sms": "number", "whatsapp": "number", "telegram": "chat", "sim": "test phone"}.get(
        channel, "address"
    )
    tail = address[-3:] if len(address) > 6 else ""
    return (
        f"{channel_name(channel)} {kind} ending {tail}"
        if tail
        else f"{channel_name(channel)} {kind}"
    )
