"""Property: random cohorts and random sets of requested views never let subtraction recover
a hidden group's figures.

The attacker is a linear-algebra solve: every answer is an unknown, every published mean
(times the true number of people, which the attacker is given) is an equation, over the
all-groups report, any one-group reports and their weekly rows. A hidden group's baseline
or latest mean must either not follow from those equations at all, or come out more than
0.05 away from the truth. Reports are built from in-memory data (no database), so
hypothesis can try many cohorts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.build import analyse, period_bounds
from reports.data import CheckinCounts, MeasureAnswers, Population, ReportData
from reports.disclosure import DisclosurePolicy
from tests.reports.dataset import flow

MONDAY = datetime(2025, 3, 3, 18, 0, tzinfo=UTC)
LAST_SUNDAY = date(2025, 3, 30)
STAMP = datetime(2025, 6, 30, tzinfo=UTC)
GROUPS = ("Ash", "Elm", "Oak", "Pine")

person = st.tuples(
    st.sampled_from([*GROUPS, None]),
    st.integers(0, 10),  # baseline
    st.integers(0, 10),  # latest
    st.integers(0, 1),  # baseline week
    st.integers(2, 3),  # latest week
)


def _data(people: list[tuple[Any, int, int, int, int]]) -> ReportData:
    """The report's raw material for ``people``: two mood answers each."""
    the_flow = flow()
    ids = np.arange(1, len(people) + 1, dtype=np.int64)
    gid = np.array([-1 if g is None else GROUPS.index(g) + 1 for g, *_ in people], np.int64)
    pid, group, at, score = [], [], [], []
    for i, (_, base, late, w1, w2) in enumerate(people):
        for week, value in ((w1, base), (w2, late)):
            pid.append(ids[i])
            group.append(gid[i])
            moment = MONDAY + timedelta(weeks=week, minutes=i)
            at.append(np.datetime64(moment.replace(tzinfo=None), "us"))
            score.append(float(value))
    empty = MeasureAnswers(
        np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, "datetime64[us]"), np.empty(0)
    )
    measures = {name: empty for name in the_flow.measures}
    measures["mood"] = MeasureAnswers(
        np.array(pid, np.int64), np.array(group, np.int64), np.array(at), np.array(score)
    )
    n = ids.size
    return ReportData(
        measures=measures,
        checkins=CheckinCounts(ids, np.full(n, 2), np.full(n, 2)),
        population=Population(ids, gid, np.ones(n, bool), np.zeros(n, bool), np.zeros(n, bool)),
        group_names={i + 1: name for i, name in enumerate(GROUPS)},
        stories=[],
    )


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    people=st.lists(person, min_size=4, max_size=40),
    views=st.sets(st.sampled_from(GROUPS), max_size=4),
    threshold=st.integers(3, 6),
)
def test_subtraction_never_recovers_a_hidden_group(
    people: list[tuple[Any, int, int, int, int]], views: set[str], threshold: int
) -> None:
    the_flow = flow()
    policy = DisclosurePolicy(threshold=threshold, key="property")
    start, end = period_bounds(None, LAST_SUNDAY)
    cache = {(the_flow.id, the_flow.version, start, end): _data(people)}
    built = {
        scope: analyse(
            None,  # type: ignore[arg-type]  # everything comes from the cache
            the_flow,
            until=LAST_SUNDAY,
            group=None if scope == "all" else scope,
            policy=policy,
            generated_at=STAMP,
            loaded=cache,  # type: ignore[arg-type]
        ).data
        for scope in ["all", *sorted(views)]
    }

    # Unknowns: each person's baseline (column 2i) and latest (2i + 1).
    n = len(people)
    members = {g: [i for i, p in enumerate(people) if p[0] == g] for g in GROUPS}
    everyone = list(range(n))
    rows: list[np.ndarray] = []
    values: list[float] = []

    def equation(who: list[int], column: int, mean: float) -> None:
        row = np.zeros(2 * n)
        row[[2 * i + column for i in who]] = 1.0
        rows.append(row)
        values.append(mean * len(who))

    for scope, report in built.items():
        mood = report["measures"]["mood"]
        who = everyone if scope == "all" else members[scope]
        if not mood["suppressed"] and mood["n_paired"]:
            equation(who, 0, mood["baseline_mean"])
            equation(who, 1, mood["latest_mean"])
        for week in mood["weekly"]:
            if week["suppressed"]:
                continue
            w = (date.fromisoformat(week["week_start"]) - MONDAY.date()).days // 7
            row = np.zeros(2 * n)
            count = 0
            for i in who:  # a person's two answers are never in the same week here
                for column, at in ((0, 3), (1, 4)):
                    if people[i][at] == w:
                        row[2 * i + column] = 1.0
                        count += 1
            rows.append(row)
            values.append(week["mean"] * count)
    if not rows:
        return
    a = np.array(rows)
    b = np.array(values)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    rank = np.linalg.matrix_rank(a)
    truth = np.array([v for p in people for v in (p[1], p[2])], dtype=float)

    hidden = [
        g
        for g, body in built["all"]["groups"].items()
        if body["measures"]["mood"]["suppressed"] and members[g]
    ]
    for g in hidden:
        for column in (0, 1):
            target = np.zeros(2 * n)
            target[[2 * i + column for i in members[g]]] = 1.0 / len(members[g])
            determined = np.linalg.matrix_rank(np.vstack([a, target])) == rank
            if determined:
                estimate = float(target @ solution)
                assert abs(estimate - float(target @ truth)) > 0.05, (g, column)
