"""The outbox worker: claims due rows, sends them through the channels, records the outcome.

Per row: the claim is one short transaction, the send happens OUTSIDE any transaction
(a slow provider must not hold database locks), and the outcome is marked in another
short transaction. A worker may die at any moment:

- died after the claim, before or during the send: the row's lease runs out, another
  worker reclaims it and, because the outcome is unknown, first asks the provider whether
  the message arrived (`Sender.find_sent`). Twilio can tell: the row is marked sent
  without sending ("recovered"). Telegram cannot: the row is sent again and a
  "possible duplicate" warning names the outbox id. A timeout or dropped connection is
  treated the same way: the provider may have accepted the message.
- died after the send, before the mark: as above.

Retryable errors go back to the queue with exponential backoff (honouring Retry-After);
an opted-out recipient marks the participant opted out and cancels what is queued for
them; permanent errors fail the row. Logs carry outbox ids, channels and error codes,
never phone numbers, chat ids or message text.

Several workers may run against one database (PostgreSQL skips rows another worker
holds); with a `SharedLimiter` (PostgreSQL) the rate limits hold across all of them
(`bot.delivery.rate_limits`).
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import WHATSAPP_OUTSIDE_WINDOW, OutboundMessage, Sender, SendError
from bot.delivery import outbox
from bot.delivery.rate_limits import (
    DAILY_RECIPIENTS_VARIABLE,
    DEFAULT_DAILY_RECIPIENTS,
    Limiter,
    RateLimits,
    SharedLimiter,
)
from storage.database import transaction
from storage.models import OutboxItem
from survey_flows.engine_values import Option

log = logging.getLogger(__name__)

#: Longest backoff between two attempts of one row.
MAX_BACKOFF = 600.0
#: A claim takes about what the channel's rate limit lets out in this many seconds.
CLAIM_HORIZON = 10.0
#: Seconds before a channel that had nothing due is asked again during a long drain.
IDLE_RECHECK = 1.0
#: Channels whose provider can say whether it holds a message (`find_sent` is reliable);
#: for the others a None from `find_sent` only means "cannot tell".
PROVIDER_CAN_TELL = frozenset({"sms", "whatsapp"})
#: Error codes that mean "too many requests": the message certainly did not go out.
RATE_LIMIT_CODES = frozenset({"429", "20429"})
_NUMBER = re.compile(r"\+?\d[\d ()./-]{5,}\d")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def redact(text: str) -> str:
    """`text` with anything that looks like a phone number or chat id replaced.

    Provider error messages quote the recipient ("Invalid 'To' Phone Number: +44...");
    they go to logs and to `outbox.last_error`, so the numbers are taken out first.
    """
    return _NUMBER.sub("<number>", text)


@dataclass
class DrainReport:
    """What one drain (or a worker's whole life) did, counted in outbox rows.

    `recovered` rows were found at the provider after an attempt with an unknown outcome
    and marked sent without sending again; they are not counted in `sent`.
    """

    sent: int = 0
    retried: int = 0
    failed: int = 0
    opted_out: int = 0
    recovered: int = 0
    held: int = 0  # WhatsApp refused free-form (63016): held, the template sent instead

    @property
    def total(self) -> int:
        """Rows handled, whatever the outcome."""
        return sum(getattr(self, f.name) for f in fields(self))

    def add(self, other: DrainReport) -> None:
        """Add `other`'s counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def __str__(self) -> str:
        held = f", held for WhatsApp's window {self.held}" if self.held else ""
        return (
            f"sent {self.sent}, retried {self.retried}, failed {self.failed}, "
            f"opted out {self.opted_out}, recovered {self.recovered}{held}"
        )


@dataclass(frozen=True)
class _Job:
    """A claimed row, copied out of the claim's transaction."""

    id: int
    kind: str
    channel: str
    address: str
    body: str
    buttons: tuple[Option, ...]
    photo: bytes | None
    attempts: int
    created_at: datetime
    key: str
    in_doubt: bool
    template: outbox.Opening | None = None

    @classmethod
    def of(cls, item: Row[*tuple[Any, ...]]) -> _Job:
        """The job of one row `outbox.claim` returned."""
        return cls(
            id=item.id,
            kind=item.kind,
            channel=item.channel,
            address=item.address,
            body=item.body,
            buttons=tuple(Option(b["value"], b["label"]) for b in item.buttons or ()),
            photo=item.photo,
            attempts=item.attempts,
            created_at=item.created_at,
            key=item.idempotency_key,
            in_doubt=outbox.outcome_unknown(item),
            template=outbox.template_of(item.body) if item.kind == outbox.TEMPLATE else None,
        )

    def outbound(self) -> OutboundMessage:
        """The message for the sender (SMS rows already carry their numbered options)."""
        return OutboundMessage(
            channel=self.channel,
            address=self.address,
            body=self.body,
            options=self.buttons,
            photo=self.photo,
            key=self.key,
            template=self.template.template if self.template else None,
            variables=self.template.variables if self.template else (),
        )


@dataclass
class _Batch:
    """One claim's rows (one channel, claim order) and the lease they share."""

    jobs: list[_Job]
    deadline: datetime  # the lease end


@dataclass
class _Drain:
    """The state of one `run_once`: a batch per channel, and what is done."""

    report: DrainReport = field(default_factory=DrainReport)
    batches: dict[str, _Batch] = field(default_factory=dict)
    idle: dict[str, datetime] = field(default_factory=dict)  # channel -> found nothing at
    dropped: set[int] = field(default_factory=set)  # held rows cancelled (opted out) or lost


class Worker:
    """Drains the outbox through `senders` (channel name -> `Sender`).

    Only rows of channels with a sender are claimed. `clock` gives aware UTC datetimes and
    `sleep` waits; both are injected so tests run on a fake clock. `limits` default to
    `RateLimits()` (safe provider defaults). `lease` must comfortably exceed a send's
    HTTP timeout: a lease is renewed whenever less than a quarter of it is left.
    `shared` (PostgreSQL, see `rate_limits.shared_limiter`) makes the limits hold across
    every worker: each send also takes its slot there, just before it goes.
    `whatsapp_daily_recipients` is Meta's tier: templates (which start conversations) go
    to at most that many different people in any 24 hours (0: no limit); a template over
    it waits, with a log line, until the oldest of those turns a day old. Workers count
    from the database, so two racing workers may overshoot by a message or two.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Mapping[str, Sender],
        *,
        name: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
        limits: RateLimits | None = None,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 12,
        sleep: Callable[[float], None] = time.sleep,
        shared: SharedLimiter | None = None,
        whatsapp_daily_recipients: int = DEFAULT_DAILY_RECIPIENTS,
    ) -> None:
        if batch < 1 or max_attempts < 1 or lease <= timedelta(0):
            raise ValueError("batch and max_attempts must be >= 1 and lease positive")
        self.sessions = sessions
        self.senders = dict(senders)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.max_attempts = max_attempts
        self.limits = limits or RateLimits()
        self.limiter = Limiter(self.limits, lambda: clock().timestamp(), sleep)
        self.shared = shared
        self.whatsapp_daily_recipients = whatsapp_daily_recipients
        self._paused: dict[str, datetime] = {}  # channel -> until (after a 429)
        self._random = random.Random()

    # ----------------------------------------------------------------- public API

    def run_once(self, stop: threading.Event | None = None) -> DrainReport:
        """Claim and send until nothing is due now; return what happened.

        With `stop` set meanwhile, finishes the current row, hands the rows it still
        holds back to the queue and returns.
        """
        drain = _Drain()
        while stop is None or not stop.is_set():
            self._refill(drain)
            picked = self._next(drain)
            if picked is None:
                break
            batch, job = picked
            batch.jobs.remove(job)
            drain.idle.pop(job.channel, None)  # its address may have a next row now
            if job.id in drain.dropped or not self._hold(batch, job, drain):
                continue
            self._process(job, batch, drain)
        for batch in drain.batches.values():
            self._hand_back(batch, drain)
        return drain.report

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> DrainReport:
        """Drain, then poll every `poll` seconds, until `stop` is set; return the totals.

        A failing database does not end the loop: the drain is retried after `poll`.
        """
        total = DrainReport()
        while not stop.is_set():
            try:
                report = self.run_once(stop)
            except Exception as exc:  # e.g. the database restarting; rows keep their leases
                log.error("outbox drain failed (%s); trying again", type(exc).__name__)
                log.debug("outbox drain failure", exc_info=True)
                stop.wait(poll)
                continue
            total.add(report)
            if report.total == 0:
                stop.wait(poll)
        return total

    # ----------------------------------------------------------------- claiming

    def _refill(self, drain: _Drain) -> None:
        """Claim more rows for every channel whose batch ran out (a channel that had
        nothing is asked again after `IDLE_RECHECK` seconds, while others keep us busy).

        Each channel has its own batch, sized to what its rate limit lets out in
        `CLAIM_HORIZON` seconds: a backlog of SMS waiting for their 1/s never holds up
        Telegram rows claimed behind it, nor sits leased where another worker could send
        it. A channel the provider asked to wait (429) gets its rows handed back.
        """
        now = self.clock()
        self._paused = {c: until for c, until in self._paused.items() if until > now}
        for channel in self.senders:
            batch = drain.batches.get(channel)
            if channel in self._paused:
                if batch is not None:
                    self._hand_back(batch, drain)
                continue
            if batch is not None and batch.jobs:
                continue
            idle_since = drain.idle.get(channel)
            if idle_since is not None and (now - idle_since).total_seconds() < IDLE_RECHECK:
                continue
            claimed = self._claim(channel, now)
            if claimed is None:
                drain.idle[channel] = now
            else:
                drain.batches[channel] = claimed

    def _claim(self, channel: str, now: datetime) -> _Batch | None:
        rate = self.limits.rate(channel)
        limit = self.batch if rate <= 0 else min(self.batch, math.ceil(rate * CLAIM_HORIZON))
        with transaction(self.sessions) as session:
            items = outbox.claim(
                session, self.name, now, limit=limit, lease=self.lease, channels=(channel,)
            )
            jobs = [_Job.of(item) for item in items]
        if not jobs:
            return None
        return _Batch(jobs, deadline=now + self.lease)

    def _hand_back(self, batch: _Batch, drain: _Drain) -> None:
        """Release the batch's unsent rows: due again at once, for any worker."""
        ids = [job.id for job in batch.jobs if job.id not in drain.dropped]
        batch.jobs.clear()
        if ids:
            with transaction(self.sessions) as session:
                outbox.release(session, ids, self.name)

    def _next(self, drain: _Drain) -> tuple[_Batch, _Job] | None:
        """The row to handle next: one that may go now (lowest id first), else the one
        whose rate limit frees up first. None when no batch holds anything.

        The rows held all have different addresses (only the head of each address's
        queue is claimable), so this order never reorders one address's messages.
        """
        best: tuple[_Batch, _Job] | None = None
        best_key = (float("inf"), 0)
        for batch in drain.batches.values():
            found = self._candidate(batch, drain)
            if found is not None and (found[0], found[1].id) < best_key:
                best, best_key = (batch, found[1]), (found[0], found[1].id)
        return best

    def _candidate(self, batch: _Batch, drain: _Drain) -> tuple[float, _Job] | None:
        """(seconds to wait, row) for the batch's earliest row that may go soonest."""
        soonest: tuple[float, _Job] | None = None
        for job in batch.jobs:
            if job.id in drain.dropped:
                return (-1.0, job)  # nothing to send: clear it away at once
            delay = self.limiter.delay(
                job.channel, job.address, per_chat=job.kind in outbox.IN_ORDER
            )
            if delay <= 0:
                return (0.0, job)
            if soonest is None or delay < soonest[0]:
                soonest = (delay, job)
        return soonest

    def _hold(self, batch: _Batch, job: _Job, drain: _Drain, *, verify: bool = False) -> bool:
        """Make sure the lease on `job` and the rest of its batch outlasts the next send.

        Renews it when less than a quarter is left; False when `job` was lost (another
        worker took it over after our lease ran out, or an opt-out cancelled it): it must
        not be sent by us. `verify` asks the database even when the lease is fresh: done
        just before each send, so a STOP that lands while the row waits its turn counts.
        """
        now = self.clock()
        if batch.deadline - now > self.lease / 4:
            if not verify:
                return True
            with transaction(self.sessions, readonly=True) as session:
                held = outbox.holds(session, job.id, self.name)
            if not held:
                drain.dropped.add(job.id)
            return held
        ids = [j.id for j in (job, *batch.jobs) if j.id not in drain.dropped]
        with transaction(self.sessions) as session:
            renewed = outbox.renew(session, ids, self.name, now + self.lease)
        batch.deadline = now + self.lease
        drain.dropped.update(set(ids) - renewed)
        return job.id in renewed

    # ----------------------------------------------------------------- one row

    def _process(self, job: _Job, batch: _Batch, drain: _Drain) -> None:
        """Send one claimed row (asking the provider first when an earlier attempt's
        outcome is unknown) and record what happened."""
        report = drain.report
        sender = self.senders[job.channel]
        if job.attempts > self.max_attempts:  # reclaimed again and again: a crashing send?
            self._fail(job, f"gave up after {job.attempts - 1} attempts", None, report)
            return
        if job.kind == outbox.CALLBACK_ANSWER:
            self._answer_callback(job, sender, report)
            return
        if job.kind == outbox.EDIT_BUTTONS:
            self._edit_buttons(job, sender, report)
            return
        if job.kind == outbox.TEMPLATE and self._over_daily_tier(job):
            return
        message = job.outbound()
        in_doubt = False
        if job.in_doubt:
            with transaction(self.sessions, readonly=True) as session:
                taken = outbox.sent_ids_to(session, job.channel, job.address, other_than=job.id)
            try:
                found = sender.find_sent(message, since=job.created_at, exclude=taken)
            except SendError as error:
                self._failed_attempt(job, error, True, drain)
                return
            if found is not None and self._record_recovered(job, found):
                report.recovered += 1
                return
            if job.channel not in PROVIDER_CAN_TELL:
                in_doubt = True  # still unknown: a duplicate is possible from here on
                log.warning(
                    "outbox %d (%s): possible duplicate: an earlier attempt may have been "
                    "delivered and the provider cannot tell; sending again",
                    job.id,
                    job.channel,
                )
            if not self._hold(batch, job, drain):
                return
        self.limiter.wait(job.channel, job.address)
        if not self._hold(batch, job, drain, verify=True):
            return
        if self.shared is not None:  # last, so nothing but the send itself follows the slot
            later = self.shared.try_wait(job.channel, job.address)
            if later is not None:  # other workers hold the limit: send other rows meanwhile
                self.limiter.hold_off(job.channel, job.address, later)
                batch.jobs.insert(0, job)
                return
        try:
            result = sender.send(message)
        except SendError as error:
            self._settle(job)
            if error.code == WHATSAPP_OUTSIDE_WINDOW and job.kind == outbox.MESSAGE:
                self._hold_for_window(job, report)
                return
            self._failed_attempt(job, error, in_doubt or _ambiguous(error), drain)
            return
        except Exception as exc:  # a bug or an unmapped error: the outcome is unknown
            self._settle(job)
            self._unexpected(job, exc, report)
            return
        self._settle(job, shared=False)  # the shared limits in the marking transaction
        with transaction(self.sessions) as session:
            kept = outbox.mark_sent(session, job.id, self.name, result.provider_id, self.clock())
            if self.shared is not None:  # last: its limit rows stay locked only to the commit
                self.shared.sent(session)
        if not kept:
            log.warning(
                "outbox %d (%s): sent, but taken over or cancelled meanwhile", job.id, job.channel
            )
        log.debug("outbox %d (%s): sent", job.id, job.channel)
        report.sent += 1

    def _over_daily_tier(self, job: _Job) -> bool:
        """Whether this template would start a conversation past Meta's per-day tier; if
        so it is put back until a slot frees up (nothing is lost) and the log says so."""
        tier = self.whatsapp_daily_recipients
        if tier <= 0:
            return False
        now = self.clock()
        with transaction(self.sessions, readonly=True) as session:
            started = outbox.templates_sent_since(session, job.channel, now - timedelta(days=1))
        if job.address in started or len(started) < tier:
            return False
        until = min(started.values()) + timedelta(days=1)
        with transaction(self.sessions) as session:
            outbox.postpone(
                session, job.id, self.name, until, "WhatsApp daily recipient limit reached"
            )
        log.warning(
            "WhatsApp daily limit reached: %d people were sent a template in the last 24 "
            "hours (%s=%d); outbox %d waits until %s UTC",
            len(started),
            DAILY_RECIPIENTS_VARIABLE,
            tier,
            job.id,
            until.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        )
        return True

    def _hold_for_window(self, job: _Job, report: DrainReport) -> None:
        """WhatsApp said the window is closed (63016): hold the message until the person
        writes and send the template instead (`outbox.hold_for_window`)."""
        with transaction(self.sessions) as session:
            held = outbox.hold_for_window(session, job.id, self.clock())
        log.warning(
            "outbox %d (%s): outside WhatsApp's 24-hour window (error 63016); %s",
            job.id,
            job.channel,
            "held until the person writes, the template sent instead"
            if held
            else "taken over or cancelled meanwhile",
        )
        report.held += int(held)

    def _answer_callback(self, job: _Job, sender: Sender, report: DrainReport) -> None:
        answer: Callable[[str], Any] | None = getattr(sender, "answer_callback", None)
        if answer is None:
            self._fail(job, f"channel {job.channel} cannot answer button presses", None, report)
            return
        self._side_call(job, report, lambda: answer(job.body), per_chat=False)

    def _edit_buttons(self, job: _Job, sender: Sender, report: DrainReport) -> None:
        edit: Callable[[str, int, tuple[Option, ...]], Any] | None = getattr(
            sender, "edit_buttons", None
        )
        if edit is None:
            self._fail(job, f"channel {job.channel} cannot edit buttons", None, report)
            return
        self._side_call(
            job, report, lambda: edit(job.address, int(job.body), job.buttons), per_chat=True
        )

    def _side_call(
        self, job: _Job, report: DrainReport, call: Callable[[], Any], *, per_chat: bool
    ) -> None:
        """A call that is no message (a callback answer, a button edit): one try, then sent
        or failed; a late retry is pointless (callback queries expire within seconds, and a
        later press edits the buttons again)."""
        self.limiter.wait(job.channel, job.address, per_chat=per_chat)
        if self.shared is not None:
            self.shared.wait(job.channel, job.address, per_chat=per_chat)
        try:
            call()
        except SendError as error:
            self._settle(job, per_chat=per_chat)
            self._fail(job, redact(error.message), error.code, report)
            return
        except Exception as exc:
            self._settle(job, per_chat=per_chat)
            self._unexpected(job, exc, report)
            return
        self._settle(job, per_chat=per_chat)
        with transaction(self.sessions) as session:
            outbox.mark_sent(session, job.id, self.name, job.body[:64], self.clock())
        report.sent += 1

    def _settle(self, job: _Job, *, per_chat: bool = True, shared: bool = True) -> None:
        """After a send returned: the limits count from now, not from when the send was
        allowed, so a send held up on its way (a busy machine, a slow check) never has the
        next one squeezed up against it (`Limiter.sent`; with `shared`, `SharedLimiter`)."""
        self.limiter.sent(job.channel, job.address, per_chat=per_chat)
        if shared and self.shared is not None:
            try:
                self.shared.sent()
            except Exception:  # the slot was taken; only the correction is lost
                log.warning("could not record a send's end in the shared limits", exc_info=True)

    def _record_recovered(self, job: _Job, provider_id: str) -> bool:
        """Mark the row sent with a message found at the provider, unless that message
        already belongs to another row (an earlier identical text to the same number)."""
        with transaction(self.sessions) as session:
            other = session.scalar(
                select(OutboxItem.id)
                .where(OutboxItem.channel == job.channel, OutboxItem.address == job.address)
                .where(OutboxItem.provider_id == provider_id, OutboxItem.id != job.id)
                .limit(1)
            )
            if other is not None:
                log.info(
                    "outbox %d (%s): the provider's match is outbox %d's message; sending",
                    job.id,
                    job.channel,
                    other,
                )
                return False
            outbox.mark_sent(session, job.id, self.name, provider_id, self.clock())
        log.info("outbox %d (%s): recovered: already at the provider", job.id, job.channel)
        return True

    # ----------------------------------------------------------------- failures

    def _failed_attempt(self, job: _Job, error: SendError, in_doubt: bool, drain: _Drain) -> None:
        """Retry later, fail, or opt the recipient out, as the error says."""
        report = drain.report
        detail = redact(error.message)
        if error.partial_id is not None and not error.retryable:
            log.warning("outbox %d (%s): only part of a long text went out", job.id, job.channel)
        if error.opted_out:
            drain.dropped |= self._opt_out(job, detail, error.code)
            report.opted_out += 1
            return
        if not error.retryable:
            self._fail(job, detail, error.code, report)
            return
        if job.attempts >= self.max_attempts:
            self._fail(job, f"gave up after {job.attempts} attempts: {detail}", error.code, report)
            return
        now = self.clock()
        delay = self._backoff(job.attempts, error.retry_after)
        if error.retry_after is not None:  # the provider asked the whole channel to wait
            self._paused[job.channel] = now + timedelta(seconds=error.retry_after)
        with transaction(self.sessions) as session:
            outbox.mark_retry(
                session,
                job.id,
                self.name,
                detail,
                now + timedelta(seconds=delay),
                in_doubt=in_doubt,
            )
        log.warning(
            "outbox %d (%s): attempt %d failed (code %s: %s); retrying in %.1f s",
            job.id,
            job.channel,
            job.attempts,
            error.code,
            detail,
            delay,
        )
        report.retried += 1

    def _unexpected(self, job: _Job, exc: Exception, report: DrainReport) -> None:
        """A sender raised something other than `SendError`: retry, assuming it may have
        gone out (so the next attempt checks first)."""
        log.error(
            "outbox %d (%s): unexpected %s from the sender", job.id, job.channel, type(exc).__name__
        )
        log.debug("outbox %d: unexpected sender error", job.id, exc_info=True)
        error = SendError(f"unexpected {type(exc).__name__}: {exc}", retryable=True)
        if job.attempts >= self.max_attempts:
            self._fail(job, redact(error.message), None, report)
            return
        delay = self._backoff(job.attempts, None)
        with transaction(self.sessions) as session:
            outbox.mark_retry(
                session,
                job.id,
                self.name,
                redact(error.message),
                self.clock() + timedelta(seconds=delay),
                in_doubt=True,
            )
        report.retried += 1

    def _fail(self, job: _Job, detail: str, code: str | None, report: DrainReport) -> None:
        with transaction(self.sessions) as session:
            outbox.mark_failed(session, job.id, self.name, detail, code)
        log.warning("outbox %d (%s): failed (code %s): %s", job.id, job.channel, code, detail)
        report.failed += 1

    def _opt_out(self, job: _Job, detail: str, code: str | None) -> set[int]:
        """Fail the row, mark its participant opted out and cancel what waits for them.

        Returns the ids of rows this worker holds for them (cancelled too: skip them).
        """
        with transaction(self.sessions) as session:
            held = outbox.mark_opted_out(session, job.id, self.name, detail, code, self.clock())
        log.warning(
            "outbox %d (%s): recipient opted out (code %s); participant marked, %d held rows "
            "dropped",
            job.id,
            job.channel,
            code,
            len(held),
        )
        return held

    def _backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt: 2^attempts capped at 10 minutes, at least
        what the provider asked for, plus up to 10 % jitter so retries spread out."""
        base = min(2.0**attempts, MAX_BACKOFF)
        return max(retry_after or 0.0, base) + self._random.uniform(0, base / 10)


def _ambiguous(error: SendError) -> bool:
    """Whether a retryable error leaves open that the provider took the message.

    A rate limit (429, Retry-After) means it did not; a timeout, a dropped connection or
    a 5xx might have come after the provider accepted it.
    """
    if not error.retryable:
        return False
    return error.retry_after is None and error.code not in RATE_LIMIT_CODES
