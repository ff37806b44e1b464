"""The answers export, and the traceability test: the JSON report recomputed from it alone."""

from __future__ import annotations

import csv
import io
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reports.build import SMALL_GROUP, build_report
from reports.export import ANSWER_COLUMNS, export_answers, iso_utc, write_answers_csv
from reports.suppression import suppress
from storage.database import transaction
from storage.models import Answer, Checkin
from tests.reports.dataset import (
    Dataset,
    assert_close,
    insert_dataset,
    reference_figures,
    reference_pairs,
    reference_weekly,
)

FIGURES = (
    "n_paired",
    "baseline_mean",
    "latest_mean",
    "mean_change",
    "ci95",
    "median_change",
    "wilcoxon_p",
    "effect_size_dz",
)


@pytest.fixture
def data(sessions: sessionmaker[Session]) -> Dataset:
    return insert_dataset(sessions)


def exported(sessions: sessionmaker[Session], flow: str | None = None) -> list[dict[str, str]]:
    """The export as CSV text, read back as rows of strings."""
    buffer = io.StringIO()
    write_answers_csv(export_answers(sessions, flow), buffer)
    buffer.seek(0)
    reader = csv.DictReader(buffer)
    assert reader.fieldnames == ANSWER_COLUMNS
    return list(reader)


def test_one_row_per_answer(sessions: sessionmaker[Session], data: Dataset) -> None:
    rows = exported(sessions)
    assert len(rows) == len(data.answers)
    assert exported(sessions, "town-pulse") == rows
    assert exported(sessions, "another-flow") == []
    first, source = rows[0], data.answers[0]
    assert first["participant"] == source["participant"] and first["participant"].startswith("P-")
    assert first["group"] == (source["group"] or "")
    assert first["flow"] == "town-pulse" and first["flow_version"] == data.flow.version
    assert first["checkin"] == str(source["checkin"])
    assert first["step"] == source["step"] and first["measure"] == source["measure"]
    assert float(first["score"]) == source["score"]
    assert first["answered_at"] == iso_utc(source["answered_at"])
    assert first["answered_at"].endswith("Z")
    assert datetime.fromisoformat(first["answered_at"]) == source["answered_at"]
    assert first["channel"] in ("sms", "import")


def test_export_streams(sessions: sessionmaker[Session], data: Dataset) -> None:
    rows = export_answers(sessions, batch=7)
    assert isinstance(rows, types.GeneratorType)
    assert set(next(rows)) == set(ANSWER_COLUMNS)
    rows.close()  # abandoning the export ends its read-only transaction cleanly
    assert sum(1 for _ in export_answers(sessions, batch=7)) == len(data.answers)


def test_values_are_written_safely(sessions: sessionmaker[Session], data: Dataset) -> None:
    with transaction(sessions) as session:
        checkin = session.scalars(select(Checkin).order_by(Checkin.id.desc()).limit(1)).one()
        common = {
            "checkin_id": checkin.id,
            "participant_id": checkin.participant_id,
            "flow_id": checkin.flow_id,
            "flow_version": checkin.flow_version,
            "answered_at": checkin.started_at,
            "channel": "sms",
        }
        session.add(Answer(step_id="callback", value=True, **common))
        session.add(Answer(step_id="formula", value='=HYPERLINK("x")', **common))
        session.add(Answer(step_id="skipped", value=None, **common))
    rows = {r["step"]: r for r in exported(sessions)}
    assert rows["callback"]["value"] == "yes"
    assert rows["formula"]["value"] == '\'=HYPERLINK("x")'
    assert rows["skipped"]["value"] == "" and rows["skipped"]["score"] == ""


# --------------------------------------------------------------------------- traceability


def _scored(rows: list[dict[str, str]], measure: str) -> list[dict[str, Any]]:
    """A measure's scored answers from the CSV, with parsed times and scores."""
    return [
        {
            "participant": r["participant"],
            "group": r["group"] or None,
            "at": datetime.fromisoformat(r["answered_at"]),
            "score": float(r["score"]),
        }
        for r in rows
        if r["measure"] == measure and r["score"] != ""
    ]


