"""A simulated week of check-ins under faults, compared at the end with what residents saw.

`run_week(config, database_url, folder)` runs a real deployment against the fake providers
on 127.0.0.1 and the database at `database_url` (empty; it is migrated here):

- `groundswell serve` (gunicorn), two `groundswell worker` processes and clock drivers
  (`tests.faults.clock_driver`) that tick at simulated times: a daily check-in at 10:00,
  its reminder at 12:00 and its expiry at 18:00 (Europe/London), for `days` days that lie
  in the recent past, so what the clock queues is due at once for the real-time worker;
- residents (`Town`) on SMS and Telegram who read what the fake providers accepted and
  answer each question after a random delay: most at once, some only after the reminder,
  some never (the check-in expires), a few text STOP instead, a few block the bot; some
  press Telegram buttons, some type; now and then they text when nothing is open, and
  strangers text too;
- every webhook goes through the `Postman`: retried until accepted, sometimes redelivered
  up to 3 more times (copies overtake newer messages), signed as the providers sign;
- `Chaos` strikes at random moments: SIGKILL of the whole web process, of one gunicorn
  worker, of an outbox worker (each started again at once), and stretches of provider
  failures (HTTP 500, 429 with Retry-After, hangs past the client timeout, dropped
  connections, each either taking effect at the provider or not); clock drivers are
  killed mid-tick and two clocks sometimes tick at once;
- optionally PostgreSQL (a `PrivatePostgres`) is stopped for `outage_seconds` mid-run.

After each tick the run waits until the deployment is quiet (nothing left to deliver, the
outbox empty); time only moves on then, so no answer races its check-in's expiry. At the
end everything is compared with what the residents sent and received (`Verdict`).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.pool import NullPool
from twilio.request_validator import RequestValidator

from storage import migrate
from storage.database import make_engine, session_factory, transaction
from storage.models import (
    ChannelAddress,
    Enrolment,
    Group,
    OutboxItem,
    Participant,
    User,
    UserGroup,
)
from survey_flows.languages import system_text
from tests.fakes import (
    telegram_callback_update,
    telegram_text_update,
    twilio_inbound_params,
    twilio_status_callback_params,
)
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, new_sid
from tests.faults.postgres import PrivatePostgres
from tests.faults.postman import Delivery, Postman
from tests.faults.processes import Deployment
from tests.faults.providers import WatchedTelegram, WatchedTwilio
from tests.faults.verdict import Run, Verdict, judge

PUBLIC_URL = "https://fault-week.groundswell.example.org"
SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
TELEGRAM_PATH = "/webhooks/telegram"
OUR_NUMBER = "+15557650000"
TELEGRAM_SECRET = "fault-week-secret_7"
LONDON = ZoneInfo("Europe/London")
#: The providers' client timeout in `groundswell worker` (TwilioSender, TelegramSender).
SEND_TIMEOUT = 10.0
#: A hang outlasts the client timeout: the worker gives up, not knowing if it went out.
HANG_SECONDS = SEND_TIMEOUT + 2
#: Seconds between looks at the outbox while waiting for quiet (woken early by activity).
QUIET_POLL = 0.5

FLOW_ID = "daily-checkin"
FLOW_TEXT = """\
# Daily check-in of the fault suite (tests/faults): every step type, a follow-up with a
# coordinator alert, a reminder and an expiry.
flow: daily-checkin
title: Daily check-in
language: en
schedule:
  every: day
  at: "10:00"
  expires: 8h
  reminders: [2h]
intro: "Hi {{ participant.name }}, your daily check-in. Reply STOP to stop."
steps:
  - id: mood
    ask: "How are you feeling today? Reply 0 (very bad) to 10 (very good)."
    type: scale
    min: 0
    max: 10
    measure: mood
  - id: sleep
    ask: "How did you sleep last night?"
    type: choice
    choices:
      - {value: well, label: "Well", score: 3}
      - {value: so_so, label: "So-so", score: 2}
      - {value: badly, label: "Badly", score: 1}
    measure: sleep
  - id: call_back
    when: "answers.mood <= 1"
    ask: "Would you like someone from the project to call you? Reply YES or NO."
    type: yes_no
    alert: "answers.call_back"
  - id: note
    ask: "In a few words, what happened on your street today?"
    type: text
    max_length: 500
outro: "Thank you {{ participant.name }}, see you tomorrow."
measures:
  mood: {label: "Mood", higher_is_better: true, meaningful_change: 2}
  sleep: {label: "Sleep", higher_is_better: true, meaningful_change: 1}
