"""What every request handler needs, held once per app: settings, sessions, flows, clock.

The app keeps no state of its own beyond these handles (the database is the single source
of truth), so any number of web processes can serve the same deployment side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from storage.flow_versions import Flows
from storage.retry import unit_of_work

T = TypeVar("T")

EXTENSION = "groundswell"


@dataclass(frozen=True)
class WebContext:
    """The handles a request works with; stored in `app.extensions["groundswell"]`."""

    settings: Settings
    sessions: sessionmaker[Session]
    library: Flows
    clock: Callable[[], datetime]
    twilio: TwilioSettings
    telegram: TelegramSettings

    def write(self, work: Callable[[Session, datetime], T]) -> T:
        """Run `work(session, now)` in one transaction (retried if it lost a race)."""
        return unit_of_work(self.sessions, self.clock, work)


def context() -> WebContext:
    """The current app's `WebContext` (inside a request or app context)."""
    found: WebContext = current_app.extensions[EXTENSION]
    return found
