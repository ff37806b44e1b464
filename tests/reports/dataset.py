"""A small known dataset for report tests, inserted directly with the storage models.

Three groups (North 16 people, South 7, East 3) and two people in no group answer a
three-measure flow weekly for six weeks, with realistic gaps: skipped check-ins, check-ins
left half-answered, people who answered only once. ``Dataset.answers`` keeps every inserted
answer as plain values so tests can work out the expected figures themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import Answer, Checkin, Enrolment, FlowVersion, Group, Participant
from survey_flows.checks.loading import parse_flow
from survey_flows.model import Flow

FLOW_YAML = """\
flow: town-pulse
title: Town pulse
language: en
steps:
  - id: mood
    ask: "How is your mood, 0 to 10?"
    type: scale
    min: 0
    max: 10
    measure: mood
  - id: worry
    ask: "How worried are you, 0 to 10?"
    type: scale
    min: 0
    max: 10
    measure: worry
  - id: energy
    ask: "Energy, 1 to 5?"
    type: scale
    min: 1
    max: 5
    measure: energy
  - id: story
    ask: "What changed this week? Or reply SKIP."
    type: text
    optional: true
measures:
  mood:
    label: "Mood"
    higher_is_better: true
    meaningful_change: 2
    bands:
      - {label: low, min: 0, max: 4}
      - {label: medium, min: 5, max: 6}
      - {label: high, min: 7, max: 10}
  worry: {label: "Worry", higher_is_better: false, reliability: 0.7}
  energy: {label: "Energy"}
"""

#: Monday 6 January 2025, 18:00 UTC: week 0 of the dataset.
T0 = datetime(2025, 1, 6, 18, 0, tzinfo=UTC)
WEEKS = 6
GROUPS = {"North": 16, "South": 7, "East": 3}
SCRIPT_STORY = "<script>alert('x')</script> & the new bench"


def flow() -> Flow:
    """The test flow."""
    return parse_flow(FLOW_YAML)


@dataclass
class Dataset:
    """What was inserted: one dict per answer, and the check-ins sent."""

    flow: Flow
    answers: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)
    enrolled: set[str] = field(default_factory=set)

    def rows(self, measure: str) -> list[dict[str, Any]]:
        """The scored answers to one measure."""
        return [a for a in self.answers if a["measure"] == measure and a["score"] is not None]


def insert_dataset(sessions: sessionmaker[Session], seed: int = 7) -> Dataset:
    """Insert the dataset and return its plain-value copy."""
    the_flow = flow()
    rng = np.random.default_rng(seed)
    data = Dataset(flow=the_flow)
    with transaction(sessions) as session:
        session.add(
            FlowVersion(version=the_flow.version, flow_id=the_flow.id, source_text=FLOW_YAML)
        )
        people: list[tuple[Participant, str | None]] = []
        for name, size in GROUPS.items():
            group = Group(name=name)
            session.add(group)
            session.flush()
            for _ in range(size):
                people.append((Participant(group_id=group.id), name))
        people += [(Participant(), None), (Participant(), None)]
        session.add_all([p for p, _ in people])
        session.flush()
        for index, (person, group_name) in enumerate(people):
            _person(session, data, rng, index, person, group_name)
    return data


def _person(
    session: Session,
    data: Dataset,
    rng: np.random.Generator,
    index: int,
    person: Participant,
    group_name: str | None,
) -> None:
    """One participant's enrolment, check-ins and answers."""
    imported = index == 1  # one person's check-ins came from paper: no enrolment
    enrolment = None
    if not imported:
        enrolment = Enrolment(participant_id=person.id, flow_id=data.flow.id, enrolled_at=T0)
        session.add(enrolment)
        session.flush()
        data.enrolled.add(person.pseudonym)
    shift = 1.5 if group_name == "North" else 0.0  # a modest true improvement in one place
    no_group_person = group_name is None
    for week in range(WEEKS):
        started = T0 + timedelta(weeks=week, minutes=index)
        if no_group_person and week > 0 and index % 2 == 0:
            continue  # one person in no group was sent only the first check-in
        # Some check-ins are never answered; one person answers only in week 0 (unpaired).
        answered = rng.random() > 0.2 or week in (0, WEEKS - 1)
        if index == 2 and week > 0:
            answered = False
        if no_group_person and week > 0:
            answered = False
        half = answered and rng.random() < 0.1
        status = "completed" if answered and not half else "expired"
        checkin = Checkin(
            participant_id=person.id,
            enrolment_id=None if enrolment is None else enrolment.id,
            flow_id=data.flow.id,
            flow_version=data.flow.version,
            channel="import" if imported else "sms",
            status=status,
            started_at=started,
            scheduled_for=None if imported else started,
        )
        session.add(checkin)
        session.flush()
        data.checkins.append(
            {"participant": person.pseudonym, "status": status, "started_at": started}
        )
        if not answered:
            continue
        at = started + timedelta(minutes=5)
        scores = {
            "mood": float(np.clip(rng.integers(2, 8) + shift * week / (WEEKS - 1), 0, 10)),
            "worry": float(rng.integers(0, 11)),
            "energy": float(rng.integers(1, 6)),
        }
        steps = ["mood"] if half else ["mood", "worry", "energy"]
        for step in steps:
            score = round(scores[step] * 2) / 2  # half points: plenty of ties
            _answer(session, data, person, group_name, checkin, step, score, step, score, at)
        if not half and week in (1, 4) and index % 4 == 0:
            text = SCRIPT_STORY if group_name == "East" else f"Week {week}: met the neighbours"
            _answer(session, data, person, group_name, checkin, "story", text, None, None, at)
    if index == 3:
        # Two answers at the very same moment (a duplicate check-in): they are averaged.
        started = T0 + timedelta(weeks=2, minutes=index)
        checkin = Checkin(
            participant_id=person.id,
            flow_id=data.flow.id,
            flow_version=data.flow.version,
            channel="sms",
            status="completed",
            started_at=started,
        )
        session.add(checkin)
        session.flush()
        data.checkins.append(
            {"participant": person.pseudonym, "status": "completed", "started_at": started}
        )
        at = started + timedelta(minutes=5)
        for step in ("mood", "worry", "energy"):
            _answer(session, data, person, group_name, checkin, step, 9.0, step, 9.0, at)


