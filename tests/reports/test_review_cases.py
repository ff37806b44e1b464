"""The independent review's cases (issue 12), each reproduced through the answers import or
the test dataset and the report, on SQLite and PostgreSQL: the report's words never claim
more than the (adjusted) evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import survey_flows
from bot.intake.answers import import_answers
from reports.build import analyse
from reports.disclosure import EXACT
from reports.export import export_enrolments
from reports.formats import text as text_format
from reports.multiplicity import holm
from storage.database import transaction
from storage.models import Participant
from survey_flows.checks.folder import FlowLibrary
from tests.reports.dataset import Dataset, insert_dataset

NOW = datetime(2024, 6, 1, tzinfo=UTC)
HEADER = "participant,group,flow,checkin,step,value,answered_at\n"

#: These cases test the arithmetic and the verdicts: no rounding, noise or snapping
#: (reports.disclosure's protections are tested in test_disclosure_attacks.py).
EXACT_1 = replace(EXACT, threshold=1)


@pytest.fixture
def library() -> FlowLibrary:
    return FlowLibrary(Path(survey_flows.__file__).parent / "library")


def import_changes(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    library: FlowLibrary,
    changes: dict[str, list[float]],
    step: str = "happy",
) -> None:
    """People (by group) answering ``step`` 5 at baseline and 5 + change four weeks later."""
    rows = []
    for group, group_changes in changes.items():
        for i, change in enumerate(group_changes):
            who = f"{group}-{i}"
            rows.append(f"{who},{group},weekly-wellbeing,1,{step},5,2024-03-05")
            rows.append(f"{who},{group},weekly-wellbeing,2,{step},{5 + change:g},2024-04-02")
    path = tmp_path / "answers.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    import_answers(sessions, path, library, NOW)


def happiness(sessions: sessionmaker[Session], library: FlowLibrary, **kwargs: object) -> dict:
    report = analyse(sessions, library.resolve("weekly-wellbeing"), policy=EXACT_1, **kwargs).data  # type: ignore[arg-type]
    return report


# --- case 1: a zero-width interval is not evidence ------------------------------------------


@pytest.mark.parametrize(("n", "exact_p"), [(3, 0.25), (5, 0.0625)])
def test_everyone_up_by_one_in_a_small_group_is_not_enough_data(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary, n: int, exact_p: float
) -> None:
    import_changes(sessions, tmp_path, library, {"Elm": [1] * n})
    m = happiness(sessions, library)["measures"]["happiness"]
    assert m["ci95"] == [1.0, 1.0]
    assert m["wilcoxon_p"] == pytest.approx(exact_p)  # the exact test: 2 / 2**n
    assert m["verdict"] == "not enough data"
    assert "no test can show a change" in m["verdict_reason"]
    text = text_format.render(happiness(sessions, library))
    figures = text.split("HOW THESE FIGURES WERE MADE")[0]  # the method note explains terms
    assert "an increase" not in figures and "leaves out zero" not in figures


def test_everyone_up_by_one_in_a_larger_group_is_no_clear_change(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    import_changes(sessions, tmp_path, library, {"Elm": [1] * 10})
    m = happiness(sessions, library)["measures"]["happiness"]
    assert m["ci95"] == [1.0, 1.0]
    assert m["verdict"] == "no clear change"
    assert "interval has no width" in m["verdict_reason"]


# --- case 2: borderline results say why ------------------------------------------------------


def test_interval_and_rank_test_disagreeing_is_no_clear_change_with_the_reason(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    changes = [-3, -2, -2, -2, -1, -1, -1, 0, 0, 0, 1, 1]
    import_changes(sessions, tmp_path, library, {"Elm": changes})
    report = happiness(sessions, library)
    m = report["measures"]["happiness"]
    d = np.array(changes, dtype=float)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    assert m["ci95"][1] == pytest.approx(d.mean() + half) and m["ci95"][1] < 0
    assert m["wilcoxon_p"] == pytest.approx(0.078125)
    assert m["verdict"] == "no clear change"
    assert "leaves out zero but the Wilcoxon test does not find a change" in m["verdict_reason"]
    assert "borderline" in text_format.render(report).replace("\n  ", " ")


# --- case 3: many tests, one adjustment -----------------------------------------------------


def test_a_raw_p_below_005_that_does_not_survive_holm_is_no_clear_change(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    clear = [-1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2]  # t-interval above 0, exact p 0.03125
    import_changes(sessions, tmp_path, library, {"Elm": clear, "Oak": clear})
    report = happiness(sessions, library)
    published = [report["measures"]["happiness"]] + [
        body["measures"]["happiness"] for body in report["groups"].values()
    ]
    raw = [m["wilcoxon_p"] for m in published]
    comparisons = report["measures"]["happiness"]["comparisons"]
    raw += [c["welch_p"] for c in comparisons if c["welch_p"] is not None]
    assert report["method"]["tests"] == len(raw) and report["method"]["adjustment"] == "holm"
    expected = holm(raw)
    for m, p_adjusted in zip(published, expected, strict=False):
        assert m["p_adjusted"] == pytest.approx(p_adjusted)
    for group in ("Elm", "Oak"):
        m = report["groups"][group]["measures"]["happiness"]
        assert m["wilcoxon_p"] < 0.05 and m["ci95"][0] > 0
        assert m["p_adjusted"] >= 0.05
        assert m["verdict"] == "no clear change"
        assert "does not hold after allowing for the report's" in m["verdict_reason"]
    # Everyone together (24 people) is a clear increase even after adjustment.
    overall = report["measures"]["happiness"]
    assert overall["p_adjusted"] < 0.05 and overall["verdict"] == "increase"
    assert overall["verdict_better"] is True
    # The two places side by side: identical changes, no difference.
    assert comparisons[0]["groups"] == ["Elm", "Oak"]
    assert comparisons[0]["difference"] == pytest.approx(0.0)
    assert comparisons[0]["verdict"] == "no clear change"
    assert any("Holm" in p for p in report["method"]["paragraphs"])


# --- case 4: one reliable-change rule per measure -------------------------------------------


@pytest.fixture
def data(sessions: sessionmaker[Session]) -> Dataset:
    return insert_dataset(sessions)


def test_reliable_change_threshold_is_the_same_in_every_group_and_one_group_report(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    full = analyse(sessions, data.flow, policy=EXACT_1).data
    threshold = full["measures"]["worry"]["reliable_change"]["threshold"]
    assert threshold is not None
    assert full["measures"]["worry"]["reliable_change"]["sd_source"] == "cohort"
    for group, body in full["groups"].items():
        assert body["measures"]["worry"]["reliable_change"]["threshold"] == threshold
        alone = analyse(sessions, data.flow, policy=EXACT_1, group=group).data
        worry = alone["measures"]["worry"]
        assert worry["reliable_change"]["threshold"] == threshold
        # The group's own report classifies its people exactly as the full report does.
        assert worry["reliable_change"] == body["measures"]["worry"]["reliable_change"]


# --- case 5: how long people were followed, and what a baseline is with --since ------------


def test_follow_up_length_is_reported_and_since_explains_the_baseline(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    report = analyse(sessions, data.flow, policy=EXACT_1).data
    rows = data.rows("mood")
    firsts: dict[object, datetime] = {}
    lasts: dict[object, datetime] = {}
    for a in rows:
        who, at = a["participant"], a["answered_at"]
        firsts[who] = min(firsts.get(who, at), at)
        lasts[who] = max(lasts.get(who, at), at)
    days = np.array(
        [(lasts[p] - firsts[p]) / timedelta(days=1) for p in firsts if lasts[p] != firsts[p]]
    )
    published = report["measures"]["mood"]["follow_up_days"]
    assert published == pytest.approx(
        {
            "median": np.median(days),
            "p25": np.percentile(days, 25),
            "p75": np.percentile(days, 75),
            "min": days.min(),
            "max": days.max(),
        }
    )
    text = text_format.render(report).replace("\n  ", " ")
    assert "People were followed for a median of" in text
    since = analyse(sessions, data.flow, policy=EXACT_1, since=date(2025, 1, 20)).data
    assert any("first answer in the period" in p for p in since["method"]["paragraphs"])
    assert "Baselines are each person's first answer in this period." in text_format.render(since)


# --- case 6: withdrawals are visible ---------------------------------------------------------


def test_withdrawals_have_their_own_stage_and_a_date_in_the_export(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    stop_at = datetime(2025, 2, 1, 9, 0, tzinfo=UTC)
    enrolled = sorted({r["participant"] for r in export_enrolments(sessions, data.flow.id)})
    names = set(enrolled[:3])
    with transaction(sessions) as session:
        people = session.scalars(select(Participant).where(Participant.pseudonym.in_(names)))
        for person in people:
            person.opted_out, person.opted_out_at = True, stop_at
    report = analyse(sessions, data.flow, policy=EXACT_1).data
    assert report["participants"]["withdrawn"] == 3
    stages = {s["stage"]: s["count"] for s in report["attrition"]}
    assert stages["withdrawn"] == 3
    p = report["participants"]
    assert stages["lost_to_follow_up"] <= p["responded"] - p["paired"]
    # Before they texted STOP, the period shows nobody withdrawn.
    before = analyse(sessions, data.flow, policy=EXACT_1, until=date(2025, 1, 31)).data
    assert before["participants"]["withdrawn"] == 0
    exported = [r for r in export_enrolments(sessions, data.flow.id)]
    withdrawn = {r["participant"]: r["withdrawn_at"] for r in exported}
    assert {who for who, at in withdrawn.items() if at is not None} == names
    assert all(withdrawn[who] == stop_at for who in names)
    assert "3 withdrew (STOP or blocked)" in text_format.render(report).replace("\n  ", " ")


# --- 7: the smaller points -------------------------------------------------------------------


def test_pairing_notes_reach_json_and_text_and_d_z_has_no_size_label(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    report = analyse(sessions, data.flow, policy=EXACT_1).data
    mood = report["measures"]["mood"]
    assert any("answered at only one time" in note for note in mood["notes"])
    text = text_format.render(report).replace("\n  ", " ")
    assert "Note: Participants who answered at only one time" in text
    assert mood["effect_size_dz_ci95"][0] < mood["effect_size_dz"] < mood["effect_size_dz_ci95"][1]
    assert mood["effect_size_dav"] is not None and mood["effect_size_dav_ci95"] is not None
    for word in ("(small)", "(medium)", "(large)", "(negligible)"):
        assert word not in text
    assert any("Which answers count" in p for p in report["method"]["paragraphs"])
