"""Deployment settings, read from the environment in one place. No credentials live here.

Provider credentials are read by the channel modules themselves (`bot/channels/`), so
that nothing else ever holds a token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.database import DEFAULT_URL


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything a deployment may tune, with safe defaults for the embedded SQLite setup."""

    database_url: str = DEFAULT_URL
    public_url: str | None = None
    default_timezone: str = "Europe/London"
    default_region: str = "GB"  # for phone numbers written without +country code
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    suppression_threshold: int = 5
    forget_keeps_answers: bool = True  # `participants forget` keeps anonymous answers
    # Seeds the consistent noise of published means (reports.disclosure); keep it secret.
    report_key: str = "groundswell-default-report-key"
    #: GROUNDSWELL_HTTPS=1: served over HTTPS (see `secure`).
    https: bool = False
    #: How many proxies in front of the app append to X-Forwarded-For (0: none trusted).
    trusted_proxies: int = 0
    #: A signed-in web session ends after this many minutes without a request...
    session_idle_minutes: int = 30
    #: ...and at the latest this many hours after signing in.
    session_max_hours: int = 12

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        quiet = env.get("GROUNDSWELL_QUIET_HOURS", "21:00-08:00")
        start, _, end = quiet.partition("-")
        public_url = (env.get("GROUNDSWELL_PUBLIC_URL") or "").rstrip("/") or None
        settings = cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_URL,
            public_url=public_url,
            default_timezone=env.get("GROUNDSWELL_TIMEZONE", "Europe/London"),
            default_region=env.get("GROUNDSWELL_PHONE_REGION", "GB").upper(),
            quiet_start=_clock_time("GROUNDSWELL_QUIET_HOURS", start),
            quiet_end=_clock_time("GROUNDSWELL_QUIET_HOURS", end),
            suppression_threshold=_whole(
                "GROUNDSWELL_MIN_GROUP_SIZE", env.get("GROUNDSWELL_MIN_GROUP_SIZE", "5")
            ),
            report_key=env.get("GROUNDSWELL_REPORT_KEY") or "groundswell-default-report-key",
            forget_keeps_answers=env.get("GROUNDSWELL_FORGET_KEEPS_ANSWERS", "yes").lower()
            in ("1", "yes", "true", "on"),
            https=_flag(env.get("GROUNDSWELL_HTTPS", "")),
            trusted_proxies=_whole(
                "GROUNDSWELL_TRUSTED_PROXIES", env.get("GROUNDSWELL_TRUSTED_PROXIES", "0"), 0
            ),
            session_idle_minutes=_whole(
                "GROUNDSWELL_SESSION_IDLE_MINUTES",
                env.get("GROUNDSWELL_SESSION_IDLE_MINUTES", "30"),
            ),
            session_max_hours=_whole(
                "GROUNDSWELL_SESSION_MAX_HOURS", env.get("GROUNDSWELL_SESSION_MAX_HOURS", "12")
            ),
        )
        try:
            ZoneInfo(settings.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"GROUNDSWELL_TIMEZONE={settings.default_timezone!r} is not a time zone; "
                "use an IANA name such as Europe/London"
            ) from None
        return settings

    @property
    def secure(self) -> bool:
        """Served over HTTPS (GROUNDSWELL_HTTPS=1 or an https public URL): Secure `__Host-`
        cookies and HSTS."""
        return self.https or (self.public_url or "").lower().startswith("https://")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


def _clock_time(variable: str, value: str) -> time:
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise SettingsError(
            f"{variable} must look like 21:00-08:00 (24-hour local times), not {value!r}"
        ) from None


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "yes", "true", "on")


def _whole(variable: str, value: str, least: int = 1) -> int:
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        raise SettingsError(f"{variable} must be a whole number of at least {least}, not {value!r}")
    return number
