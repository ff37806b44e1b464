"""Sender rate limits: which limits exist (`LIMIT_KINDS`), the buckets of one worker
(`Limiter`) and the limits every worker shares through the database (`SharedLimiter`).

Why: providers throttle (Twilio long codes take about 1 message/s and queue or drop the
excess; Telegram answers 429 beyond about 30 messages/s overall or 1/s in one chat), and a
429 costs a round trip and a backoff (Telegram bans bots that keep at it). The worker asks
before every send and waits until the send is allowed, so it never outruns the provider.

On PostgreSQL every limit holds across any number of worker processes and machines: each
send first takes a slot from the limit's row in `send_limits` (`storage.send_limits`),
under a row lock. On SQLite (one writer, one worker) the worker's own buckets are the
limit. Configure with GROUNDSWELL_RATE_* (messages per second; 0 = unlimited). One outbox
row counts as one message, even when a long text goes out in several parts.

Adding a limit is one `LimitKind` line in `LIMIT_KINDS`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.settings import SettingsError
from storage import send_limits
from storage.database import transaction


@dataclass(frozen=True)
class LimitKind:
    """One kind of sender limit: the channel it holds, whether it counts per recipient
    (one chat) or for the whole sender, its setting and its default rate."""

    name: str
    channel: str
    per_recipient: bool
    variable: str
    default: float  # messages per second; 0 = unlimited


#: Every sender limit. Twilio US/CA long codes take 1 segment/s; a WhatsApp sender 80
#: messages/s; the Telegram Bot API about 30 messages/s over all chats and 1/s in one chat.
LIMIT_KINDS: tuple[LimitKind, ...] = (
    LimitKind("sms", "sms", False, "GROUNDSWELL_RATE_SMS", 1.0),
    LimitKind("whatsapp", "whatsapp", False, "GROUNDSWELL_RATE_WHATSAPP", 80.0),
    LimitKind("telegram", "telegram", False, "GROUNDSWELL_RATE_TELEGRAM", 30.0),
    LimitKind("telegram_chat", "telegram", True, "GROUNDSWELL_RATE_TELEGRAM_CHAT", 1.0),
)
_KINDS = {kind.name: kind for kind in LIMIT_KINDS}

#: Meta's messaging tier: how many different people a WhatsApp sender may start
#: conversations with (templates) in any 24 hours; 0 = no limit. New senders start at 1,000.
DAILY_RECIPIENTS_VARIABLE = "GROUNDSWELL_WHATSAPP_DAILY_RECIPIENTS"
DEFAULT_DAILY_RECIPIENTS = 1000


def daily_recipients_from_env(environ: Mapping[str, str]) -> int:
    """GROUNDSWELL_WHATSAPP_DAILY_RECIPIENTS (unset or empty: 1,000; 0: no limit)."""
    raw = (environ.get(DAILY_RECIPIENTS_VARIABLE) or "").strip()
    if not raw:
        return DEFAULT_DAILY_RECIPIENTS
    if not raw.isdigit():
        raise SettingsError(
            f"{DAILY_RECIPIENTS_VARIABLE} must be a whole number of people (0 = no limit), "
            f"not {raw!r}"
        )
    return int(raw)


#: Per-recipient buckets kept before idle (full) ones are forgotten.
MAX_CHAT_BUCKETS = 10_000
#: Shared limits space sends this much further apart than the rate says, so that the few
#: milliseconds each worker's request takes to reach the provider (which vary) never
#: squeeze two sends closer together than the provider's limit.
SHARED_MARGIN = 0.1
#: The longest a worker sleeps for a shared slot; a slot further off is left for later
#: (the worker sends other rows meanwhile, e.g. Telegram while SMS wait their turn).
SHARED_WAIT = 0.25
#: Shared reservations between two clean-ups of idle per-recipient rows.
FORGET_EVERY = 1000
_EPSILON = 1e-9


class RateLimits:
    """Messages per second for each limit kind (`LIMIT_KINDS`); 0 means unlimited.

    `RateLimits(sms=10)` overrides one kind and keeps the others' defaults; the rates
    read as attributes too (`limits.sms`).
    """

    __slots__ = ("_rates",)

    def __init__(self, **rates: float) -> None:
        unknown = set(rates) - set(_KINDS)
        if unknown:
            raise TypeError(f"unknown rate limit(s): {', '.join(sorted(unknown))}")
        self._rates = {k.name: float(rates.get(k.name, k.default)) for k in LIMIT_KINDS}

    def __getattr__(self, name: str) -> float:
        try:
            return self._rates[name]
        except KeyError:
            raise AttributeError(name) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RateLimits) and self._rates == other._rates

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._rates.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v:g}" for k, v in self._rates.items())
        return f"RateLimits({inner})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RateLimits:
        """Read each kind's GROUNDSWELL_RATE_* variable; unset or empty keeps the default."""
        return cls(**{k.name: _rate(environ, k.variable, k.default) for k in LIMIT_KINDS})

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No limits at all (benchmarks, tests, the simulator)."""
        return cls(**{k.name: 0.0 for k in LIMIT_KINDS})

    def per_second(self, kind: str) -> float:
        """The rate of limit kind `kind` (0: unlimited)."""
        return self._rates[kind]

    def rate(self, channel: str) -> float:
        """The overall (whole-sender) limit of `channel` in messages per second (0: none)."""
        overall = [
            self._rates[k.name]
            for k in LIMIT_KINDS
            if k.channel == channel and not k.per_recipient and self._rates[k.name] > 0
        ]
        return min(overall, default=0.0)

    def applying(self, channel: str, per_recipient: bool = True) -> list[LimitKind]:
        """The limits a send on `channel` counts against (per-recipient ones only when
        `per_recipient`: a Telegram callback answer is an API call, not a chat message)."""
        return [
            k
            for k in LIMIT_KINDS
            if k.channel == channel
            and self._rates[k.name] > 0
            and (per_recipient or not k.per_recipient)
        ]


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
        self._held_until = float("-inf")

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def delay(self, now: float) -> float:
        """Seconds until one token is available (0 when one is there now)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        own = 0.0 if missing <= _EPSILON else missing / self.rate
        return max(own, self._held_until - now)

    def hold_off(self, until: float) -> None:
        """Allow nothing before `until` (another worker holds the shared limit till then)."""
        self._held_until = max(self._held_until, until)

    def take(self, now: float) -> None:
        """Spend one token (callers wait for `delay` first)."""
        self._refill(now)
        self._tokens -= 1.0

    def settle(self, now: float) -> None:
        """Count the token last taken as spent at `now` (when its send returned), not when
        it was taken: the next one comes a whole interval after the send really went."""
        self._refill(now)
        self._tokens = min(self._tokens, self.burst - 1.0)

    def full(self, now: float) -> bool:
        """Whether the bucket is back to its burst (idle long enough to be forgotten)."""
        self._refill(now)
        return self._tokens >= self.burst - _EPSILON