def _answer(
    session: Session,
    data: Dataset,
    person: Participant,
    group_name: str | None,
    checkin: Checkin,
    step: str,
    value: Any,
    measure: str | None,
    score: float | None,
    at: datetime,
) -> None:
    """Insert one answer and remember it."""
    session.add(
        Answer(
            checkin_id=checkin.id,
            participant_id=person.id,
            flow_id=data.flow.id,
            flow_version=data.flow.version,
            step_id=step,
            value=value,
            score=score,
            measure=measure,
            answered_at=at,
            channel=checkin.channel,
        )
    )
    data.answers.append(
        {
            "participant": person.pseudonym,
            "group": group_name,
            "checkin": checkin.id,
            "step": step,
            "value": value,
            "score": score,
            "measure": measure,
            "answered_at": at,
        }
    )


# --------------------------------------------------------------------------- reference figures
# Worked out here from raw (participant, time, score) rows with plain Python, numpy and scipy,
# without the code under test, to check the report against.


def reference_pairs(rows: list[tuple[Any, Any, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Each paired person's baseline and latest: first and last time, same-time answers averaged."""
    by_person: dict[Any, dict[Any, list[float]]] = {}
    for pid, at, score in rows:
        by_person.setdefault(pid, {}).setdefault(at, []).append(score)
    baseline, latest = [], []
    for answers in by_person.values():
        times = sorted(answers)
        if len(times) >= 2:
            baseline.append(float(np.mean(answers[times[0]])))
            latest.append(float(np.mean(answers[times[-1]])))
    return np.array(baseline), np.array(latest)


def reference_cohort_sd(rows: list[tuple[Any, Any, float]]) -> float | None:
    """The Jacobson-Truax reference SD when the flow gives none: SD (n - 1) of everyone's
    first answer (same-time answers averaged), over the whole cohort of the period."""
    by_person: dict[Any, dict[Any, list[float]]] = {}
    for pid, at, score in rows:
        by_person.setdefault(pid, {}).setdefault(at, []).append(score)
    firsts = np.array([float(np.mean(a[min(a)])) for a in by_person.values()])
    if firsts.size < 2 or np.ptp(firsts) == 0:
        return None
    return float(np.std(firsts, ddof=1))


def reference_dz_interval(dz: float, n: int) -> list[float]:
    """d_z's exact 95% interval by inverting scipy's noncentral t (independent root finder)."""
    from scipy import optimize, stats

    t = dz * np.sqrt(n)
    reach = 6 * np.sqrt(1 + t * t / (2 * (n - 1))) + 1  # beyond it scipy's nct gives NaN
    lo = optimize.root_scalar(
        lambda c: stats.nct.cdf(t, n - 1, c) - 0.975,
        bracket=(t - reach, t),
        method="bisect",
        xtol=1e-14,
    ).root
    hi = optimize.root_scalar(
        lambda c: stats.nct.cdf(t, n - 1, c) - 0.025,
        bracket=(t, t + reach),
        method="bisect",
        xtol=1e-14,
    ).root
    return [lo / np.sqrt(n), hi / np.sqrt(n)]


def reference_figures(
    baseline: np.ndarray,
    latest: np.ndarray,
    *,
    higher_is_better: bool,
    reliability: float | None,
    meaningful_change: float | None,
    reference_sd: float | None = None,
) -> dict[str, Any]:
    """The JSON report's figures for one measure and scope (unsuppressed).

    ``reference_sd`` is the measure's Jacobson-Truax SD (``reference_cohort_sd`` of the
    whole cohort, or the flow's), the same for every scope.
    """
    from scipy import stats

    d = latest - baseline
    n = len(d)
    out: dict[str, Any] = {"n_paired": n}
    if n == 0:
        return out | {"mean_change": None}
    out["baseline_mean"] = float(np.mean(baseline))
    out["latest_mean"] = float(np.mean(latest))
    out["mean_change"] = float(np.mean(d))
    out["median_change"] = float(np.median(d))
    out["ci95"] = out["wilcoxon_p"] = out["effect_size_dz"] = None
    if n >= 2:
        sd = float(np.std(d, ddof=1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
        out["ci95"] = [out["mean_change"] - half, out["mean_change"] + half]
        out["effect_size_dz"] = out["mean_change"] / sd if sd > 0 else None
        if sd > 0:
            dz_ci = reference_dz_interval(out["effect_size_dz"], n)
            sd_av = (np.std(baseline, ddof=1) + np.std(latest, ddof=1)) / 2
            out["effect_size_dz_ci95"] = dz_ci
            out["effect_size_dav"] = out["mean_change"] / sd_av
            out["effect_size_dav_ci95"] = [x * sd / sd_av for x in dz_ci]
        if np.any(d != 0):
            out["wilcoxon_p"] = float(stats.wilcoxon(d, zero_method="zsplit").pvalue)
    if reliability is not None:
        if reference_sd is None:
            counts = None
        else:
            limit = 1.96 * reference_sd * np.sqrt(2) * np.sqrt(1 - reliability)
            counts = np.abs(d) > limit
        method = "jacobson-truax"
    elif meaningful_change is not None:
        counts = np.abs(d) >= meaningful_change
        method = "meaningful-change"
    else:
        counts, method = None, "none"
    if counts is None:
        out["reliable_change"] = {
            "method": method,
            "improved": None,
            "no_change": None,
            "deteriorated": None,
        }
    else:
        better = d > 0 if higher_is_better else d < 0
        worse = d < 0 if higher_is_better else d > 0
        improved = int(np.sum(counts & better))
        deteriorated = int(np.sum(counts & worse))
        out["reliable_change"] = {
            "method": method,
            "improved": improved,
            "no_change": n - improved - deteriorated,
            "deteriorated": deteriorated,
        }
    return out


def reference_weekly(rows: list[tuple[Any, datetime, float]]) -> dict[str, tuple[int, float, Any]]:
    """Week start (Monday, UTC) -> (people, mean, [low, high] or None) over per-person means."""
    from scipy import stats

    by_week: dict[str, dict[Any, list[float]]] = {}
    for pid, at, score in rows:
        day = at.astimezone(UTC).date()
        monday = (day - timedelta(days=day.weekday())).isoformat()
        by_week.setdefault(monday, {}).setdefault(pid, []).append(score)
    out = {}
    for week, people in sorted(by_week.items()):
        x = np.array([np.mean(v) for v in people.values()])
        n, mean = len(x), float(np.mean(x))
        ci = None
        if n >= 2:
            half = float(stats.t.ppf(0.975, n - 1)) * float(np.std(x, ddof=1)) / np.sqrt(n)
            ci = [mean - half, mean + half]
        out[week] = (n, mean, ci)
    return out


def assert_close(actual: Any, expected: Any, path: str = "") -> None:
    """Recursive equality, floats to 1e-12 (the same sums added in another order)."""
    import pytest

    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_close(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-12), path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
