"""Multiple-choice answers in the answers import, the answers export and the report: one row
per chosen value with its `part`, and per-option counts of people under suppression, checked
against the counts recomputed from the export alone."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.intake.answers import AnswerImportError, import_answers
from reports.build import analyse
from reports.disclosure import EXACT, DisclosurePolicy, publish_count
from reports.export import export_answers, write_answers_csv
from reports.formats.html import render as render_html
from reports.formats.text import render as render_text
from storage.database import transaction
from storage.models import Answer, Participant
from survey_flows.checks.folder import FlowLibrary
from tests.survey_flows.test_multiple_choice import FLOW

NOW = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
HEADER = "participant,group,flow,checkin,step,value,answered_at\n"
# Twelve people: lighting 6 (shown), traffic 11 ("all but one": hidden), bins 2 and
# neighbours 1 (fewer than 5: hidden).
PICKS = ["1 2", "1, 2", "lighting and traffic", "1 2 3", "street lighting, less traffic",
         "1 and 2 and 3", "2", "2", "2", "2", "2", "4"]  # fmt: skip


@pytest.fixture
def library(tmp_path: Path) -> FlowLibrary:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "helped.yaml").write_text(FLOW, encoding="utf-8")
    return FlowLibrary(folder)


def _import(sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary) -> None:
    rows = [f'R-{i},Elm Street,helped,2025-04,why,"{pick}",2025-04-{i + 1:02d}\n'
            for i, pick in enumerate(PICKS)]  # fmt: skip
    path = tmp_path / "answers.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    import_answers(sessions, path, library, NOW)


def test_an_imported_multiple_answer_is_one_row_per_chosen_value(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    _import(sessions, tmp_path, library)
    with transaction(sessions, readonly=True) as session:
        rows = session.execute(
            select(Answer.part, Answer.value, Answer.raw_text).order_by(Answer.id)
        ).all()
    assert [tuple(r) for r in rows[:2]] == [(1, "lighting", "1 2"), (2, "traffic", "1 2")]
    assert len(rows) == 2 + 2 + 2 + 3 + 2 + 3 + 5 + 1
    out = io.StringIO()
    write_answers_csv(export_answers(sessions, "helped"), out)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["step"], r["part"], r["value"]) for r in exported[:3]] == [
        ("why", "1", "lighting"), ("why", "2", "traffic"), ("why", "1", "lighting"),
    ]  # fmt: skip


def test_two_rows_for_one_multiple_question_are_refused_with_the_way_to_write_it(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(
        HEADER + "R-1,,helped,2025-04,why,1,2025-04-01\nR-1,,helped,2025-04,why,3,2025-04-01\n",
        encoding="utf-8",
    )
    with pytest.raises(AnswerImportError) as caught:
        import_answers(sessions, path, library, NOW)
    message = str(caught.value.problems[0])
    assert ":3:" in message
    assert "takes them all in one row, e.g. '1 3'" in message


def test_report_counts_people_per_choice_as_the_export_does_with_suppression(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    _import(sessions, tmp_path, library)
    report = analyse(sessions, library.resolve("helped"), threshold=5).data
    why = report["choices"]["why"]
    assert why["question"] == "What helped this month?"
    assert why["answered"] == 10  # 12 people, rounded to the nearest 5 when published

    out = io.StringIO()
    write_answers_csv(export_answers(sessions, "helped"), out)
    people: dict[str, set[str]] = defaultdict(set)
    answered: set[str] = set()
    for row in csv.DictReader(io.StringIO(out.getvalue())):
        answered.add(row["participant"])
        people[row["value"]].add(row["participant"])
    assert publish_count(DisclosurePolicy(), len(answered)) == why["answered"]
    shown = {o["value"]: o["people"] for o in why["options"]}
    assert len(people["lighting"]) == 6 and shown["lighting"] == 5  # rounded
    # 11 of 12: "all but one" would single out the one who did not, so it is hidden.
    assert len(people["traffic"]) == 11 and shown["traffic"] is None
    assert len(people["bins"]) == 2 and shown["bins"] is None  # fewer than 5
    assert len(people["neighbours"]) == 1 and shown["neighbours"] is None
    report = analyse(sessions, library.resolve("helped"), policy=replace(EXACT, threshold=1)).data
    shown = {o["value"]: o["people"] for o in report["choices"]["why"]["options"]}
    assert shown == {v: len(people[v]) for v in ("lighting", "traffic", "bins", "neighbours")}


def test_text_and_html_reports_list_what_people_picked(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    _import(sessions, tmp_path, library)
    report = analyse(sessions, library.resolve("helped"), threshold=5).data
    text = render_text(report)
    assert "WHAT PEOPLE PICKED" in text
    assert "What helped this month? (10 people answered)" in text  # 12, rounded
    assert "Street lighting: 5" in text  # 6, rounded
    assert "Less traffic: not shown" in text
    page = render_html(report)
    assert "<h2>What people picked</h2>" in page
    assert "<li>Street lighting: 5</li>" in page


def test_a_test_participants_picks_leave_the_choices_block_identical(
    sessions: sessionmaker[Session], tmp_path: Path, library: FlowLibrary
) -> None:
    _import(sessions, tmp_path, library)
    flow = library.resolve("helped")
    before = analyse(sessions, flow, threshold=5).data["choices"]
    exact = analyse(sessions, flow, policy=replace(EXACT, threshold=1)).data["choices"]
    path = tmp_path / "tester.csv"
    path.write_text(
        HEADER + 'SIM-1,Elm Street,helped,2025-04,why,"1 2 3 4",2025-04-20\n', encoding="utf-8"
    )
    import_answers(sessions, path, library, NOW)
    # As a resident, the extra person would change the figures (13 answered: 15 rounded) ...
    assert analyse(sessions, flow, threshold=5).data["choices"]["why"]["answered"] == 15
    with transaction(sessions) as session:
        tester = session.scalars(select(Participant).where(Participant.external_ref == "SIM-1"))
        tester.one().is_test = True
    # ... as a test participant they change nothing, rounded or exact, overall or per group.
    assert analyse(sessions, flow, threshold=5).data["choices"] == before
    assert analyse(sessions, flow, policy=replace(EXACT, threshold=1)).data["choices"] == exact
    group = analyse(sessions, flow, group="Elm Street", policy=replace(EXACT, threshold=1)).data
    assert group["choices"]["why"]["answered"] == 12