"""
#: How a resident recognises each question (also inside a reminder).
QUESTIONS = {
    "How are you feeling today?": "mood",
    "How did you sleep last night?": "sleep",
    "Would you like someone from the project to call you?": "call_back",
    "In a few words, what happened on your street today?": "note",
}
SLEEP = (("well", "Well"), ("so_so", "So-so"), ("badly", "Badly"))
NOTES = (
    "Bins collected late again 🚮",
    "Café on the corner reopened ☕",
    "Quiet day, nothing new",
    "Street lights fixed — finally!",
    "Neighbour's dog found 🐕",
    "Roadworks on Elm St, 2 lanes closed",
    "Ça va bien, merci",
    "Market was busy today 🍎",
    "Kids playing out in the sun ☀️",
    "Pothole at No. 14 still there",
)
INTRO = "Hi Resident "
REMINDER_PREFIX = system_text("reminder_prefix", None)
OPTED_OUT_TEXT = system_text("opted_out", None)
#: (hour, minute, second) of the ticks of each simulated day, London time.
TICKS = ((10, 0, 30), (12, 0, 30), (18, 0, 30))
PROVIDER_FAULTS = ("500", "429", "timeout", "drop")
KILLS = (
    "kill web",
    "kill web worker",
    "kill outbox worker",
    "kill outbox workers mid-send twilio",
    "kill outbox workers mid-send telegram",
)
#: How long a mid-send kill waits for a send to hang on (there may be nothing to send).
MID_SEND_WAIT = 20.0


def default_deck() -> dict[str, int]:
    """How often each chaos strike comes up per round of the deck."""
    deck = {kind: 1 for kind in KILLS}
    for provider in ("twilio", "telegram"):
        for fault in PROVIDER_FAULTS:
            deck[f"{provider} {fault}"] = 1
    return deck


@dataclass
class WeekConfig:
    """Size and hostility of a run. Shares are per resident (or per resident and day)."""

    residents: int = 60
    days: int = 3
    telegram_share: float = 0.5
    seed: int = 1
    web_workers: int = 2
    web_threads: int = 4
    outbox_workers: int = 2
    postman_threads: int = 8
    telegram_chat_rate: float = 1.0  # messages per second per chat (Telegram's own limit)
    reply_delay: tuple[float, float] = (0.05, 1.0)
    redelivery_share: float = 0.3  # webhooks delivered 1-3 more times after acceptance
    redelivery_spread: float = 3.0  # seconds over which the copies arrive
    late_share: float = 0.1  # answer only after the reminder (per day)
    silent_share: float = 0.05  # never answer (per day)
    stop_share: float = 0.05  # text STOP once during the week
    blocked_share: float = 0.04  # Telegram residents who block the bot during the week
    chatter_share: float = 0.05  # text when nothing is open (per day)
    strangers: int = 3
    status_callback_share: float = 0.3  # Twilio posts status callbacks for this share
    chaos_every: float = 3.0  # mean seconds between strikes; 0 = no chaos
    chaos_deck: dict[str, int] = field(default_factory=default_deck)
    chaos_limits: dict[str, int] = field(default_factory=dict)  # most strikes per kind
    chaos_opening: tuple[str, ...] = ()  # kinds struck first, in this order
    chaos_random: bool = True  # after the opening, random strikes from the deck
    fault_stretch: tuple[float, float] = (1.0, 4.0)  # seconds a provider keeps failing
    clock_kill_share: float = 0.3
    two_clocks_share: float = 0.3
    outage_seconds: float = 0.0  # PostgreSQL stopped this long (needs `postgres`)
    outage_day: int = 1
    outage_kills_workers: bool = False  # SIGKILL the outbox workers mid-send just before it
    phase_timeout: float = 600.0


# --- residents -------------------------------------------------------------------------


@dataclass
class Resident:
    """One simulated resident and what they decided to do each day."""

    number: int
    channel: str
    address: str
    name: str
    participant_id: int = 0
    behaviour: dict[int, str] = field(default_factory=dict)  # day -> prompt|late|silent|stop
    block_day: int | None = None  # blocks the bot before this day's check-in
    answered: set[tuple[int, str]] = field(default_factory=set)
    released: set[int] = field(default_factory=set)  # days a late resident got the reminder
    stopping: bool = False
    stop_acked_at: float | None = None
    sequence: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def stop_day(self) -> int | None:
        return next((day for day, what in self.behaviour.items() if what == "stop"), None)

    def active_on(self, day: int) -> bool:
        """Whether the deployment should start this resident's check-in on `day`."""
        stop = self.stop_day
        if stop is not None and day > stop:
            return False
        return self.block_day is None or day <= self.block_day


