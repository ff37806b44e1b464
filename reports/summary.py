"""The coordinator's weekly summary: short, true, and readable in ten seconds.

It leads with the measure whose change is clearest (the largest effect among those the
report's verdict calls an increase or a decrease), states every change with its interval,
and says "no clear change" or "not enough answers" whenever the verdict does: a change is
never claimed on the interval alone (see ``reports.verdict``). It is a list of sentences,
most important first, and optionally a chart of the leading measure: how they are fitted
to a channel (three SMS segments, a photo on Telegram) is the host's business
(`bot.schedule.summaries`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reports.build import analyse
from reports.charts import report_charts
from reports.data import ReportData, counted_participants
from reports.disclosure import DEFAULT_KEY, DisclosurePolicy, publish_count
from storage.database import transaction
from storage.flow_versions import Flows
from storage.models import Checkin, Enrolment, Group, Participant
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow
from survey_flows.wording import count_words, number_words, signed_words

WEEK = timedelta(days=7)
PERIOD = timedelta(weeks=12)


class CoordinatorSummary(NamedTuple):
    """The summary's sentences, most important first, and the leading measure's chart."""

    sentences: list[str]
    chart: bytes | None


def _last_sunday(now: datetime) -> date:
    """The last Sunday that has ended by `now`: published periods are whole ISO weeks."""
    yesterday = (now - timedelta(days=1)).date()
    return yesterday - timedelta(days=(yesterday.weekday() + 1) % 7)


def period_words(now: datetime) -> str:
    """The period a summary sent at `now` covers, in words: the 12 whole weeks (Monday to
    Sunday) ended by then, e.g. "over the last 12 weeks, to Sunday 29 November"."""
    last = _last_sunday(now)
    weeks = PERIOD.days // 7
    return f"over the last {weeks} weeks, to {last:%A} {last.day} {last:%B}"


def coordinator_summary(
    sessions: sessionmaker[Session],
    library: Flows,
    group_id: int,
    now: datetime,
    *,
    with_chart: bool,
    threshold: int,
    key: str = DEFAULT_KEY,
    loaded: dict[tuple[Any, ...], ReportData] | None = None,
) -> CoordinatorSummary:
    """The summary for one group's coordinator, and a chart when `with_chart` (else None).

    Every figure goes through ``reports.disclosure`` like a report's: the period is the
    last 12 whole weeks that have ended, counts are rounded, means perturbed, and a group
    hidden in the all-groups report shows no figures here either. Test participants never
    count. `loaded`: a cache shared by the summaries of one moment (see `analyse`), so
    that many groups' summaries read each flow's answers once.
    """
    with transaction(sessions, readonly=True) as session:
        group = session.get_one(Group, group_id)
        name = group.name
        sent, answered = _week_counts(session, group_id, now)
        flow_ids = _flows_of(session, group)
    policy = DisclosurePolicy(threshold=threshold, key=key)
    sentences = [f"Groundswell weekly summary, {name}, {period_words(now)}."]
    chart: bytes | None = None
    counts_hidden = False
    last_day = _last_sunday(now)
    for flow in _resolved(library, flow_ids):
        report = analyse(
            sessions,
            flow,
            since=last_day - PERIOD + timedelta(days=1),
            until=last_day,
            group=name,
            policy=policy,
            generated_at=now,
            loaded=loaded,
        )
        counts_hidden = counts_hidden or bool(report.data["participants"]["suppressed"])
        sentences += _measure_sentences(report.data, flow)
        if chart is None and with_chart:
            chart = _leading_chart(report, flow)
    if counts_hidden or 0 < sent < threshold:
        sentences.append("This week: too few people to show the check-in counts.")
    else:
        sentences.append(
            f"This week: about {publish_count(policy, sent)} check-ins sent, "
            f"{publish_count(policy, answered)} answered in full."
        )
    return CoordinatorSummary(sentences, chart)


def _measure_sentences(report: dict[str, Any], flow: Flow) -> list[str]:
    """One sentence per measure, the clearest change first, never beyond its interval."""
    rows = []
    for key, figures in report["measures"].items():
        label = figures.get("label") or flow.measure_label(key)
        if figures.get("suppressed"):
            rows.append((-1.0, f"{label}: too few people answered twice to show."))
            continue
        low_high = figures.get("ci95")
        change = figures.get("mean_change")
        n = figures.get("n_paired") or 0
        if change is None or not low_high:
            rows.append((-1.0, f"{label}: not enough answers yet to see a change."))
            continue
        low, high = low_high
        interval = f"95% CI {_signed(low)} to {_signed(high)}; {count_words(n, 'person', 'people')}"
        verdict = figures.get("verdict")
        if verdict == "not enough data":
            rows.append((-1.0, f"{label}: not enough answers yet to see a change ({interval})."))
        elif verdict in ("increase", "decrease"):
            direction = "rose" if verdict == "increase" else "fell"
            verdict = "better" if figures.get("verdict_better") else "worse"
            size = abs(figures.get("effect_size_dz") or 0.0)
            by = number_words(abs(change), 1)
            rows.append((size, f"{label} {direction} by {by} ({verdict}; {interval})."))
        else:
            rows.append((-0.5, f"{label}: no clear change ({_signed(change)}, {interval})."))
    rows.sort(key=lambda row: -row[0])
    return [sentence for _, sentence in rows]


def _leading_chart(report: Any, flow: Flow) -> bytes | None:
    charts = report_charts(report, flow)
    return charts[0].png if charts else None


def _signed(value: float) -> str:
    """A change to one decimal, as an SMS has room for: +0.9, -1.2, 0 (never -0.0)."""
    return signed_words(value, 1)


def _week_counts(session: Session, group_id: int, now: datetime) -> tuple[int, int]:
    sent, answered = session.execute(
        select(
            func.count(Checkin.id),
            func.count(Checkin.id).filter(Checkin.status == "completed"),
        )
        .join(Participant, Participant.id == Checkin.participant_id)
        .where(
            Participant.group_id == group_id,
            counted_participants(),
            Checkin.started_at >= now - WEEK,
        )
    ).one()
    return sent, answered


def _flows_of(session: Session, group: Group) -> list[str]:
    """The flows this group's participants are enrolled in (its default flow first)."""
    enrolled = session.scalars(
        select(Enrolment.flow_id).where(Enrolment.group_id == group.id).distinct()
    ).all()
    ordered = [group.default_flow] if group.default_flow else []
    return ordered + sorted(set(enrolled) - set(ordered))


def _resolved(library: Flows, flow_ids: list[str]) -> list[Flow]:
    flows = []
    for flow_id in flow_ids:
        try:
            flows.append(library.resolve(flow_id))
        except FlowError:
            continue  # a flow removed from the folder: `flows check` reports it
    return flows
