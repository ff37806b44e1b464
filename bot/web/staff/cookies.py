"""This deployment's cookie names and session lifetime, from its settings."""

from __future__ import annotations

from bot.web.context import context
from bot.web.staff import web_sessions


def lifetime() -> web_sessions.Lifetime:
    """How long signed-in sessions live (GROUNDSWELL_SESSION_IDLE_MINUTES, _MAX_HOURS)."""
    settings = context().settings
    return web_sessions.Lifetime.of(settings.session_idle_minutes, settings.session_max_hours)


def cookie(base: str) -> str:
    """A cookie's name on this deployment (`__Host-` prefixed over HTTPS)."""
    return web_sessions.cookie_name(base, context().settings.secure)