@dataclass(frozen=True)
class ExpectedAnswer:
    """An answer a resident gave: to which question, on which day, with which value."""

    address: str
    day: int
    step: str
    value: Any


class Town:
    """The residents, their phones (everything the providers accepted for each address)
    and the webhooks they send through the postman."""

    def __init__(self, config: WeekConfig, rng: random.Random) -> None:
        self.config = config
        self.random = rng
        self.cond = threading.Condition()
        self.day = 0
        self.activity = 0
        self.residents: dict[tuple[str, str], Resident] = {}
        self.inbox: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.expected_answers: dict[tuple[str, str], ExpectedAnswer] = {}
        self.sent: set[tuple[str, str]] = set()  # (channel, provider id) of every message
        self.presses: set[str] = set()  # callback query ids of button presses
        self.postman: Postman | None = None
        self.twilio: WatchedTwilio | None = None
        self._update_ids = itertools.count(rng.randrange(10**6, 10**8))
        self._validator = RequestValidator(DEFAULT_AUTH_TOKEN)

    # ----------------------------------------------------------------- phones

    def hear(
        self, channel: str, address: str, text: str, markup: dict[str, Any] | None, ref: str
    ) -> None:
        """A provider accepted a message for `address` (called from the fake's thread)."""
        with self.cond:
            self.inbox[(channel, address)].append(text)
            self.activity += 1
            self.cond.notify_all()
            resident = self.residents.get((channel, address))
            if channel == "sms" and self.random.random() < self.config.status_callback_share:
                self._status_callbacks(address, ref)
            if resident is not None:
                self._react(resident, text, markup, ref)

    def _react(
        self, resident: Resident, text: str, markup: dict[str, Any] | None, ref: str
    ) -> None:
        if resident.stopping or (resident.block_day is not None and self.day >= resident.block_day):
            return
        behaviour = resident.behaviour.get(self.day, "prompt")
        if behaviour == "stop" and text.startswith(INTRO) and self.random.random() < 0.5:
            self._stop(resident)  # STOP at once, while the first question is on its way
            return
        step = next((s for q, s in QUESTIONS.items() if q in text), None)
        if step is None or (self.day, step) in resident.answered:
            return  # not a question, or a question asked again (a duplicate delivery)
        if behaviour == "silent":
            return
        if behaviour == "late" and self.day not in resident.released:
            if not text.startswith(REMINDER_PREFIX):
                return
            resident.released.add(self.day)
        resident.answered.add((self.day, step))
        if behaviour == "stop":
            self._stop(resident)
            return
        value, typed, data = self._answer(resident, step, markup)
        if data is not None:
            key = self._press(resident, data, int(ref), text, markup)
        else:
            key = self._text(resident, typed)
        self.expected_answers[key] = ExpectedAnswer(resident.address, self.day, step, value)

    def _answer(
        self, resident: Resident, step: str, markup: dict[str, Any] | None
    ) -> tuple[Any, str, str | None]:
        """(value the answer should be stored as, text to type, button data to press)."""
        r = self.random
        telegram_button = resident.channel == "telegram" and markup is not None and r.random() < 0.8
        if step == "mood":
            score = r.choice((0, 1)) if r.random() < 0.15 else r.randint(2, 10)
            return score, str(score), None
        if step == "sleep":
            index = r.randrange(len(SLEEP))
            value, label = SLEEP[index]
            if telegram_button:
                return value, label, _button_data(markup, label)
            typed = str(index + 1) if resident.channel == "sms" and r.random() < 0.5 else label
            return value, typed, None
        if step == "call_back":
            yes = r.random() < 0.5
            if telegram_button:
                return yes, "", _button_data(markup, "Yes" if yes else "No")
            return yes, "Yes" if yes else "no", None
        note = r.choice(NOTES)
        return note, note, None

    # ----------------------------------------------------------------- sending

    def _delay(self) -> float:
        return self.random.uniform(*self.config.reply_delay)

    def _copies(self) -> int:
        return (
            self.random.randint(1, 3) if self.random.random() < self.config.redelivery_share else 0
        )

    def _text(
        self,
        resident: Resident | None,
        text: str,
        *,
        channel: str | None = None,
        address: str | None = None,
        on_accepted: Callable[[float], None] | None = None,
        delay: float | None = None,
    ) -> tuple[str, str]:
        """Send a typed message; returns its (channel, provider id)."""
        channel = resident.channel if resident else channel
        address = resident.address if resident else address
        assert channel is not None and address is not None
        if channel == "sms":
            sid = new_sid("SM")
            params = twilio_inbound_params(address, OUR_NUMBER, text, message_sid=sid)
            delivery = self._twilio(params, SMS_PATH, "sms")
            key = ("sms", sid)
        else:
            update_id = next(self._update_ids)
            update = telegram_text_update(update_id, int(address), text, _first_name(resident))
            delivery = self._telegram(update)
            key = ("telegram", str(update_id))
        delivery.sender = f"{channel}:{address}"
        delivery.sequence = next(resident.sequence) if resident else 0
        delivery.copies = self._copies()
        delivery.on_accepted = on_accepted
        self.sent.add(key)
        assert self.postman is not None
        self.postman.post(delivery, self._delay() if delay is None else delay)
        return key

    def _press(
        self,
        resident: Resident,
        data: str,
        message_id: int,
        text: str,
        markup: dict[str, Any] | None,
    ) -> tuple[str, str]:
        """Press a Telegram button under bot message `message_id`."""
        update_id = next(self._update_ids)
        callback_id = f"cbq{update_id}"
        update = telegram_callback_update(
            update_id,
            int(resident.address),
            data,
            message_id,
            first_name=resident.name,
            callback_id=callback_id,
            message_text=text,
            reply_markup=markup,
        )
        delivery = self._telegram(update)
        delivery.sender = f"telegram:{resident.address}"
        delivery.sequence = next(resident.sequence)
        delivery.copies = self._copies()
        key = ("telegram", str(update_id))
        self.sent.add(key)
        self.presses.add(callback_id)
        assert self.postman is not None
        self.postman.post(delivery, self._delay())
        return key

    def _stop(self, resident: Resident) -> None:
        """Text STOP. On SMS, Twilio itself blocks the number from then on (error 21610)."""
        resident.stopping = True
        if resident.channel == "sms" and self.twilio is not None:
            self.twilio.opted_out(resident.address)

        def acknowledged(at: float) -> None:
            resident.stop_acked_at = at

        self._text(resident, "STOP", on_accepted=acknowledged)

    def _status_callbacks(self, address: str, sid: str) -> None:
        """Twilio reports `sent`, then `delivered` (the two may arrive in either order)."""
        assert self.postman is not None
        for status in ("sent", "delivered"):
            params = twilio_status_callback_params(sid, status, from_=OUR_NUMBER, to=address)
            delivery = self._twilio(params, STATUS_PATH, "status")
            delivery.copies = self._copies()
            self.postman.post(delivery, self._delay())

    def _twilio(self, params: dict[str, str], path: str, label: str) -> Delivery:
        signature = self._validator.compute_signature(PUBLIC_URL + path, params)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        return Delivery(label, path, urlencode(params).encode(), headers)

    def _telegram(self, update: dict[str, Any]) -> Delivery:
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        }
        return Delivery("telegram", TELEGRAM_PATH, json.dumps(update).encode(), headers)

    # ----------------------------------------------------------------- the driver's moves

    def chatter(
        self,
        strangers: Iterable[tuple[str, str]],
        *,
        residents: bool = True,
        delay: float | None = None,
    ) -> int:
        """Some residents text when nothing is open (unless not `residents`); strangers
        text (after `delay` seconds, else the usual random delay). Returns how many."""
        count = 0
        with self.cond:
            for resident in self.residents.values() if residents else ():
                gone = resident.block_day is not None and self.day >= resident.block_day
                if resident.stopping or gone:
                    continue
                if self.random.random() < self.config.chatter_share:
                    self._text(resident, "Thanks 👍")
                    count += 1
            for channel, address in strangers:
                self._text(None, "hello?", channel=channel, address=address, delay=delay)
                count += 1
        return count


