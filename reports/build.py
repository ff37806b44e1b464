"""Build the change summary of one flow: the JSON report every output format is drawn from.

``analyse`` reads the period's answers (``reports.data``), works out the figures with
the statistics core (``reports.statistics``, ``reports.weekly``) and publishes every figure
through disclosure control (``reports.disclosure``, see its docstring for the design):

- the period snaps to whole ISO weeks (``snap_period``), stated in ``period``;
- one decision per group and period (``decide_cells``) over every count the report
  publishes (enrolled, prompted, responded, paired, each measure's paired people), with
  groups whose answers have no spread hidden too; it applies to every measure, the
  who-answered counts, the weekly rows and the stories' group names;
- weekly rows: each week's own decision plus the period's hidden groups
  (``weekly_visibility``);
- counts rounded (``publish_count``), means consistently perturbed (``publish_mean``).

A report for one group (``group=``) is cut from the analysis of every group, so it shows
exactly what the whole report shows for that group and can never undo another group's
protection. Test participants are never read (``reports.data``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from reports.bands import band_shares
from reports.choices import choice_counts, question_counts
from reports.data import NO_GROUP, MeasureAnswers, ReportData, load_report_data
from reports.disclosure import (
    DEFAULT_KEY,
    CellDecision,
    DisclosurePolicy,
    decide_cells,
    describe,
    no_spread,
    publish_count,
    publish_float,
    publish_mean,
    publish_rate,
    snap_period,
)
from reports.intervals import welch_difference, welch_pairs
from reports.method import method_note
from reports.multiplicity import adjust
from reports.sorting import lexsort_order, unique_codes
from reports.statistics import (
    DEFAULT_THRESHOLD,
    FollowUp,
    MeasureSummary,
    Participation,
    cohort_baseline_sd,
    participation,
    summarise_by_group,
    summarise_measure,
)
from reports.verdict import difference_verdict
from reports.weekly import WeeklyMeans, weekly_means
from storage.database import transaction
from survey_flows.model import Flow, Measure

__all__ = [
    "SMALL_GROUP",
    "Report",
    "UnknownGroupError",
    "analyse",
    "period_bounds",
]

#: What a story shows instead of the name of a group whose counts are hidden.
SMALL_GROUP = "(small group)"

_PARTICIPATION_KEYS = (
    "enrolled",
    "prompted",
    "responded",
    "paired",
    "withdrawn",
    "forgotten",
    "lost_to_follow_up",
    "checkins_sent",
    "checkins_completed",
    "response_rate",
)

DEFINITIONS = {
    "period": "Answers count when given on or after the start of `since` and before the end "
    "of `until` (whole UTC days); check-ins count when started in that time. Published "
    "reports cover whole ISO weeks (Monday to Sunday, UTC) that have ended: `since` moves "
    "back to its Monday and `until` back to the last Sunday ended; `published` says which "
    "days were used and `snapped` whether they differ from what was asked.",
    "group": "A participant's group is the group they belong to now.",
    "enrolled": "People enrolled in the flow before the end of the period, together with "
    "anyone sent a check-in of it or answering one in the period without an enrolment "
    "(for example check-ins imported from paper).",
    "prompted": "Enrolled people sent at least one check-in of the flow in the period.",
    "responded": "People who completed at least one check-in in the period, or are paired.",
    "paired": "People with a baseline and a later answer to at least one measure, who were "
    "sent two or more check-ins in the period (the last stage of the attrition flow). Each "
    "measure's n_paired counts the people with a baseline and a later answer to that "
    "measure.",
    "response_rate": "Check-ins completed divided by check-ins sent (started) in the period; "
    "it describes check-ins, not people.",
    "baseline": "A participant's first answer to the measure in the period.",
    "latest": "A participant's last answer to the measure in the period.",
    "ci95": "95% confidence interval of the mean change, from the t-distribution with "
    "n_paired - 1 degrees of freedom.",
    "wilcoxon_p": "Two-sided Wilcoxon signed-rank test of the changes, zero changes kept with "
    "their ranks split between the signs (scipy zero_method='zsplit').",
    "effect_size_dz": "Mean change divided by the sample standard deviation (n - 1) of "
    "the changes.",
    "reliable_change": "jacobson-truax: |change| > 1.96 x SD(baselines) x sqrt(2) x "
    "sqrt(1 - reliability); meaningful-change: |change| >= the flow's meaningful_change; "
    "none: not classified (reason given). Improved means a reliable change in the "
    "better direction.",
    "p_adjusted": "The Wilcoxon (or, for comparisons, Welch) p-value adjusted for every test "
    "in the all-groups report (method.tests of them) by method.adjustment: Holm's step-down "
    "method unless asked otherwise.",
    "verdict": "increase or decrease only when n_paired is at least 6, the changes vary, the "
    "95% interval leaves out zero, the raw Wilcoxon p is below 0.05 and p_adjusted is below "
    "0.05; otherwise no clear change (verdict_reason says why) or not enough data. "
    "verdict_better says whether the direction is an improvement (higher_is_better).",
    "effect_size_dz_ci95": "Exact 95% interval of d_z, inverting the noncentral t-distribution "
    "with n_paired - 1 degrees of freedom.",
    "effect_size_dav": "Mean change divided by the mean of the baseline and latest sample "
    "SDs; its interval is the d_z interval times SD(changes) / that mean SD.",
    "follow_up_days": "Days between each paired person's baseline and the answer compared "
    "with it: median, quartiles (linear interpolation) and range.",
    "reference_sd": "The SD Jacobson-Truax uses, the same in every view: the flow's "
    "reference_sd (sd_source flow), else the SD (n - 1) of every participant's first answer "
    "to the measure in the period, all groups together (sd_source cohort).",
    "attrition_check": "Baseline mean of the paired minus that of people with a baseline and "
    "no later answer (or none in the follow-up window), with a Welch 95% interval; hidden "
    "with its group, and where the baseline-only counts need it by the suppression rule "
    "(decided once across groups); both means are published like any other mean.",
    "comparisons": "For each pair of shown groups: the first group's mean change minus the "
    "second's, with a Welch 95% interval and p-value (adjusted with the report's tests).",
    "bands": "Share of paired people in each band at baseline and latest, with Wilson 95% "
    "intervals; a band runs from its min up to the next band's min (the last to its max); "
    "band counts are suppressed like groups, against the number paired.",
    "withdrawn": "Counted people who opted out (texted STOP or blocked the service) before "
    "the end of the period; forgotten: whose data was erased at their request by then; "
    "lost_to_follow_up: responded, not paired, neither withdrawn nor forgotten.",
    "answers counted": "Every scored answer counts in the change figures, whatever became of "
    "its check-in (completed, expired or replaced by a newer one); the response rate counts "
    "completed check-ins only.",
    "weekly": "For each Monday-to-Sunday week (UTC): the mean over the people who answered "
    "that week (each person's answers in the week averaged first), with a 95% t-interval.",
    "suppressed": "A group is hidden (every figure null, suppressed: true) when any count "
    "about it (enrolled, prompted, responded, paired, or paired in one measure) is between 1 "
    "and the threshold minus 1, or when everyone in it gave the same answer; further groups "
    "(or the overall figures) are hidden where needed so that none can be worked out by "
    "subtraction. The decision is made once for the period and applies to every figure, "
    "week and view (a one-group report shows exactly what the all-groups report shows).",
    "rounding": "Published counts of people and check-ins are rounded to the nearest 5; the "
    "response rate is a whole percentage.",
    "noise": "Each published mean has a small consistent noise added (at most 1 point divided "
    "by the number of people, from a keyed hash of the answers averaged): the same answers "
    "always give the same figure. The mean change is the published latest mean minus the "
    "published baseline mean; its interval is centred on it, and d_z is it divided by the SD "
    "of the changes. Other figures are rounded to 2 decimals (p-values to 3).",
    "stories": "Answers to free-text questions, under pseudonyms. Stories of people who asked "
    "to be forgotten are left out; the group is not named when its counts are hidden.",
}


class UnknownGroupError(ValueError):
    """The report was asked for a group that does not exist; ``known`` lists the groups."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        listed = ", ".join(known) if known else "there are no groups yet"
        super().__init__(f"there is no group called {name!r} (groups: {listed})")