def _figures(answers: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    baseline, latest = reference_pairs([(a["participant"], a["at"], a["score"]) for a in answers])
    return reference_figures(
        baseline,
        latest,
        higher_is_better=meta["higher_is_better"],
        reliability=meta["reliability"],
        meaningful_change=meta["meaningful_change"],
    )


def _monday(at: datetime) -> str:
    """The Monday (UTC) starting the week of ``at``."""
    day = at.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _assert_hidden(figures: dict[str, Any]) -> None:
    assert figures["suppressed"] is True
    assert all(figures[key] is None for key in FIGURES)
    assert figures["reliable_change"]["improved"] is None


@pytest.mark.parametrize("threshold", [1, 5])
def test_every_report_figure_can_be_recomputed_from_the_export(
    sessions: sessionmaker[Session], data: Dataset, threshold: int
) -> None:
    """THE TRACEABILITY TEST.

    Build the JSON report, export the answers to CSV, then recompute, from the CSV text
    alone with numpy/scipy, every figure the report derives from answers: each measure's
    paired figures for everyone and each group, which of them are suppressed (by the
    published rule in reports.suppression), the weekly means, the participation count of
    paired people and the stories. Counts of check-ins sent and completed, and of
    enrolments, come from check-in and enrolment records, which this file does not hold.
    """
    report = build_report(sessions, data.flow, threshold=threshold)
    rows = exported(sessions, data.flow.id)

    for name, published in report["measures"].items():
        answers = _scored(rows, name)
        overall = _figures(answers, published)
        groups = sorted({a["group"] for a in answers if a["group"] is not None})
        by_group = {g: _figures([a for a in answers if a["group"] == g], published) for g in groups}
        decision = suppress(
            {g: f["n_paired"] for g, f in by_group.items()},
            overall["n_paired"],
            threshold=threshold,
        )

        if decision.total_suppressed or overall["n_paired"] < threshold:
            _assert_hidden(published)
        else:
            assert published["suppressed"] is False
            assert_close(published, overall, f"all.{name}")
        for g, expected in by_group.items():
            shown = report["groups"][g]["measures"][name]
            if g in decision.suppressed_groups:
                _assert_hidden(shown)
            else:
                assert shown["suppressed"] is False
                assert_close(shown, expected, f"{g}.{name}")

        weekly = reference_weekly([(a["participant"], a["at"], a["score"]) for a in answers])
        assert [w["week_start"] for w in published["weekly"]] == list(weekly)
        for w in published["weekly"]:
            n, mean, ci = weekly[w["week_start"]]
            people_by_group: dict[str, set[str]] = {}
            for a in answers:
                if a["group"] is not None and _monday(a["at"]) == w["week_start"]:
                    people_by_group.setdefault(a["group"], set()).add(a["participant"])
            week_decision = suppress(
                {g: len(p) for g, p in people_by_group.items()}, n, threshold=threshold
            )
            if week_decision.total_suppressed:
                assert w == {
                    "week_start": w["week_start"],
                    "n": None,
                    "mean": None,
                    "ci95": None,
                    "suppressed": True,
                }
            else:
                assert_close(w, {"n": n, "mean": mean, "ci95": ci, "suppressed": False})

    # Paired people in the attrition flow: a baseline and a later answer to any measure.
    times: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        if r["measure"] and r["score"]:
            times.setdefault((r["participant"], r["measure"]), set()).add(r["answered_at"])
    paired = len({p for (p, _), t in times.items() if len(t) >= 2})
    if not report["participants"]["suppressed"]:
        assert report["participants"]["paired"] == paired

    # Stories: every free-text answer, dated, under its pseudonym, its group or hidden.
    stories = [r for r in rows if r["step"] == "story" and r["value"]]
    assert len(report["stories"]) == len(stories)
    published_stories = sorted(
        (s["answered_at"], s["participant"], s["text"], s["group"]) for s in report["stories"]
    )
    from_csv = sorted(
        (
            datetime.fromisoformat(r["answered_at"]).isoformat(),
            r["participant"],
            r["value"],
            r["group"],
        )
        for r in stories
    )
    for (at, who, text, group), (at2, who2, text2, group2) in zip(
        published_stories, from_csv, strict=True
    ):
        assert (at, who, text) == (at2, who2, text2)
        assert group in (group2, SMALL_GROUP)
