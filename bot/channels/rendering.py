"""How an engine message reads on a plain-text channel (SMS, the terminal simulator)."""

from __future__ import annotations

from survey_flows.conversation import Outgoing


def plain_text(message: Outgoing) -> str:
    """The message as an SMS shows it: a choice question lists its numbered options."""
    if not message.numbered:
        return message.text
    options = " ".join(f"{i}) {option.label}" for i, option in enumerate(message.options, 1))
    return f"{message.text}\n{options}"