@dataclass(frozen=True)
class Report:
    """A built report: the JSON-ready ``data``, plus per-person changes for charts.

    ``changes`` maps each measure to the report scope's paired changes (latest minus
    baseline); it is empty for a suppressed measure, so a chart can never show them.
    """

    data: dict[str, Any]
    changes: dict[str, np.ndarray]


# --------------------------------------------------------------------------- the period


def _start_of(day: date | datetime | None) -> datetime | None:
    """The instant a period starts: a date's midnight UTC, or an aware datetime itself."""
    if day is None:
        return None
    if isinstance(day, datetime):
        if day.tzinfo is None:
            raise ValueError(f"naive datetime {day!r}: pass an aware (UTC) datetime or a date")
        return day.astimezone(UTC)
    return datetime.combine(day, time(0), tzinfo=UTC)


def period_bounds(
    since: date | datetime | None, until: date | datetime | None
) -> tuple[datetime | None, datetime | None]:
    """The period ``[start, end)`` for ``since`` / ``until``.

    Dates are whole UTC days, both included: ``until=2025-03-31`` ends at midnight starting
    1 April. Aware datetimes are used as they are, ``until`` excluded.
    """
    start = _start_of(since)
    if until is None:
        end = None
    elif isinstance(until, datetime):
        end = _start_of(until)
    else:
        end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC)
    if start is not None and end is not None and end <= start:
        raise ValueError("the period ends before it starts: `until` must not be before `since`")
    return start, end