def _first_name(resident: Resident | None) -> str:
    return resident.name if resident else "Stranger"


def _button_data(markup: dict[str, Any] | None, label: str) -> str | None:
    """The callback data of the button labelled `label` (None: type instead)."""
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if button.get("text") == label:
                return str(button["callback_data"])
    return None


# --- chaos and the outage ----------------------------------------------------------------


class Chaos:
    """Strikes at random moments (mean `every` seconds apart), dealing kinds from a deck so
    every kind comes up as often as the deck says (at most `limits[kind]` times, if set).
    Holds `lock` while striking.

    A provider fault is a stretch (`fault_stretch`, 1-4 s by default) during which every
    send request to that provider fails the same way (HTTP 500; 429 with Retry-After; a
    hang past the client timeout; a dropped connection), the hangs and drops either
    taking effect at the
    provider or not. One stretch per provider at a time.
    """

    def __init__(
        self,
        deployment: Deployment,
        twilio: WatchedTwilio,
        telegram: WatchedTelegram,
        config: WeekConfig,
        lock: threading.Lock,
    ) -> None:
        self.deployment = deployment
        self.fakes: dict[str, WatchedTwilio | WatchedTelegram] = {
            "twilio": twilio,
            "telegram": telegram,
        }
        self.every = config.chaos_every
        self.stretch = config.fault_stretch
        self.deck = config.chaos_deck
        self.limits = config.chaos_limits
        self.lock = lock
        self.random = random.Random(config.seed * 7919)
        self.struck: Counter[str] = Counter()
        self.error: BaseException | None = None
        self._hand: list[str] = []
        self._opening = list(reversed(config.chaos_opening))
        self._random_strikes = config.chaos_random
        self._until: dict[str, float] = {}
        self._timers: list[threading.Timer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        if self.every > 0:
            self._thread.start()

    def stop(self) -> None:
        """No more strikes; provider stretches still running end now."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for timer in self._timers:
            timer.cancel()
        for fake in self.fakes.values():
            fake.clear_faults()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.random.expovariate(1 / self.every)):
                with self.lock:
                    opening = bool(self._opening)
                    kind = self._deal()
                    if kind is not None and not self._stop.is_set():
                        self.strike(kind, counted=opening)
        except BaseException as error:  # reported by the driver
            self.error = error

    def _possible(self, kind: str) -> bool:
        if kind in self.limits and self.struck[kind] >= self.limits[kind]:
            return False
        provider = kind.split()[0]
        if provider not in self.fakes:
            return True
        # One stretch at a time, and never over faults still waiting to hit a request.
        idle = not self.fakes[provider].pending_faults
        return idle and self._until.get(provider, 0) < time.monotonic()

    def _deal(self) -> str | None:
        """The next kind from the deck that may strike now (None: none may)."""
        while self._opening:
            kind = self._opening.pop()
            if self._possible(kind):
                return kind
        if not self._random_strikes:
            return None
        for _ in range(2):
            for index in range(len(self._hand) - 1, -1, -1):
                if self._possible(self._hand[index]):
                    return self._hand.pop(index)
            kinds = [kind for kind, copies in self.deck.items() for _ in range(copies)]
            if not any(self._possible(kind) for kind in kinds):
                return None
            self._hand = kinds
            self.random.shuffle(self._hand)
        return None

    def strike(self, kind: str, *, counted: bool = False) -> None:
        """Do one strike of `kind` (see `default_deck`).

        `counted`: a provider fault hits the next two send requests (one, for a hang),
        whenever they come, instead of a stretch of time (so an opening strike lands).
        """
        r = self.random
        if kind == "kill web":
            self.deployment.kill_web()
        elif kind == "kill web worker":
            if not self.deployment.kill_web_worker():
                return
        elif kind == "kill outbox worker":
            self.deployment.kill_worker()
        elif kind.startswith("kill outbox workers mid-send"):
            if not self._kill_mid_send(self.fakes[kind.split()[-1]]):
                return
        else:
            provider, fault = kind.split()
            fake = self.fakes[provider]
            only = None if provider == "twilio" else "sendMessage"  # Twilio: find_sent too
            many = 1000  # every request of the stretch
            if counted:  # the next two requests (one hang: it holds a worker for 10 s)
                many = 1 if fault == "timeout" else 2
            if fault == "500":
                fake.fail_next(many, 500, only=only)
            elif fault == "429":
                fake.rate_limit_next(many, retry_after=r.randint(1, 2), only=only)
            elif fault == "timeout":
                fake.hang_next(many, HANG_SECONDS, accepted=r.random() < 0.5, only=only)
            else:
                fake.drop_next(many, accepted=r.random() < 0.5, only=only)
            if counted:
                self.struck[kind] += 1
                return
            seconds = r.uniform(*self.stretch)
            self._until[provider] = time.monotonic() + seconds
            timer = threading.Timer(seconds, fake.clear_faults)
            timer.daemon = True
            timer.start()
            self._timers.append(timer)
        self.struck[kind] += 1

    def kill_mid_send(self) -> None:
        """A mid-send kill on Twilio now (the caller holds the lock), counted as a strike."""
        kind = "kill outbox workers mid-send twilio"
        if self._kill_mid_send(self.fakes["twilio"]):
            self.struck[kind] += 1

    def _kill_mid_send(self, fake: WatchedTwilio | WatchedTelegram) -> bool:
        """Hold the next send at the provider (which takes the message), and SIGKILL every
        outbox worker while it waits for the answer: the worst moment to die. False when
        nothing was sent within `MID_SEND_WAIT` seconds (then nothing is killed)."""
        only = "create" if isinstance(fake, WatchedTwilio) else "sendMessage"
        fake.hang_next(1, HANG_SECONDS, accepted=True, only=only)
        try:
            fake._wait_until(
                lambda: True if not fake.pending_faults else None, MID_SEND_WAIT, "a send"
            )
        except AssertionError:
            fake.clear_faults()
            return False
        for index in range(len(self.deployment.workers)):
            self.deployment.kill_worker(index)
        return True


class Outage:
    """Stops PostgreSQL for `seconds`, `delay` seconds after `start()`, holding `lock` (no
    other strike meanwhile), and records when it was down."""

    def __init__(
        self,
        postgres: PrivatePostgres,
        deployment: Deployment,
        seconds: float,
        delay: float,
        lock: threading.Lock,
        during: Callable[[], object] = lambda: None,
        before: Callable[[], object] | None = None,
    ) -> None:
        self.during = during
        self.before = before or (lambda: None)
        self.postgres = postgres
        self.deployment = deployment
        self.seconds = seconds
        self.delay = delay
        self.lock = lock
        self.began: float | None = None
        self.ended: float | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="outage", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> None:
        self._thread.join()

    def _run(self) -> None:
        try:
            time.sleep(self.delay)  # choosing the moment, mid-phase
            with self.lock:
                self.before()
                self.deployment.database_up.clear()
                self.postgres.stop("immediate")
                self.began = time.monotonic()
                self.during()
                time.sleep(self.seconds)  # the outage itself
                self.ended = time.monotonic()
                self.postgres.start()
                self.deployment.database_up.set()
        except BaseException as error:  # reported by the driver
            self.error = error
            self.deployment.database_up.set()


# --- the run -----------------------------------------------------------------------------


class WeekFailed(RuntimeError):
    """The run could not finish (a process would not start, the deployment never got quiet)."""


def first_day(days: int) -> date:
    """The simulated week's first day: over in time, so everything queued is due at once."""
    return datetime.now(LONDON).date() - timedelta(days=days + 2)


def moment(day: date, hms: tuple[int, int, int]) -> datetime:
    """A London wall-clock time on `day`, in UTC."""
    return datetime.combine(day, clock_time(*hms), LONDON).astimezone(UTC)


def write_flows(folder: Path) -> Path:
    """The flows folder: the daily check-in and the shipped welcome flow."""
    flows = folder / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    (flows / f"{FLOW_ID}.yaml").write_text(FLOW_TEXT)
    shipped = Path(__file__).resolve().parents[2] / "survey_flows" / "library" / "welcome.yaml"
    (flows / "welcome.yaml").write_text(shipped.read_text())
    return flows


def plan_residents(config: WeekConfig, rng: random.Random) -> list[Resident]:
    """Who the residents are and what each will do each day."""
    residents = []
    for n in range(config.residents):
        telegram = rng.random() < config.telegram_share
        resident = Resident(
            number=n,
            channel="telegram" if telegram else "sms",
            address=str(610_000_000 + n) if telegram else f"+44770{n:07d}",
            name=f"Resident {n}",
        )
        for day in range(config.days):
            roll = rng.random()
            if roll < config.silent_share:
                resident.behaviour[day] = "silent"
            elif roll < config.silent_share + config.late_share:
                resident.behaviour[day] = "late"
            else:
                resident.behaviour[day] = "prompt"
        if rng.random() < config.stop_share:
            resident.behaviour[rng.randrange(config.days)] = "stop"
        elif telegram and config.days > 1 and rng.random() < config.blocked_share:
            resident.block_day = rng.randrange(1, config.days)
        residents.append(resident)
    return residents


def seed(url: str, residents: list[Resident], start: date) -> list[tuple[str, str]]:
    """Migrate and fill the database: a group, its residents enrolled in the daily flow
    before the first day's check-in, and two coordinators (alerts, a weekly summary).
    Returns the coordinators' (channel, address)."""
    migrate.upgrade(url)
    engine = make_engine(url, poolclass=NullPool)
    enrolled = moment(start, (8, 0, 0))
    coordinators = [("sms", "+15550000001"), ("telegram", "990000001")]
    try:
        with transaction(session_factory(engine)) as session:
            group = session.scalars(
                insert(Group).returning(Group.id),
                [{"name": "Fault Street", "join_code": "FAULT", "default_flow": FLOW_ID}],
            ).one()
            ids = session.scalars(
                insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
                [
                    {
                        "name": r.name,
                        "pseudonym": f"FW{r.number:07d}",
                        "group_id": group,
                        "opted_out": False,
                        "created_at": enrolled,
                    }
                    for r in residents
                ],
            ).all()
            for resident, participant_id in zip(residents, ids, strict=True):
                resident.participant_id = participant_id
            session.execute(
                insert(ChannelAddress),
                [
                    {"participant_id": r.participant_id, "channel": r.channel, "address": r.address}
                    for r in residents
                ],
            )
            session.execute(
                insert(Enrolment),
                [
                    {
                        "participant_id": r.participant_id,
                        "group_id": group,
                        "flow_id": FLOW_ID,
                        "enrolled_at": enrolled,
                        "active": True,
                    }
                    for r in residents
                ],
            )
            weekday = (start + timedelta(days=min(2, 6))).weekday()
            for channel, address in coordinators:
                user_id = session.scalars(
                    insert(User).returning(User.id),
                    [
                        {
                            "role": "coordinator",
                            "name": f"Coordinator {channel}",
                            "channel": channel,
                            "address": address,
                            "summary_weekday": weekday,
                            "summary_time": "09:00",
                        }
                    ],
                ).one()
                session.execute(insert(UserGroup), [{"user_id": user_id, "group_id": group}])
    finally:
        engine.dispose()
    return coordinators


def environment(
    url: str, flows: Path, twilio: WatchedTwilio, telegram: WatchedTelegram, chat_rate: float
) -> dict[str, str]:
    """The environment of every process: this database, the fakes, no overall rate limits
    (a week of a thousand residents would take days at one SMS a second), Telegram's
    per-chat limit as configured."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWILIO_", "TELEGRAM_", "GROUNDSWELL_", "WEB_CONCURRENCY"))
        and key not in ("DATABASE_URL", "PORT")
    }
    env.update(
        DATABASE_URL=url,
        GROUNDSWELL_FLOWS=str(flows),
        GROUNDSWELL_PUBLIC_URL=PUBLIC_URL,
        TWILIO_ACCOUNT_SID=DEFAULT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=DEFAULT_AUTH_TOKEN,
        TWILIO_FROM=OUR_NUMBER,
        TWILIO_API_URL=twilio.base_url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_API_URL=telegram.base_url,
        GROUNDSWELL_RATE_SMS="0",
        GROUNDSWELL_RATE_TELEGRAM="0",
        GROUNDSWELL_RATE_TELEGRAM_CHAT=f"{chat_rate:g}",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_week(
    config: WeekConfig,
    database_url: str,
    folder: Path,
    *,
    postgres: PrivatePostgres | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> Verdict:
    """Run the simulated week (see the module docstring) and judge it."""
    if config.outage_seconds and postgres is None:
        raise ValueError("an outage needs a PrivatePostgres to stop")
    rng = random.Random(config.seed)
    start = first_day(config.days)
    residents = plan_residents(config, rng)
    coordinators = seed(database_url, residents, start)
    flows = write_flows(folder)
    town = Town(config, rng)
    town.residents = {(r.channel, r.address): r for r in residents}
    strangers = [("sms", f"+44770999{n:04d}") for n in range(config.strangers)]
    strangers += [("telegram", str(770_000 + n)) for n in range(min(1, config.strangers))]
    with (
        WatchedTwilio(town.hear) as twilio,
        WatchedTelegram(town.hear) as telegram,
    ):
        town.twilio = twilio
        deployment = Deployment(
            folder,
            environment(database_url, flows, twilio, telegram, config.telegram_chat_rate),
            web_workers=config.web_workers,
            web_threads=config.web_threads,
            outbox_workers=config.outbox_workers,
            seed=config.seed,
        )
        postman = Postman(
            deployment.port,
            threads=config.postman_threads,
            seed=config.seed,
            spread=config.redelivery_spread,
        )
        town.postman = postman
        lock = threading.Lock()
        chaos = Chaos(deployment, twilio, telegram, config, lock)
        outage: Outage | None = None
        watcher = make_engine(database_url, poolclass=NullPool, **_connect_args(database_url))
        began = time.monotonic()
        ticks: list[float] = []  # when each tick began (monotonic)
        try:
            say(f"starting serve, {config.outbox_workers} workers and the clocks")
            deployment.start()
            say(f"deployment up in {time.monotonic() - began:.0f} s")
            chaos.start()
            for day in range(config.days):
                with town.cond:
                    town.day = day
                    for resident in residents:
                        if resident.block_day == day:
                            telegram.blocked(int(resident.address))
                for hms in TICKS:
                    phase_began = time.monotonic()
                    ticks.append(phase_began)
                    at = moment(start + timedelta(days=day), hms)
                    report = deployment.tick(
                        at.isoformat(),
                        kill=rng.random() < config.clock_kill_share,
                        both=rng.random() < config.two_clocks_share,
                    )
                    if config.outage_seconds and day == config.outage_day and hms == TICKS[0]:
                        assert postgres is not None
                        outage = Outage(
                            postgres,
                            deployment,
                            config.outage_seconds,
                            rng.uniform(0.2, 1.5),
                            lock,
                            during=lambda: town.chatter(strangers, residents=False, delay=0.0),
                            before=chaos.kill_mid_send if config.outage_kills_workers else None,
                        )
                        outage.start()
                    if hms == TICKS[-1]:
                        town.chatter(strangers)
                    _wait_quiet(town, postman, watcher, chaos, outage, config.phase_timeout)
                    say(
                        f"day {day + 1} {hms[0]:02d}:{hms[1]:02d}: started {report['started']}, "
                        f"reminded {report['reminded']}, expired {report['expired']}, "
                        f"summaries {report['summaries']}; quiet after "
                        f"{time.monotonic() - phase_began:.0f} s (run: "
                        f"{time.monotonic() - began:.0f} s, strikes: {sum(chaos.struck.values())})"
                    )
            chaos.stop()
            if outage is not None:
                outage.join()
            twilio.clear_faults()
            telegram.clear_faults()
            _wait_quiet(town, postman, watcher, chaos, outage, config.phase_timeout)
            seconds = time.monotonic() - began
        finally:
            chaos.stop()
            deployment.stop()
            postman.close()
            watcher.dispose()
        for error in (chaos.error, outage.error if outage else None):
            if error is not None:
                raise WeekFailed(f"a strike failed: {error!r}") from error
        return judge(
            Run(
                config=config,
                url=database_url,
                town=town,
                residents=residents,
                coordinators=coordinators,
                start=start,
                deployment=deployment,
                postman=postman,
                chaos=chaos,
                outage=outage,
                twilio=twilio,
                telegram=telegram,
                seconds=seconds,
                ticks=ticks,
                london=LONDON,
                opted_out_text=OPTED_OUT_TEXT,
            )
        )


def _connect_args(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": 2}}
    return {}


def _pending(watcher: Engine) -> int | None:
    """Outbox rows not yet done (queued or sending); None when the database is away."""
    try:
        with watcher.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status.in_(("queued", "sending")))
            )
    except Exception:  # PostgreSQL stopped, or SQLite busy: not quiet yet
        return None


def _wait_quiet(
    town: Town,
    postman: Postman,
    watcher: Engine,
    chaos: Chaos,
    outage: Outage | None,
    timeout: float,
) -> None:
    """Until nothing is left to deliver either way: no webhook waiting or on its way, no
    outbox row pending, and no message heard meanwhile (so nothing is about to follow).

    The outbox lives in another process's database: it is looked at every `QUIET_POLL`
    seconds, or sooner when a provider accepts a message.
    """
    deadline = time.monotonic() + timeout
    while True:
        with town.cond:
            mark = town.activity
        if postman.idle() and not (outage and outage.running):
            pending = _pending(watcher)
            if pending == 0 and postman.idle():
                with town.cond:
                    if town.activity == mark:
                        return
        for error in (chaos.error, outage.error if outage else None):
            if error is not None:
                raise WeekFailed(f"a strike failed: {error!r}") from error
        if time.monotonic() > deadline:
            raise WeekFailed(
                f"not quiet after {timeout:.0f} s: postman idle {postman.idle()}, "
                f"outbox rows pending {_pending(watcher)}"
            )
        with town.cond:
            town.cond.wait_for(lambda mark=mark: town.activity != mark, QUIET_POLL)