class Limiter:
    """The buckets of one worker: one per whole-sender limit, one per recipient for the
    per-recipient limits.

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
        self._senders: dict[str, TokenBucket] = {
            k.name: TokenBucket(limits.per_second(k.name), now)
            for k in LIMIT_KINDS
            if not k.per_recipient and limits.per_second(k.name) > 0
        }
        self._recipients: dict[tuple[str, str], TokenBucket] = {}

    def delay(self, channel: str, address: str, *, per_chat: bool = True) -> float:
        """Seconds until a send on `channel` to `address` would be allowed (0: now)."""
        now = self._clock()
        buckets = self._buckets(channel, address, per_chat, now)
        return max((bucket.delay(now) for bucket in buckets), default=0.0)

    def wait(self, channel: str, address: str, *, per_chat: bool = True) -> float:
        """Sleep until a send on `channel` to `address` is allowed, then count it.

        `per_chat=False` counts only against the whole-sender limits (a Telegram callback
        answer is an API call, not a message in the chat). Returns the seconds slept.
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

    def sent(self, channel: str, address: str, *, per_chat: bool = True) -> None:
        """The send `wait` allowed has returned: its limits count from now. Between
        `wait` and the send the worker checks the row (a transaction, slow on a busy
        machine); without this, a late send and an on-time next one could fall closer
        together than the limit allows."""
        now = self._clock()
        for bucket in self._buckets(channel, address, per_chat, now):
            bucket.settle(now)

    def hold_off(
        self, channel: str, address: str, seconds: float, *, per_chat: bool = True
    ) -> None:
        """Let no send on `channel` to `address` go for `seconds` (the shared limits are
        taken by other workers until then)."""
        now = self._clock()
        for bucket in self._buckets(channel, address, per_chat, now):
            bucket.hold_off(now + seconds)

    def _buckets(self, channel: str, address: str, per_chat: bool, now: float) -> list[TokenBucket]:
        buckets = []
        for kind in self.limits.applying(channel, per_chat):
            if kind.per_recipient:
                buckets.append(self._recipient_bucket(kind, address, now))
            else:
                buckets.append(self._senders[kind.name])
        return buckets

    def _recipient_bucket(self, kind: LimitKind, address: str, now: float) -> TokenBucket:
        bucket = self._recipients.get((kind.name, address))
        if bucket is None:
            if len(self._recipients) >= MAX_CHAT_BUCKETS:
                self._recipients = {k: b for k, b in self._recipients.items() if not b.full(now)}
            bucket = TokenBucket(self.limits.per_second(kind.name), now)
            self._recipients[(kind.name, address)] = bucket
        return bucket