def _period_dict(
    since: date | datetime | None,
    until: date | datetime | None,
    start: datetime | None,
    end: datetime | None,
) -> dict[str, str | None]:
    """The JSON ``period``: what was asked for and the exact instants used."""
    return {
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "start": None if start is None else start.isoformat(),
        "end": None if end is None else end.isoformat(),
    }


# --------------------------------------------------------------------------- participation


def _paired_people(answers: MeasureAnswers) -> np.ndarray:
    """Participants who answered the measure at two or more different times (sorted ids)."""
    pid, at = answers.participant_id, answers.answered_at
    order = lexsort_order((at, pid))
    if order is not None:
        pid, at = pid[order], at[order]
    new_time = np.ones(pid.size, dtype=bool)
    new_time[1:] = (pid[1:] != pid[:-1]) | (at[1:] != at[:-1])
    people, codes = unique_codes(pid[new_time])
    return people[np.bincount(codes, minlength=people.size) >= 2]


def _participation_arrays(data: ReportData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check-ins sent and completed, and the paired flag, per person of the population.

    Paired (the last stage of the attrition flow) means paired in at least one measure and
    sent at least two check-ins in the period; the second condition only matters at the
    edges of a period, for a check-in started before it and answered inside it.
    """
    pop = data.population.id
    n = pop.size
    sent = np.zeros(n, dtype=np.int64)
    completed = np.zeros(n, dtype=np.int64)
    at = np.searchsorted(pop, data.checkins.participant_id)
    sent[at] = data.checkins.sent
    completed[at] = data.checkins.completed
    paired = np.zeros(n, dtype=bool)
    for answers in data.measures.values():
        paired[np.searchsorted(pop, _paired_people(answers))] = True
    return sent, completed, paired & (sent >= 2)


def _participants_dict(p: Participation, hidden: bool, policy: DisclosurePolicy) -> dict[str, Any]:
    """The JSON ``participants`` object: rounded counts, or all null when hidden."""
    out: dict[str, Any] = dict.fromkeys(_PARTICIPATION_KEYS)
    if not hidden:
        for key in _PARTICIPATION_KEYS:
            if key != "response_rate":
                out[key] = publish_count(policy, getattr(p, key))
        out["response_rate"] = publish_rate(policy, p.checkins_completed, p.checkins_sent)
    out["suppressed"] = hidden
    return out


def _attrition(p: Participation, hidden: bool, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """The attrition flow as ``{"stage", "count"}`` objects; rounded, or null when hidden."""
    return [
        {"stage": stage, "count": None if hidden else publish_count(policy, count)}
        for stage, count in p.flow
    ]


# --------------------------------------------------------------------------- measures


def _reference_sd(answers: MeasureAnswers, measure: Measure) -> tuple[float | None, str | None]:
    """The one Jacobson-Truax SD of the measure for every view of this report: the flow's
    ``reference_sd``, else the whole cohort's baseline SD for the period (worked out once)."""
    if measure.reference_sd is not None:
        return measure.reference_sd, "flow"
    sd = cohort_baseline_sd(answers.participant_id, answers.answered_at, answers.score)
    return sd, None if sd is None else "cohort"


def _options(
    measure: Measure, threshold: int, reference: tuple[float | None, str | None]
) -> dict[str, Any]:
    """The statistics core's options for one measure."""
    return {
        "higher_is_better": measure.higher_is_better,
        "reliability": measure.reliability,
        "meaningful_change": measure.meaningful_change,
        "threshold": threshold,
        "reference_sd": reference[0],
        "sd_source": reference[1],
    }


def _empty_summary(
    measure: Measure, threshold: int, reference: tuple[float | None, str | None]
) -> MeasureSummary:
    """The summary of a measure nobody in the scope answered (suppressed: n_paired is 0)."""
    return summarise_measure(
        np.empty(0, dtype=np.int64),
        np.empty(0, dtype="datetime64[us]"),
        np.empty(0, dtype=np.float64),
        **_options(measure, threshold, reference),
    )


def _flat(summary: MeasureSummary) -> bool:
    """Whether the summary's baselines or latest answers have no spread (see no_spread)."""
    return no_spread(summary.baselines) or no_spread(summary.baselines + summary.changes)


def _shifted(
    interval: tuple[float, float] | None, by: float, policy: DisclosurePolicy
) -> list[float] | None:
    """An interval moved by ``by`` (to sit on a published figure), rounded."""
    if interval is None:
        return None
    return [publish_float(policy, interval[0] + by), publish_float(policy, interval[1] + by)]


def _measure_dict(
    summary: MeasureSummary,
    measure: Measure,
    rc_shown: bool,
    policy: DisclosurePolicy,
    cell: str,
) -> dict[str, Any]:
    """One measure's JSON object: the published figures plus the measure's settings.

    The reliable-change threshold and reference SD are the measure's, the same in every
    view; ``rc_shown`` is false only when they come from a cohort whose figures are hidden.
    Every figure goes through ``reports.disclosure``: counts rounded, the baseline and
    latest means perturbed over their own answers (``cell``), the change the difference of
    the published means, intervals and effect sizes moved onto it, the rest rounded.
    """
    out = summary.to_dict()
    rc = summary.reliable_change
    out["reliable_change"]["threshold"] = publish_float(policy, rc.threshold) if rc_shown else None
    out["reliable_change"]["reference_sd"] = (
        publish_float(policy, rc.reference_sd) if rc_shown else None
    )
    out["reliable_change"]["sd_source"] = rc.sd_source
    out["reliable_change"]["reason"] = rc.reason
    if not summary.suppressed and summary.n_paired > 0:
        _publish_paired(out, summary, policy, cell)
    out["label"] = measure.label
    out["higher_is_better"] = measure.higher_is_better
    out["reliability"] = measure.reliability
    out["meaningful_change"] = measure.meaningful_change
    out["reference_sd"] = measure.reference_sd
    out["reference"] = measure.reference
    if measure.bands:
        out["bands"] = (
            None
            if summary.suppressed
            else band_shares(
                summary.baselines,
                summary.baselines + summary.changes,
                measure.bands,
                policy,
            )
        )
    return out


def _publish_paired(
    out: dict[str, Any], summary: MeasureSummary, policy: DisclosurePolicy, cell: str
) -> None:
    """Replace the exact paired figures in ``out`` by their published values."""
    latest = summary.baselines + summary.changes
    base = publish_mean(policy, cell, summary.baselines)
    last = publish_mean(policy, cell, latest)
    if base is None or last is None or summary.mean_change is None:
        return
    change = publish_float(policy, last - base)
    shift = change - summary.mean_change
    out["n_paired"] = publish_count(policy, summary.n_paired)
    out["baseline_mean"], out["latest_mean"], out["mean_change"] = base, last, change
    out["ci95"] = _shifted(summary.ci95, shift, policy)
    out["median_change"] = publish_float(policy, summary.median_change)
    # p-values stay exact: the Wilcoxon test uses only the ranks and signs of the changes.
    # Effect sizes are the published change over the (unpublished) SD, so they cannot
    # give the exact change back; their intervals move with them.
    for key in ("effect_size_dz", "effect_size_dav"):
        exact = getattr(summary, key, None)
        if exact is None or summary.mean_change == 0:
            continue
        scale = exact / summary.mean_change
        published = change * scale
        out[key] = publish_float(policy, published)
        interval = getattr(summary, f"{key}_ci95", None)
        if f"{key}_ci95" in out:
            out[f"{key}_ci95"] = _shifted(interval, published - exact, policy)
    for key in ("improved", "no_change", "deteriorated"):
        out["reliable_change"][key] = publish_count(policy, out["reliable_change"].get(key))
    follow = out.get("follow_up_days")
    if isinstance(follow, dict):
        out["follow_up_days"] = {k: publish_float(policy, v, 0) for k, v in follow.items()}


@dataclass(frozen=True)
class _MeasureResult:
    """One measure worked out for the whole report and every group."""

    overall: MeasureSummary
    groups: dict[int, MeasureSummary]
    weekly: WeeklyMeans
    rc_shown: bool


def _analyse_measure(
    answers: MeasureAnswers,
    measure: Measure,
    group_ids: list[int],
    threshold: int,
    follow_up: FollowUp | None,
) -> _MeasureResult:
    """Paired figures and weekly means for one measure, overall and per group (nothing
    decided yet: ``_decide`` does that once for every measure)."""
    reference = _reference_sd(answers, measure)
    options = _options(measure, threshold, reference) | {"follow_up": follow_up}
    overall = summarise_measure(
        answers.participant_id, answers.answered_at, answers.score, **options
    )
    grouped = answers.where(answers.group_id != NO_GROUP)
    by_group: dict[int, MeasureSummary] = {}
    if grouped.score.size:
        by_group = {
            int(cast(int, g)): s
            for g, s in summarise_by_group(
                grouped.group_id,
                grouped.participant_id,
                grouped.answered_at,
                grouped.score,
                **options,
            ).items()
        }
    for g in group_ids:
        if g not in by_group:
            by_group[g] = _empty_summary(measure, threshold, reference)

    weekly = weekly_means(
        answers.group_id,
        answers.participant_id,
        answers.answered_at,
        answers.score,
        no_group=NO_GROUP,
    )
    return _MeasureResult(
        overall=overall,
        groups=by_group,
        weekly=weekly,
        rc_shown=reference[1] == "flow" or not overall.suppressed,
    )


def _decide(
    overall_p: Participation,
    group_p: dict[int, Participation],
    results: dict[str, _MeasureResult],
    policy: DisclosurePolicy,
) -> CellDecision:
    """The one decision for the period: which groups, and whether the total, are hidden.

    Over every count of people the report publishes per group (the participant flow's
    main stages and each measure's paired people), plus the no-spread rule. Withdrawn,
    forgotten and lost-to-follow-up counts are rounded but do not hide a group.
    """
    vectors: dict[str, dict[Hashable, int]] = {}
    totals: dict[str, int] = {}
    for key in ("enrolled", "prompted", "responded", "paired"):
        vectors[key] = {g: getattr(p, key) for g, p in group_p.items()}
        totals[key] = getattr(overall_p, key)
    flat: set[int] = set()
    total_flat = False
    for name, result in results.items():
        vectors[f"paired:{name}"] = {g: s.n_paired for g, s in result.groups.items()}
        totals[f"paired:{name}"] = result.overall.n_paired
        if policy.hide_no_spread:
            flat |= {g for g, s in result.groups.items() if _flat(s)}
            total_flat = total_flat or _flat(result.overall)
    return decide_cells(
        vectors, totals, threshold=policy.threshold, primary=sorted(flat), total_primary=total_flat
    )


def _apply(result: _MeasureResult, decision: CellDecision) -> _MeasureResult:
    """The measure's summaries marked suppressed where the period's decision hides them."""
    overall = result.overall
    if decision.total_hidden and not overall.suppressed:
        overall = replace(overall, suppressed=True)
    groups = {
        g: replace(s, suppressed=True) if decision.hides(g) and not s.suppressed else s
        for g, s in result.groups.items()
    }
    return replace(result, overall=overall, groups=groups)


def _attrition_check(
    analysed: np.ndarray,
    baseline_only: np.ndarray,
    hidden: bool,
    policy: DisclosurePolicy,
    cell: str,
) -> dict[str, Any]:
    """Baseline mean of the analysed (paired) minus that of people with a baseline only,
    with its Welch 95% interval: were the drop-outs different at the start? Both means are
    published like any other (perturbed over their own answers), the difference is theirs."""
    diff = welch_difference(analysed, baseline_only)
    if hidden or diff is None:
        return {
            "baseline_mean_analysed": None,
            "baseline_mean_baseline_only": None,
            "difference": None,
            "ci95": None,
            "n_analysed": None,
            "n_baseline_only": None,
            "suppressed": True,
        }
    first = publish_mean(policy, cell, analysed)
    second = publish_mean(policy, cell, baseline_only)
    assert first is not None and second is not None
    difference = publish_float(policy, first - second)
    return {
        "baseline_mean_analysed": first,
        "baseline_mean_baseline_only": second,
        "difference": difference,
        "ci95": _shifted(diff.ci95, difference - diff.difference, policy),
        "n_analysed": publish_count(policy, diff.n_a),
        "n_baseline_only": publish_count(policy, diff.n_b),
        "suppressed": False,
    }


def _attrition_cells(
    result: _MeasureResult,
    group_ids: list[int],
    decision: CellDecision,
    policy: DisclosurePolicy,
) -> tuple[dict[int | None, tuple[np.ndarray, np.ndarray]], CellDecision]:
    """Each scope's analysed and baseline-only baselines, and which attrition checks to
    hide: the period's hidden groups, plus the baseline-only counts' own rule across groups
    (decided once, so every view hides the same)."""
    cells: dict[int | None, tuple[np.ndarray, np.ndarray]] = {
        g: (s.baselines, s.baseline_only)
        for g, s in [(None, result.overall), *((g, result.groups[g]) for g in group_ids)]
    }
    spread = policy.hide_no_spread
    flat = [g for g in group_ids if spread and any(no_spread(x) for x in cells[g])]
    checks = decide_cells(
        {"baseline_only": {g: cells[g][1].size for g in group_ids}},
        {"baseline_only": cells[None][1].size},
        threshold=policy.threshold,
        primary=[*decision.hidden_groups, *flat],
        total_primary=decision.total_hidden or (spread and any(no_spread(x) for x in cells[None])),
    )
    return cells, checks


def _comparisons(
    result: _MeasureResult, names: dict[int, str], order: list[int]
) -> list[dict[str, Any]]:
    """Every pair of shown groups: difference in mean change (first minus second) with its
    Welch 95% interval and p (adjusted later with the report's other tests)."""
    shown = [g for g in order if not result.groups[g].suppressed and result.groups[g].n_paired]
    pairs = [(a, b) for i, a in enumerate(shown) for b in shown[i + 1 :]]
    out = []
    for (a, b), diff in zip(
        pairs, welch_pairs([result.groups[g].changes for g in shown]), strict=True
    ):
        if diff is None:
            continue
        out.append(
            {
                "groups": [names[a], names[b]],
                "difference": diff.difference,
                "ci95": None if diff.ci95 is None else list(diff.ci95),
                "welch_p": diff.p,
                "p_adjusted": None,
            }
        )
    return out


def _adjust_report(
    results: dict[str, _MeasureResult],
    comparisons: dict[str, list[dict[str, Any]]],
    method: str,
) -> tuple[dict[str, _MeasureResult], int]:
    """Adjust every published test of the all-groups report for their number (``method``)
    and set the verdicts; a one-group report is cut from this, so its verdicts are the same.
    Returns the adjusted results and the number of tests."""
    tests: list[tuple[str, int | None]] = []
    p_values: list[float] = []
    for name, r in results.items():
        for g, summary in [(None, r.overall), *r.groups.items()]:
            if not summary.suppressed and summary.wilcoxon_p is not None:
                tests.append((name, g))
                p_values.append(summary.wilcoxon_p)
    for rows in comparisons.values():
        p_values += [row["welch_p"] for row in rows if row["welch_p"] is not None]
    m = len(p_values)
    adjusted = adjust(p_values, method)
    by_test = dict(zip(tests, adjusted, strict=False))
    out = {}
    for name, r in results.items():
        overall = r.overall.adjusted(by_test.get((name, None)), m)
        groups = {g: s.adjusted(by_test.get((name, g)), m) for g, s in r.groups.items()}
        out[name] = replace(r, overall=overall, groups=groups)
    rest = iter(adjusted[len(tests) :])
    for rows in comparisons.values():
        for row in rows:
            if row["welch_p"] is not None:
                row["p_adjusted"] = next(rest)
            ci = row["ci95"]
            verdict = difference_verdict(
                ci95=None if ci is None else (ci[0], ci[1]),
                p_adjusted=row["p_adjusted"],
                comparisons=m,
            )
            first, second = row["groups"]
            row["verdict"] = "difference" if verdict.directional else verdict.verdict
            row["larger_change"] = (
                None
                if not verdict.directional
                else first
                if verdict.verdict == "increase"
                else second
            )
            row["verdict_reason"] = verdict.reason
    return out, m


# --------------------------------------------------------------------------- the report


def _resolve_group(data: ReportData, group: str | None) -> int | None:
    """The id of the group called ``group``; UnknownGroupError (listing groups) if none."""
    if group is None:
        return None
    for gid, name in data.group_names.items():
        if name == group:
            return gid
    raise UnknownGroupError(group, sorted(data.group_names.values()))


def _stories(data: ReportData, scope: int | None, decision: CellDecision) -> list[dict[str, Any]]:
    """The scope's stories, oldest first, with hidden groups' names withheld.

    A one-group report of a hidden group has no stories: its title would name the group
    the stories' authors belong to.
    """
    if scope is not None and decision.hides(scope):
        return []
    out = []
    for story in data.stories:
        if scope is not None and story.group_id != scope:
            continue
        if story.group_id == NO_GROUP:
            group_name = None
        elif decision.hides(story.group_id):
            group_name = SMALL_GROUP
        else:
            group_name = data.group_names.get(story.group_id)
        out.append(
            {
                "date": story.answered_at.date().isoformat(),
                "answered_at": story.answered_at.isoformat(),
                "group": group_name,
                "participant": story.pseudonym,
                "step": story.step_id,
                "text": story.text,
            }
        )
    return out


def _counts(
    count: Callable[..., dict[str, Any]],
    sessions: sessionmaker[Session] | None,
    flow: Flow,
    start: datetime | None,
    end: datetime | None,
    scope: int | None,
    policy: DisclosurePolicy,
) -> dict[str, Any]:
    """Answer counts per question (`reports.choices`: ``choice_counts`` for multiple-choice
    questions, ``question_counts`` for choice, yes/no and number steps without a measure).
    None without a database (an analysis of cached measure answers only, as the disclosure
    property tests run)."""
    if sessions is None:
        return {}
    with transaction(sessions, readonly=True) as session:
        return count(session, flow, start=start, end=end, group_id=scope, policy=policy)


def analyse(
    sessions: sessionmaker[Session],
    flow: Flow,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    group: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    key: str = DEFAULT_KEY,
    policy: DisclosurePolicy | None = None,
    generated_at: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    loaded: dict[tuple[Any, ...], ReportData] | None = None,
    follow_up_weeks: float | None = None,
    adjustment: str = "holm",
) -> Report:
    """Build the report (``.data``: plain dicts, lists, numbers and strings) and keep the
    per-person changes that charts need.

    ``since`` / ``until`` bound the period (dates are whole UTC days, both included);
    ``group`` (a group name) narrows the report to one group, with every figure as the
    whole report shows it; ``threshold`` is the smallest number of people whose figures are
    published. ``progress`` is called with a short status line at each stage.
    ``follow_up_weeks`` pairs each baseline with the answer nearest that many weeks later
    (within a window) instead of the latest; ``adjustment`` is the multiple-testing method
    (``"holm"`` or ``"bh"``). ``policy`` (default: full protection with
    ``threshold`` and ``key``) is the disclosure control; tests of the arithmetic pass
    ``reports.disclosure.EXACT``. ``loaded`` is a cache of what was read, kept by a caller
    that builds several groups' reports of one flow and period (the data covers every
    group, so one read serves them all). Raises ``UnknownGroupError`` for a group that does
    not exist and ``ValueError`` for a period that ends before it starts.
    """
    say = progress or (lambda _message: None)
    policy = policy or DisclosurePolicy(threshold=threshold, key=key)
    threshold = policy.threshold
    stamp = (generated_at or datetime.now(UTC)).astimezone(UTC)
    published = snap_period(since, until, today=stamp.date(), policy=policy)
    if policy.snap:
        start, end = period_bounds(published.first_day, published.last_day)
    else:
        start, end = period_bounds(since, until)
    cache_key = (flow.id, flow.version, start, end)
    data = loaded.get(cache_key) if loaded is not None else None
    if data is None:
        say("Reading answers and check-ins")
        with transaction(sessions, readonly=True) as session:
            data = load_report_data(session, flow, start=start, end=end)
        if loaded is not None:
            loaded[cache_key] = data
    scope = _resolve_group(data, group)

    say("Working out who answered")
    pop = data.population
    sent, completed, paired = _participation_arrays(data)
    group_ids = sorted(int(g) for g in np.unique(pop.group_id) if g != NO_GROUP)
    if scope is not None and scope not in group_ids:
        group_ids.append(scope)
    withdrawn, forgotten = pop.withdrawn, pop.forgotten
    overall_p = participation(sent, completed, paired, withdrawn, forgotten)
    group_p = {
        g: participation(
            sent[mask], completed[mask], paired[mask], withdrawn[mask], forgotten[mask]
        )
        for g in group_ids
        for mask in [pop.group_id == g]
    }

    say(f"Working out {len(flow.measures)} measure(s)")
    follow_up = None if follow_up_weeks is None else FollowUp.weeks(follow_up_weeks)
    results = {
        name: _analyse_measure(data.measures[name], measure, group_ids, threshold, follow_up)
        for name, measure in flow.measures.items()
    }
    decision = _decide(overall_p, group_p, results, policy)
    hidden = {int(g) for g in decision.hidden_groups}  # type: ignore[call-overload]
    results = {name: _apply(result, decision) for name, result in results.items()}
    all_groups = sorted(
        (g for g in group_ids if g in data.group_names), key=lambda g: data.group_names[g]
    )
    comparisons = {
        name: _comparisons(results[name], data.group_names, all_groups) for name in results
    }
    results, n_tests = _adjust_report(results, comparisons, adjustment)
    attrition = {
        name: _attrition_cells(results[name], group_ids, decision, policy) for name in results
    }

    def scope_measure(name: str, measure: Measure, g: int | None) -> dict[str, Any]:
        """One measure's JSON for everyone (``g`` None) or one group, attrition check in."""
        result = results[name]
        summary = result.overall if g is None else result.groups[g]
        cell = _cell(flow, name)
        entry = _measure_dict(summary, measure, result.rc_shown, policy, cell)
        cells, checks = attrition[name]
        entry["attrition_check"] = _attrition_check(
            *cells[g], summary.suppressed or checks.hides(g), policy, cell
        )
        return entry

    groups_out: dict[str, Any] = {}
    for g in group_ids if scope is None else [scope]:
        groups_out[data.group_names[g]] = {
            "participants": _participants_dict(group_p[g], g in hidden, policy),
            "attrition": _attrition(group_p[g], g in hidden, policy),
            "measures": {
                name: scope_measure(name, measure, g) for name, measure in flow.measures.items()
            },
        }

    measures_out: dict[str, Any] = {}
    changes: dict[str, np.ndarray] = {}
    for name, measure in flow.measures.items():
        result = results[name]
        summary = result.overall if scope is None else result.groups[scope]
        entry = (
            scope_measure(name, measure, None)
            if scope is None
            else dict(groups_out[data.group_names[scope]]["measures"][name])
        )
        if scope is None and comparisons[name]:
            entry["comparisons"] = _published_comparisons(
                comparisons[name], groups_out, name, policy
            )
        total_weeks, group_weeks = result.weekly.decisions(policy, hidden)
        weeks_hidden = total_weeks if scope is None else group_weeks.get(scope, total_weeks)
        entry["weekly"] = result.weekly.series(scope, policy, weeks_hidden, _cell(flow, name))
        measures_out[name] = entry
        changes[name] = (
            np.empty(0, dtype=np.float64) if summary.suppressed else np.asarray(summary.changes)
        )

    scope_p = overall_p if scope is None else group_p[scope]
    scope_hidden = decision.hides(scope)
    period: dict[str, Any] = dict(_period_dict(since, until, start, end))
    period["published"] = published.words if policy.snap else period_words_exact(period)
    period["snapped"] = published.snapped
    report = {
        "flow": {"id": flow.id, "title": flow.title, "version": flow.version},
        "period": period,
        "scope": "all" if scope is None else data.group_names[scope],
        "participants": _participants_dict(scope_p, scope_hidden, policy),
        "attrition": _attrition(scope_p, scope_hidden, policy),
        "measures": measures_out,
        "groups": groups_out,
        "stories": _stories(data, scope, decision),
        "choices": {}
        if decision.hides(scope) or not any(step.multiple for step in flow.steps)
        else _counts(choice_counts, sessions, flow, start, end, scope, policy),
        "questions": {}
        if decision.hides(scope)
        else _counts(question_counts, sessions, flow, start, end, scope, policy),
        "follow_up": None
        if follow_up is None
        else {
            "weeks": follow_up_weeks,
            "target_days": follow_up.target,
            "window_days": follow_up.window,
        },
        "method": {
            "suppression_threshold": threshold,
            "disclosure": describe(policy),
            "adjustment": adjustment,
            "tests": n_tests,
            "paragraphs": method_note(
                threshold,
                adjustment=adjustment,
                tests=n_tests,
                since=since is not None,
                follow_up=follow_up,
                policy=policy,
            ),
            "definitions": dict(DEFINITIONS),
        },
        "generated_at": stamp.isoformat(),
    }
    return Report(data=report, changes=changes)


def _published_comparisons(
    rows: list[dict[str, Any]], groups_out: dict[str, Any], name: str, policy: DisclosurePolicy
) -> list[dict[str, Any]]:
    """Between-group comparisons with the difference of the groups' published changes (and
    the interval moved onto it), so they cannot give back an exact mean change."""
    out = []
    for row in rows:
        first, second = row["groups"]
        a = groups_out[first]["measures"][name]["mean_change"]
        b = groups_out[second]["measures"][name]["mean_change"]
        if a is None or b is None:
            continue
        difference = publish_float(policy, a - b)
        ci = row["ci95"]
        shifted = None if ci is None else (ci[0], ci[1])
        out.append(
            row
            | {
                "difference": difference,
                "ci95": _shifted(shifted, difference - row["difference"], policy),
            }
        )
    return out


def _cell(flow: Flow, measure: str) -> str:
    """The name under which a measure's means draw their noise (see ``cell_noise``).

    It names the measure, not the scope or period: the same answers give the same noise in
    whichever report, group or week they are averaged, so nothing is gained by asking again.
    """
    return f"{flow.id}|{measure}"


def period_words_exact(period: dict[str, Any]) -> str:
    """The period as asked, for reports built without snapping."""
    since, until = period.get("since"), period.get("until")
    if since and until:
        return f"{since[:10]} to {until[:10]}"
    if since:
        return f"from {since[:10]}"
    if until:
        return f"up to {until[:10]}"
    return "all answers so far"
