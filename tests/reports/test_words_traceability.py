"""Traceability of the report's words: the per-question counts (`questions`) and the
per-group "What changed" sentences, recomputed from the `groundswell export` files alone
with numpy and scipy, by the published rules (reports/disclosure.py: one decision per group
and period, suppression of a count with its complement, rounding, the means' keyed noise).

The data: four groups answering a flow three times. Riverside (14 people) improves clearly,
Elm Street (10) does not change, Northgate (6) is hidden so that Tiny (3, hidden for its
size) cannot be worked out by subtraction. Every person's change has its own size, so the
Wilcoxon test has no ties (scipy's exact test is the report's).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.intake.answers import import_answers
from reports.build import analyse
from reports.disclosure import (
    EXACT,
    DisclosurePolicy,
    decide_cells,
    publish_count,
    publish_float,
    publish_mean,
    suppress,
)
from reports.export import export_answers, export_checkins, write_answers_csv, write_checkins_csv
from reports.formats.headline import what_changed
from survey_flows.checks.folder import FlowLibrary
from tests.reports.test_export import _holm

FLOW = """\
flow: street-voice
title: Street voice
language: en
steps:
  - id: mood
    ask: "How good was your week, 0 to 100?"
    type: scale
    min: 0
    max: 100
    measure: mood
  - id: talked
    ask: "Did you speak to a neighbour this week, {{ participant.name or 'friend' }}?"
    type: yes_no
  - id: safe
    ask: "How safe do you feel after dark?"
    type: choice
    choices:
      - {value: very_safe, label: "Very safe"}
      - {value: fairly_safe, label: "Fairly safe"}
      - {value: not_safe, label: "Not safe"}
  - id: hours
    ask: "How many hours did you help out?"
    type: number
measures:
  mood: {label: "Good week", higher_is_better: true}
"""
#: What the flow file says each stored value is called (the labels residents saw).
LABELS = {
    "talked": {"yes": "Yes", "no": "No"},
    "safe": {"very_safe": "Very safe", "fairly_safe": "Fairly safe", "not_safe": "Not safe"},
}
QUESTIONS = {
    "talked": "Did you speak to a neighbour this week, friend?",  # as if no name is known
    "safe": "How safe do you feel after dark?",
    "hours": "How many hours did you help out?",
}
T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)  # a Monday
MADE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
GROUPS = {"Riverside": 14, "Elm Street": 10, "Northgate": 6, "Tiny": 3}
POLICIES = {
    "exact-5": replace(EXACT, threshold=5),
    "protected-5": DisclosurePolicy(threshold=5, key="words-traceability"),
}


def _changes() -> dict[str, list[int]]:
    """Each group's changes: every size used once across the whole dataset."""
    sizes = iter(range(1, 40))
    take = {g: [next(sizes) for _ in range(n)] for g, n in GROUPS.items()}
    return {
        "Riverside": [-s if i == 0 else s for i, s in enumerate(take["Riverside"])],
        "Elm Street": [s if i % 2 else -s for i, s in enumerate(take["Elm Street"])],
        "Northgate": [s if i % 2 else -s for i, s in enumerate(take["Northgate"])],
        "Tiny": take["Tiny"],
    }


