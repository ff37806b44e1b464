"""Per-channel send rate limits: token buckets on an injected clock.

Why: providers throttle (Twilio long codes take about 1 message/s and queue or drop the
excess; Telegram answers 429 beyond about 30 messages/s overall or 1/s in one chat), and a
429 costs a round trip and a backoff. The worker asks the `Limiter` before every send and
sleeps until the send is allowed, so it never outruns the provider in the first place.

The limits are per worker PROCESS (per `Worker`): several workers against one database
send up to that many times the rate. Running N workers, divide each limit by N.
Configure with GROUNDSWELL_RATE_SMS, GROUNDSWELL_RATE_TELEGRAM and
GROUNDSWELL_RATE_TELEGRAM_CHAT (messages per second; 0 = unlimited). One outbox row counts
as one message, even when a long text goes out in several parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.settings import SettingsError

#: Per-chat buckets kept before idle (full) ones are forgotten.
MAX_CHAT_BUCKETS = 10_000
_EPSILON = 1e-9


@dataclass(frozen=True)
class RateLimits:
    """Messages per second per channel for one worker; 0 means unlimited."""

    sms: float = 1.0  # Twilio US/CA long code: 1 segment/s
    telegram: float = 30.0  # Bot API, all chats together
    telegram_chat: float = 1.0  # Bot API, one chat

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RateLimits:
        """Read GROUNDSWELL_RATE_SMS, GROUNDSWELL_RATE_TELEGRAM and
        GROUNDSWELL_RATE_TELEGRAM_CHAT; unset or empty keeps the default."""
        defaults = cls()
        return cls(
            sms=_rate(environ, "GROUNDSWELL_RATE_SMS", defaults.sms),
            telegram=_rate(environ, "GROUNDSWELL_RATE_TELEGRAM", defaults.telegram),
            telegram_chat=_rate(environ, "GROUNDSWELL_RATE_TELEGRAM_CHAT", defaults.telegram_chat),
        )

    def rate(self, channel: str) -> float:
        """The overall limit of `channel` in messages per second (0: unlimited)."""
        return {"sms": self.sms, "telegram": self.telegram}.get(channel, 0.0)

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No limits at all (benchmarks, tests, the simulator)."""
        return cls(sms=0, telegram=0, telegram_chat=0)


def _rate(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):  # also rejects NaN
        raise SettingsError(
            f"{name} must be a number of messages per second (0 = unlimited), not {raw!r}"
        )
    return value


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`; starts full.

    Times are seconds on any clock that does not run backwards much (a step back is
    treated as no time passing).
    """

    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def delay(self, now: float) -> float:
        """Seconds until one token is available (0 when one is there now)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return 0.0 if missing <= _EPSILON else missing / self.rate

    def take(self, now: float) -> None:
        """Spend one token (callers wait for `delay` first)."""
        self._refill(now)
        self._tokens -= 1.0

    def full(self, now: float) -> bool:
        """Whether the bucket is back to its burst (idle long enough to be forgotten)."""
        self._refill(now)
        return self._tokens >= self.burst - _EPSILON


class Limiter:
    """The buckets of one worker: one per channel, plus one per Telegram chat.

    Not thread-safe: one limiter per worker thread. `clock` returns seconds, `sleep`
    waits; tests inject a fake pair so that no test really sleeps.
    """

    def __init__(
        self,
        limits: RateLimits,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._channels: dict[str, TokenBucket] = {}
        if limits.sms > 0:
            self._channels["sms"] = TokenBucket(limits.sms, now)
        if limits.telegram > 0:
            self._channels["telegram"] = TokenBucket(limits.telegram, now)
        self._chats: dict[str, TokenBucket] = {}

    def delay(self, channel: str, address: str, *, per_chat: bool = True) -> float:
        """Seconds until a send on `channel` to `address` would be allowed (0: now)."""
        now = self._clock()
        buckets = self._buckets(channel, address, per_chat, now)
        return max((bucket.delay(now) for bucket in buckets), default=0.0)

    def wait(self, channel: str, address: str, *, per_chat: bool = True) -> float:
        """Sleep until a send on `channel` to `address` is allowed, then count it.

        `per_chat=False` counts only against the channel's overall limit (a Telegram
        callback answer is an API call, not a message in the chat). Returns the seconds
        slept.
        """
        now = self._clock()
        buckets = self._buckets(channel, address, per_chat, now)
        if not buckets:
            return 0.0
        delay = max(bucket.delay(now) for bucket in buckets)
        if delay > 0:
            self._sleep(delay)
            # The buckets are ours alone: after `delay` the tokens are there.
            now = max(self._clock(), now + delay)
        for bucket in buckets:
            bucket.take(now)
        return delay

    def _buckets(self, channel: str, address: str, per_chat: bool, now: float) -> list[TokenBucket]:
        buckets = []
        overall = self._channels.get(channel)
        if overall is not None:
            buckets.append(overall)
        if per_chat and channel == "telegram" and self.limits.telegram_chat > 0:
            buckets.append(self._chat_bucket(address, now))
        return buckets

    def _chat_bucket(self, address: str, now: float) -> TokenBucket:
        bucket = self._chats.get(address)
        if bucket is None:
            if len(self._chats) >= MAX_CHAT_BUCKETS:
                self._chats = {k: b for k, b in self._chats.items() if not b.full(now)}
            bucket = self._chats[address] = TokenBucket(self.limits.telegram_chat, now)
        return bucket
