"""The local simulator channel ("sim"): a sender that accepts everything at once.

Why: `groundswell run` must work end to end with no provider credentials. The worker
drains "sim" rows like any other channel and marks them sent; the simulator UI shows the
conversation from the `messages` table, so nothing needs to be kept here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from bot.channels.base import OutboundMessage, SendResult

CHANNEL = "sim"


class SimulatorSender:
    """Accepts every message immediately with a fresh provider id "sim-<uuid>"."""

    channel = CHANNEL

    def send(self, message: OutboundMessage) -> SendResult:
        """Accept `message`; nothing leaves the process."""
        return SendResult(f"sim-{uuid.uuid4().hex}")

    def find_sent(
        self, message: OutboundMessage, since: datetime, exclude: Collection[str] = ()
    ) -> str | None:
        """Always None: the simulator keeps no record (the messages table is the record)."""
        return None

    def close(self) -> None:
        """Nothing to release."""