def _rows() -> list[str]:
    rows = []
    k = 0
    for group, changes in _changes().items():
        for change in changes:
            k += 1
            who = f"R-{k:02d}"
            base = 45 + (k % 7)
            for week, mood in enumerate((base, base + change // 2, base + change)):
                day = (T0 + timedelta(weeks=week, days=k % 5)).date().isoformat()
                answers = {
                    "mood": str(mood),
                    "talked": "yes" if (k + week) % 3 else "no",
                    "safe": ("Very safe", "Fairly safe", "Not safe")[(k * (week + 1)) % 3]
                    if k % 11
                    else "Not safe",
                    "hours": "2.5" if k == 1 and week == 0 else str((k + week) % 4),
                }
                for step, value in answers.items():
                    rows.append(f'{who},{group},street-voice,w{week},{step},"{value}",{day}\n')
    return rows


@pytest.fixture
def library(tmp_path: Path) -> FlowLibrary:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "street-voice.yaml").write_text(FLOW, encoding="utf-8")
    return FlowLibrary(folder)


@pytest.fixture
def imported(sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary) -> None:
    path = tmp_path / "answers.csv"
    header = "participant,group,flow,checkin,step,value,answered_at\n"
    path.write_text(header + "".join(_rows()), encoding="utf-8")
    import_answers(sessions, path, library, MADE)


def _export(sessions: sessionmaker[Session], kind: str) -> list[dict[str, str]]:
    """`groundswell export answers|checkins` as CSV text, read back as rows of strings."""
    out = io.StringIO()
    if kind == "answers":
        write_answers_csv(export_answers(sessions, "street-voice"), out)
    else:
        write_checkins_csv(export_checkins(sessions, "street-voice"), out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def _label(step: str, value: str) -> str:
    """An exported value as the label residents saw (numbers as people write them)."""
    if step in LABELS:
        return LABELS[step][value]
    return f"{float(value):g}"


def _expected_questions(
    rows: list[dict[str, str]], policy: DisclosurePolicy, group: str | None
) -> dict[str, Any]:
    """`questions` from the answers export: per step, the people who answered and, per
    label, who gave it at least once; a count is hidden (None) when it or its complement
    (who answered but did not give it) is under the threshold, shown counts rounded."""
    out = {}
    for step, question in QUESTIONS.items():
        given: dict[str, set[str]] = {}
        for r in rows:
            if r["step"] == step and (group is None or r["group"] == group):
                given.setdefault(r["participant"], set()).add(_label(step, r["value"]))
        answered = len(given)
        if step in LABELS:
            labels = list(LABELS[step].values())
        else:
            labels = sorted({x for v in given.values() for x in v}, key=float)
        answers = []
        for label in labels:
            count = sum(1 for v in given.values() if label in v)
            rule = suppress(
                {"gave": count, "did not": answered - count}, answered, threshold=policy.threshold
            )
            shown = not rule.total_suppressed and not rule.is_suppressed("gave")
            answers.append(
                {
                    "label": label,
                    "people": publish_count(policy, count) if shown else None,
                    "suppressed": not shown,
                }
            )
        hidden = answered < policy.threshold
        out[step] = {
            "question": question,
            "answered": None if hidden else publish_count(policy, answered),
            "suppressed": hidden,
            "answers": answers,
        }
    return out


def _pairs(rows: list[dict[str, str]], group: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Each person's first and last mood score (the baseline and the latest)."""
    by_person: dict[str, list[tuple[str, float]]] = {}
    for r in rows:
        if r["measure"] == "mood" and (group is None or r["group"] == group):
            by_person.setdefault(r["participant"], []).append((r["answered_at"], float(r["score"])))
    firsts, lasts = [], []
    for answers in by_person.values():
        answers.sort()
        firsts.append(answers[0][1])
        lasts.append(answers[-1][1])
    return np.array(firsts), np.array(lasts)


def _sure(p: float) -> str:
    return "very sure" if p < 0.001 else "sure" if p < 0.01 else "fairly sure" if p < 0.05 else ""


@pytest.mark.parametrize("policy_name", list(POLICIES))
def test_questions_and_group_headlines_can_be_recomputed_from_the_exports(
    sessions: sessionmaker[Session], library: FlowLibrary, imported: None, policy_name: str
) -> None:
    from scipy import stats

    policy = POLICIES[policy_name]
    flow = library.resolve("street-voice")
    report = analyse(sessions, flow, policy=policy, generated_at=MADE).data
    rows = _export(sessions, "answers")
    checkins = _export(sessions, "checkins")

    # Who is hidden: one decision over every group's counts (all equal here: each person
    # was sent three check-ins and completed them, so enrolled = responded = paired).
    assert all(c["status"] == "completed" for c in checkins)
    sizes = {g: len({r["participant"] for r in rows if r["group"] == g}) for g in GROUPS}
    total = sum(sizes.values())
    counts = ("enrolled", "prompted", "responded", "paired", "paired:mood")
    decision = decide_cells(
        dict.fromkeys(counts, sizes), dict.fromkeys(counts, total), threshold=policy.threshold
    )
    assert decision.hidden_groups == {"Tiny", "Northgate"} and not decision.total_hidden

    # questions: everyone, each shown group's own report, and none for a hidden group.
    assert report["questions"] == _expected_questions(rows, policy, None)
    # The one "2.5" is hidden (and so is its complement, "all but one").
    assert {"label": "2.5", "people": None, "suppressed": True} in report["questions"]["hours"][
        "answers"
    ]
    for group in GROUPS:
        scoped = analyse(sessions, flow, policy=policy, generated_at=MADE, group=group).data
        if group in decision.hidden_groups:
            assert scoped["questions"] == {}
            assert not any(group in s for s in what_changed(report))
        else:
            assert scoped["questions"] == _expected_questions(rows, policy, group)

    # The per-group What changed figures: changes, intervals, Wilcoxon and Welch p by
    # scipy, Holm over every test of the all-groups report, the verdict by its rule.
    shown = [g for g in GROUPS if g not in decision.hidden_groups]
    scopes: dict[str | None, tuple[np.ndarray, np.ndarray]] = {None: _pairs(rows, None)}
    scopes |= {g: _pairs(rows, g) for g in shown}
    p_raw = [float(stats.wilcoxon(b - a, zero_method="zsplit").pvalue) for a, b in scopes.values()]
    first, second = sorted(shown)
    changes = {g: scopes[g][1] - scopes[g][0] for g in shown}
    p_raw.append(float(stats.ttest_ind(changes[first], changes[second], equal_var=False).pvalue))
    adjusted = dict(zip([*scopes, "comparison"], _holm(p_raw), strict=True))
    expected_sentences = []
    # Published periods are whole weeks: to the last Sunday ended when the report was made.
    period = "up to 23 February 2025" if policy.snap else "over all answers so far"
    for g in shown:
        base, latest = scopes[g]
        d = latest - base
        low, high = stats.t.interval(0.95, d.size - 1, loc=d.mean(), scale=stats.sem(d))
        raw = p_raw[list(scopes).index(g)]
        clear = d.size >= 6 and (low > 0 or high < 0) and raw < 0.05 and adjusted[g] < 0.05
        published = report["groups"][g]["measures"]["mood"]
        assert published["verdict"] in (("increase", "decrease") if clear else ("no clear change",))
        assert published["p_adjusted"] == pytest.approx(adjusted[g], rel=1e-9)
        if not clear:
            continue
        change = d.mean()
        if policy.protected:
            cell = "street-voice|mood"
            change = publish_float(
                policy, publish_mean(policy, cell, latest) - publish_mean(policy, cell, base)
            )
        shown_change = f"{abs(change):.2f}".rstrip("0").rstrip(".")
        verb = "rose" if change > 0 else "fell"
        expected_sentences.append(
            f"Better: Good week in {g} {verb} by {shown_change} points on average, among "
            f"{publish_count(policy, d.size)} people who answered at the start and again "
            f"later, {period}. We are {_sure(adjusted[g])} this is a real change."
        )
    assert len(expected_sentences) == 1  # Riverside: the one clear change in a group
    headline = what_changed(report)
    group_lines = [s for s in headline if any(f" in {g} " in s for g in GROUPS)]
    assert group_lines == expected_sentences
    for sentence in headline:  # the section stays free of statistics
        assert not any(word in sentence for word in ("d_z", "Wilcoxon", "p <", "p ="))
