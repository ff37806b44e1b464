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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        quiet = env.get("GROUNDSWELL_QUIET_HOURS", "21:00-08:00")
        start, _, end = quiet.partition("-")
        settings = cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_URL,
            public_url=(env.get("GROUNDSWELL_PUBLIC_URL") or "").rstrip("/") or None,
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


def _whole(variable: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SettingsError(f"{variable} must be a whole number of at least 1, not {value!r}")
    return number