def limit_key(kind: LimitKind, sender: str, address: str) -> str:
    """The `send_limits` row of `kind` for this sender (and recipient, when it counts per
    recipient). Recipients are hashed: the table never holds a phone number or chat id."""
    if not kind.per_recipient:
        return f"{kind.name}:{sender}"[:100]
    digest = hashlib.sha256(f"{sender}\x00{address}".encode()).hexdigest()[:32]
    return f"{kind.name}:{digest}"


class SharedLimiter:
    """The limits every worker on one database shares (see `storage.send_limits`).

    `wait` takes one slot under each limit a send counts against, in one short
    transaction (one statement), then sleeps until it. Sends under one limit end up at
    least 1/rate x (1 + `SHARED_MARGIN`) seconds apart, whichever process makes them.
    `clock` (seconds since the epoch) replaces the database's clock: tests inject one.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        limits: RateLimits,
        sleep: Callable[[float], None],
        senders: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.sessions = sessions
        self.limits = limits
        self._sleep = sleep
        self._senders = dict(senders or {})  # channel -> the sender's own name (its number)
        self._taken = 0
        self._clock = clock
        self._monotonic = clock or time.monotonic
        # The last slot taken: its limits, when it was (database clock), and the same
        # moment on `_monotonic` (or a little earlier: `sent` errs towards later ends).
        self._last: tuple[dict[str, float], float, float] | None = None

    def wait(self, channel: str, address: str, *, per_chat: bool = True) -> float:
        """Take a slot for a send on `channel` to `address` and sleep until it; returns the
        seconds slept (0 when no limit applies)."""
        return self._reserve(channel, address, per_chat, float("inf"), near=False)[1]

    def try_wait(self, channel: str, address: str, *, per_chat: bool = True) -> float | None:
        """Like `wait` when the slot is near (at most `SHARED_WAIT` and half the shortest
        interval away; returns None once it is time to send); otherwise takes nothing and
        returns the seconds after which to ask again: when the slot will be near, so the
        next try takes it a little early and the send goes out on time (asking only once
        it is due would add the asking's own time to every interval)."""
        taken, wait = self._reserve(channel, address, per_chat, SHARED_WAIT, near=True)
        return None if taken else wait

    def sent(self, session: Session | None = None) -> None:
        """Tell the limits the send of the last slot returned (sent or failed): the next
        slot under them is then at least an interval after now. In `session` when given
        (the worker's transaction marking the row sent: no transaction of its own)."""
        if self._last is None:
            return
        intervals, at, local = self._last
        self._last = None
        done_at = at + (self._monotonic() - local)
        if session is not None:
            send_limits.settle(session, intervals, done_at)
            return
        with transaction(self.sessions) as own:
            send_limits.settle(own, intervals, done_at)

    def _reserve(
        self, channel: str, address: str, per_chat: bool, max_wait: float, *, near: bool
    ) -> tuple[bool, float]:
        """(taken, seconds): a slot taken and slept for, or (False, seconds to ask again)."""
        self._last = None
        kinds = self.limits.applying(channel, per_chat)
        if not kinds:
            return True, 0.0
        sender = self._senders.get(channel, channel)
        intervals = {
            limit_key(kind, sender, address): (1.0 + SHARED_MARGIN)
            / self.limits.per_second(kind.name)
            for kind in kinds
        }
        if near:
            # Take a slot only when it is near: the previous one's send has then most likely
            # returned and `settle`d, so the slots follow real send times, not planned ones.
            max_wait = min(max_wait, min(intervals.values()) / 2)
        now = None if self._clock is None else self._clock()
        # No later than the database reads its clock: `at` is `asked + wait` here or later,
        # so `sent` never counts a send's end as earlier than it was.
        asked = self._monotonic()
        with transaction(self.sessions) as session:
            slot = send_limits.reserve(session, intervals, max_wait, now=now)
        if not slot.taken:
            return False, max(slot.wait - max_wait, 0.0)
        self._taken += 1
        if self._taken % FORGET_EVERY == 0:
            with transaction(self.sessions) as session:
                send_limits.forget_idle(session, now=now)
        if slot.wait > 0:
            self._sleep(slot.wait)
        self._last = (intervals, slot.at, asked + max(0.0, slot.wait))
        return True, slot.wait


def shared_limiter(
    sessions: sessionmaker[Session],
    limits: RateLimits,
    senders: Mapping[str, object],
    sleep: Callable[[float], None],
) -> SharedLimiter | None:
    """The shared limiter for workers on this database: on PostgreSQL, where any number of
    workers may run; None on SQLite, where one worker's own buckets are the limit."""
    bind = sessions.kw.get("bind")
    if bind is None or bind.dialect.name != "postgresql":
        return None
    names = {channel: str(getattr(s, "limit_name", channel)) for channel, s in senders.items()}
    return SharedLimiter(sessions, limits, sleep, names)
