"""The judgement of a fault week: the database and the providers against what the
simulated residents sent and received.

Goals (each miss is a line in `Verdict.problems`):

- inbound: every message a resident or stranger sent is stored exactly once;
- answers: every answer a resident gave is stored exactly once, for the question it
  answered, with the value they chose; no answer nobody gave;
- check-ins: exactly one per resident and day while they are in, none after they left;
- outbound: every outbox row marked sent reached the provider, in order per address;
  nothing given up or stuck; duplicates counted (SMS: none, since Twilio can be asked;
  Telegram: only rows the worker flagged "possible duplicate");
- opt-outs: no send attempt after a STOP (bar Telegram's one confirmation) or after
  Telegram said blocked, except rows already claimed when it happened, which are listed
  separately as a known bug (tests/faults/test_opt_out_races.py);
- web: no 500, no traceback, no valid webhook refused; no 2xx while PostgreSQL was down.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select
from sqlalchemy.pool import NullPool

from bot.channels.base import OutboundMessage
from bot.channels.rendering import split_text
from bot.channels.telegram import CAPTION_LIMIT, TEXT_LIMIT
from bot.channels.twilio import render_sms
from storage.database import make_engine
from storage.models import Answer, Checkin, Message, OutboxItem, Participant

if TYPE_CHECKING:
    from tests.faults.postman import Postman
    from tests.faults.processes import Deployment
    from tests.faults.providers import WatchedTelegram, WatchedTwilio
    from tests.faults.week import Chaos, Outage, Resident, Town, WeekConfig

FAULT_NAMES = {
    "fail": "HTTP 500",
    "rate_limit": "429 + Retry-After",
    "hang": "hang past the client timeout",
    "drop": "dropped connection",
}
#: Seconds after a STOP within which a send may still arrive: one whose worker had checked
#: the row was still its own just before the STOP landed (the request was on its way).
IN_FLIGHT = 1.0
_FLAGGED = re.compile(r"outbox (\d+) \(\w+\): possible duplicate")


@dataclass
class Run:
    """Everything a finished run hands to the judge."""

    config: WeekConfig
    url: str
    town: Town
    residents: list[Resident]
    coordinators: list[tuple[str, str]]
    start: date
    deployment: Deployment
    postman: Postman
    chaos: Chaos
    outage: Outage | None
    twilio: WatchedTwilio
    telegram: WatchedTelegram
    seconds: float
    ticks: list[float]  # when each tick began (monotonic)
    london: Any  # ZoneInfo of the simulated days
    opted_out_text: str


@dataclass
class Snapshot:
    """The rows the judge reads, all at once after the run."""

    inbound: Counter[tuple[str, str]]
    answers: list[Row[Any]]
    checkins: list[Row[Any]]
    outbox: list[Row[Any]]
    opted_out: set[int]

    @classmethod
    def read(cls, url: str) -> Snapshot:
        engine = make_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as db:
                return cls(
                    inbound=Counter(
                        (channel, provider_id)
                        for channel, provider_id in db.execute(
                            select(Message.channel, Message.provider_id).where(
                                Message.direction == "in"
                            )
                        )
                    ),
                    answers=list(
                        db.execute(
                            select(
                                Message.channel, Message.provider_id, Answer.step_id, Answer.value
                            ).join(Message, Answer.message_id == Message.id, isouter=True)
                        )
                    ),
                    checkins=list(
                        db.execute(select(Checkin.participant_id, Checkin.scheduled_for))
                    ),
                    outbox=list(
                        db.execute(
                            select(
                                OutboxItem.id,
                                OutboxItem.kind,
                                OutboxItem.channel,
                                OutboxItem.address,
                                OutboxItem.body,
                                OutboxItem.photo.is_not(None).label("has_photo"),
                                OutboxItem.status,
                                OutboxItem.last_error,
                            ).order_by(OutboxItem.id)
                        )
                    ),
                    opted_out=set(
                        db.scalars(select(Participant.id).where(Participant.opted_out.is_(True)))
                    ),
                )
        finally:
            engine.dispose()


@dataclass
class Channel:
    """Outbound messages of one channel: outbox rows and what the provider delivered."""

    rows: int = 0
    sent: int = 0
    cancelled: int = 0  # opted out before they went
    refused: int = 0  # the provider said opted out / blocked (the resident had left)
    failed: int = 0  # given up for another reason: lost
    stuck: int = 0  # still queued or sending at the end: lost
    undelivered: int = 0  # marked sent but never reached the provider: lost
    delivered: int = 0  # provider messages that match a row
    duplicates: int = 0  # provider messages beyond the first for a row
    unexplained: int = 0  # duplicates of rows the worker did not flag as possible
    strays: int = 0  # provider messages that match no row sent

    @property
    def lost(self) -> int:
        return self.failed + self.stuck + self.undelivered


@dataclass
class Verdict:
    """What the run injected and what came of it. `problems` lists every goal missed."""

    config: WeekConfig
    seconds: float
    injected: list[tuple[str, int | str]] = field(default_factory=list)
    outcome: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    channels: dict[str, Channel] = field(default_factory=dict)
    facts: dict[str, int | str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # goals missed by known, reported bugs
    killed: Counter[str] = field(default_factory=Counter)  # SIGKILLs by what was killed
    struck: Counter[str] = field(default_factory=Counter)  # chaos strikes by kind
    fired: Counter[str] = field(default_factory=Counter)  # provider faults that hit a request
    outage_answers: Counter[str] = field(default_factory=Counter)  # while PostgreSQL was down
    redeliveries: int = 0

    def table(self) -> str:
        """The report: what was injected, what was lost or duplicated."""
        lines = [f"Injected ({self.seconds:.0f} s run)"]
        width = max(len(what) for what, _ in self.injected) + 2
        lines += [f"  {what:<{width}}{count:>8}" for what, count in self.injected]
        lines.append("")
        lines.append(
            f"  {'Outcome':<34}{'expected':>10}{'stored':>10}{'lost':>8}{'duplicated':>12}"
        )
        for what, expected, stored, lost, duplicated in self.outcome:
            lines.append(f"  {what:<34}{expected:>10}{stored:>10}{lost:>8}{duplicated:>12}")
        lines.append("")
        for name, c in self.channels.items():
            lines.append(
                f"  outbound {name}: {c.rows} rows, {c.sent} sent, {c.cancelled} cancelled "
                f"(opted out), {c.refused} refused by the provider (opted out/blocked); "
                f"lost: {c.failed} failed, {c.stuck} stuck, {c.undelivered} never delivered; "
                f"{c.duplicates} duplicate deliveries ({c.unexplained} not flagged by the "
                f"worker), {c.strays} stray"
            )
        lines += [f"  {what}: {value}" for what, value in self.facts.items()]
        lines.append("")
        lines.append("Goals: " + ("all met" if not self.problems else "MISSED"))
        lines += [f"  - {problem}" for problem in self.problems]
        lines += [f"  - known bug: {problem}" for problem in self.known]
        return "\n".join(lines)


def judge(run: Run) -> Verdict:
    """Compare the database and the providers with what the residents sent and got."""
    snapshot = Snapshot.read(run.url)
    verdict = Verdict(run.config, run.seconds, redeliveries=run.postman.stats.redeliveries)
    verdict.killed, verdict.struck = run.deployment.killed, run.chaos.struck
    _inbound(run, snapshot, verdict)
    _answers(run, snapshot, verdict)
    _checkins(run, snapshot, verdict)
    _outbound(run, snapshot, verdict)
    _opt_outs(run, snapshot, verdict)
    _web(run, verdict)
    _injected(run, verdict)
    return verdict


def _inbound(run: Run, snapshot: Snapshot, verdict: Verdict) -> None:
    """Every message the residents and strangers sent, stored once."""
    expected = run.town.sent
    stored = {key for key in snapshot.inbound if key in expected}
    lost = len(expected - stored)
    twice = sum(n - 1 for n in snapshot.inbound.values() if n > 1)
    strays = sum(1 for key in snapshot.inbound if key not in expected)
    verdict.outcome.append(("inbound messages", len(expected), len(stored), lost, twice))
    if lost or twice or strays:
        verdict.problems.append(
            f"inbound messages: {lost} lost, {twice} stored twice, {strays} unexpected"
        )


def _answers(run: Run, snapshot: Snapshot, verdict: Verdict) -> None:
    """Each answer a resident gave stored once, for its question, with its value."""
    by_key: dict[tuple[str, str], list[tuple[str, Any]]] = defaultdict(list)
    for channel, provider_id, step, value in snapshot.answers:
        by_key[(channel, provider_id)].append((step, value))
    expected = run.town.expected_answers
    lost = twice = wrong = 0
    for key, want in expected.items():
        got = by_key.get(key, [])
        lost += not got
        twice += max(0, len(got) - 1)
        wrong += sum(1 for step, value in got if (step, value) != (want.step, want.value))
    strays = sum(len(v) for k, v in by_key.items() if k not in expected)
    verdict.outcome.append(("answers", len(expected), len(expected) - lost, lost, twice))
    if lost or twice or wrong or strays:
        verdict.problems.append(
            f"answers: {lost} lost, {twice} stored twice, {wrong} wrong step or value, "
            f"{strays} not given by anyone"
        )


def _checkins(run: Run, snapshot: Snapshot, verdict: Verdict) -> None:
    """One check-in per resident and day while they are in; none after they left."""
    per_day: Counter[tuple[int, int]] = Counter()
    for participant_id, scheduled_for in snapshot.checkins:
        if scheduled_for is None:
            continue
        moment = scheduled_for if scheduled_for.tzinfo else scheduled_for.replace(tzinfo=UTC)
        per_day[(participant_id, (moment.astimezone(run.london).date() - run.start).days)] += 1
    twice = sum(n - 1 for n in per_day.values() if n > 1)
    expected = lost = unexpected = 0
    for resident in run.residents:
        for day in range(run.config.days):
            started = per_day.get((resident.participant_id, day), 0)
            if resident.active_on(day):
                expected += 1
                lost += started == 0
            else:
                unexpected += started
    verdict.outcome.append(("check-ins started", expected, expected - lost, lost, twice))
    if twice or lost or unexpected:
        verdict.problems.append(
            f"check-ins: {twice} started twice, {lost} never started, "
            f"{unexpected} started for residents who had left"
        )


def _outbound(run: Run, snapshot: Snapshot, verdict: Verdict) -> None:
    """What each address should have got against what its provider delivered."""
    worker_log = run.deployment.worker_logs()
    flagged = {int(n) for n in _FLAGGED.findall(worker_log)}
    verdict.channels = {"sms": Channel(), "telegram": Channel()}
    rows: dict[tuple[str, str], list[Row[Any]]] = defaultdict(list)
    for row in snapshot.outbox:
        if row.kind == "message":
            rows[(row.channel, row.address)].append(row)
    for address in set(rows) | set(run.town.inbox):
        if address[0] in verdict.channels:
            compare(
                verdict.channels[address[0]],
                rows.get(address, []),
                run.town.inbox.get(address, []),
                flagged,
            )
    for name, c in verdict.channels.items():
        verdict.outcome.append(
            (f"{name} messages (rows sent)", c.sent, c.delivered, c.lost, c.duplicates)
        )
        if c.lost or c.unexplained or c.strays:
            verdict.problems.append(
                f"outbound {name}: {c.lost} lost ({c.failed} failed, {c.stuck} stuck, "
                f"{c.undelivered} never delivered), {c.unexplained} duplicates the worker did "
                f"not flag, {c.strays} stray deliveries"
            )
    if verdict.channels["sms"].duplicates:
        verdict.problems.append(
            f"outbound sms: {verdict.channels['sms'].duplicates} duplicates (Twilio's "
            "find_sent should recover every send in doubt)"
        )
    answered = {a["callback_query_id"] for a in run.telegram.callback_answers}
    callbacks = Counter(row.status for row in snapshot.outbox if row.kind != "message")
    verdict.facts.update(
        {
            "button presses / left unanswered": (
                f"{len(run.town.presses)} / {len(run.town.presses - answered)}"
            ),
            "callback answer rows by status": ", ".join(
                f"{s} {n}" for s, n in sorted(callbacks.items())
            ),
            "worker: sends recovered via find_sent (Twilio)": worker_log.count(
                "recovered: already at the provider"
            ),
            "worker: possible duplicates flagged (Telegram)": len(flagged),
        }
    )


def compare(channel: Channel, rows: list[Any], received: list[str], flagged: set[int]) -> None:
    """Match an address's outbox rows (in queue order) against what its phone received.

    Rows go out strictly in order per address, so the parts of the rows marked sent must
    appear in `received` in that order; anything else received is a duplicate of a part
    already matched (counted against its row), or a stray.
    """
    parts: list[tuple[int, str]] = []
    for row in rows:
        channel.rows += 1
        if row.status == "sent":
            channel.sent += 1
            parts += [(row.id, text) for text in provider_parts(row)]
        elif row.status == "cancelled":
            channel.cancelled += 1
        elif row.status == "failed":
            error = row.last_error or ""
            if "opted out" in error or "blocked" in error or "unsubscribed" in error:
                channel.refused += 1
            else:
                channel.failed += 1
        else:
            channel.stuck += 1
    seen: dict[str, int] = {}  # text -> row id of the latest matched part with that text
    position = 0
    for text in received:
        if position < len(parts) and parts[position][1] == text:
            seen[text] = parts[position][0]
            position += 1
            channel.delivered += 1
        elif text in seen:
            channel.duplicates += 1
            channel.unexplained += seen[text] not in flagged
        else:
            channel.strays += 1
    channel.undelivered += len(parts) - position


def provider_parts(row: Any) -> list[str]:
    """The provider messages one outbox row becomes (long texts are split)."""
    if row.channel == "sms":
        return render_sms(OutboundMessage(channel="sms", address=row.address, body=row.body))
    if row.has_photo:  # the caption first, the rest of the text after it
        return split_text(row.body, TEXT_LIMIT, first_limit=CAPTION_LIMIT) or [""]
    return split_text(row.body, TEXT_LIMIT)


def _opt_outs(run: Run, snapshot: Snapshot, verdict: Verdict) -> None:
    """Nothing after STOP (bar Telegram's one confirmation), nothing after a block.

    The worker checks that it still holds a row just before sending it, and a STOP cancels
    claimed rows too, so the only send that may follow a STOP is one that had passed that
    check already: it reaches the provider within moments (`IN_FLIGHT` seconds here).
    """
    in_flight = later = stopped = found = wrongly = missed = 0
    for resident in run.residents:
        fake = run.twilio if resident.channel == "sms" else run.telegram
        attempts = fake.attempts.to(resident.address)
        moments: list[tuple[float, str | None]] = []
        if resident.stop_acked_at is not None:
            stopped += 1
            allowed = run.opted_out_text if resident.channel == "telegram" else None
            moments.append((resident.stop_acked_at, allowed))
        if resident.block_day is not None:
            refused = [a.at for a in attempts if a.status == 403]
            if refused:
                found += 1
                moments.append((refused[0], None))
        for moment, allowed in moments:
            for attempt in attempts:
                if attempt.at > moment and attempt.text != allowed:
                    in_flight += attempt.at <= moment + IN_FLIGHT
                    later += attempt.at > moment + IN_FLIGHT
        left = bool(moments)
        missed += left and resident.participant_id not in snapshot.opted_out
        wrongly += not left and resident.participant_id in snapshot.opted_out
    if later or missed or wrongly:
        verdict.problems.append(
            f"opt-outs: {later} send attempts more than {IN_FLIGHT:g} s after a STOP or "
            f"block, {missed} who left not marked opted out, {wrongly} marked opted out who "
            "never left"
        )
    verdict.facts[f"send attempts after STOP/block: within {IN_FLIGHT:g} s / later"] = (
        f"{in_flight} / {later}"
    )
    verdict.facts["residents who left (STOP / blocked found)"] = f"{stopped} / {found}"


def _web(run: Run, verdict: Verdict) -> None:
    """No 500, no traceback, no valid webhook refused; no 2xx while PostgreSQL was down."""
    stats = run.postman.stats
    five_hundreds = stats.statuses.get("500", 0)
    refusals = sum(n for s, n in stats.statuses.items() if s.isdigit() and 400 <= int(s) < 500)
    unhandled = run.deployment.log_text("web").count("unhandled ")
    if five_hundreds or unhandled or stats.tracebacks or refusals:
        verdict.problems.append(
            f"web: {five_hundreds} answers 500, {unhandled} unhandled errors logged, "
            f"{stats.tracebacks} tracebacks in answers, {refusals} valid webhooks refused (4xx)"
        )
    verdict.facts["web answers by status"] = ", ".join(
        f"{s} {n}" for s, n in sorted(stats.statuses.items())
    )
    outage = run.outage
    if outage is None or outage.began is None or outage.ended is None:
        return
    for answer in run.postman.answers:
        if answer.label == "status":
            continue
        if answer.sent_at >= outage.began and answer.answered_at <= outage.ended:
            verdict.outage_answers[str(answer.status or answer.error)] += 1
    accepted = sum(n for s, n in verdict.outage_answers.items() if s.startswith("2"))
    if accepted:
        verdict.problems.append(
            f"outage: {accepted} webhooks answered 2xx while PostgreSQL was down"
        )


def _injected(run: Run, verdict: Verdict) -> None:
    """The left half of the table: what the run did to the deployment."""
    for name, fake in (("twilio", run.twilio), ("telegram", run.telegram)):
        for request in fake.requests:
            if request.fault is not None:
                what = FAULT_NAMES[request.fault]
                if request.fault == "fail":
                    what = f"HTTP {request.status}"
                verdict.fired[f"{name} {request.operation}: {what}"] += 1
    stats, residents = run.postman.stats, run.residents
    behaviours = Counter(what for r in residents for what in r.behaviour.values())
    verdict.injected = [
        (
            "residents (SMS / Telegram)",
            f"{sum(r.channel == 'sms' for r in residents)} / "
            f"{sum(r.channel == 'telegram' for r in residents)}",
        ),
        ("simulated days (3 ticks each)", run.config.days),
        ("webhooks delivered (distinct)", stats.deliveries),
        ("  redelivered copies", stats.redeliveries),
        ("  copies after a newer message", stats.overtaken),
        ("  tries answered non-2xx or failed", stats.retries),
        ("resident-days answering only after a reminder", behaviours["late"]),
        ("resident-days silent (check-in expires)", behaviours["silent"]),
        ("residents texting STOP", behaviours["stop"]),
        ("Telegram residents blocking the bot", sum(r.block_day is not None for r in residents)),
        *[(f"SIGKILL {what}", n) for what, n in sorted(run.deployment.killed.items())],
        *[
            (f"exited on its own, restarted: {what}", n)
            for what, n in sorted(run.deployment.exited.items())
        ],
        *[(f"fault {what}", n) for what, n in sorted(verdict.fired.items())],
    ]
    if run.outage is not None:
        verdict.injected.append(
            ("PostgreSQL stopped (immediate), seconds", f"{run.config.outage_seconds:g}")
        )
        verdict.injected += [
            (f"  webhook answers while down: {s}", n)
            for s, n in sorted(verdict.outage_answers.items())
        ]
    verdict.facts["coordinators (alerts, summary)"] = len(run.coordinators)
