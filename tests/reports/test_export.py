"""The answers, check-ins and enrolments exports, and the traceability test: the JSON report
recomputed from those three files alone."""

from __future__ import annotations

import csv
import io
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.export import export
from bot.people.privacy import forget_participant
from reports.build import SMALL_GROUP, analyse
from reports.disclosure import (
    EXACT,
    DisclosurePolicy,
    decide_cells,
    no_spread,
    publish_count,
    publish_float,
    publish_mean,
    publish_rate,
    snap_period,
    suppress,
    weekly_visibility,
)
from reports.export import (
    ANSWER_COLUMNS,
    CHECKIN_COLUMNS,
    ENROLMENT_COLUMNS,
    export_answers,
    export_checkins,
    export_enrolments,
    iso_utc,
    write_answers_csv,
    write_checkins_csv,
    write_enrolments_csv,
)
from storage.database import transaction
from storage.models import Answer, Checkin, Enrolment, Group, Participant
from tests.reports.dataset import (
    FLOW_YAML,
    T0,
    Dataset,
    assert_close,
    insert_dataset,
    reference_cohort_sd,
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


Exporter = Callable[..., Iterator[dict[str, Any]]]
Writer = Callable[[Iterable[dict[str, Any]], TextIO], int]

EXPORTS: dict[str, tuple[Exporter, Writer, list[str]]] = {
    "answers": (export_answers, write_answers_csv, ANSWER_COLUMNS),
    "checkins": (export_checkins, write_checkins_csv, CHECKIN_COLUMNS),
    "enrolments": (export_enrolments, write_enrolments_csv, ENROLMENT_COLUMNS),
}


def exported(
    sessions: sessionmaker[Session], flow: str | None = None, kind: str = "answers"
) -> list[dict[str, str]]:
    """An export as CSV text, read back as rows of strings."""
    rows, write, columns = EXPORTS[kind]
    buffer = io.StringIO()
    write(rows(sessions, flow), buffer)
    buffer.seek(0)
    reader = csv.DictReader(buffer)
    assert reader.fieldnames == columns
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


def test_one_row_per_checkin_answered_or_not(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    rows = exported(sessions, kind="checkins")
    assert len(rows) == len(data.checkins)
    assert exported(sessions, "town-pulse", kind="checkins") == rows
    assert exported(sessions, "another-flow", kind="checkins") == []
    answered = {r["checkin"] for r in exported(sessions)}
    assert any(r["checkin"] not in answered for r in rows)  # sent, never answered
    for row, source in zip(rows, data.checkins, strict=True):
        assert row["participant"] == source["participant"]
        assert row["status"] == source["status"]
        assert row["started_at"] == iso_utc(source["started_at"])
        assert row["flow"] == "town-pulse" and row["flow_version"] == data.flow.version
        assert row["channel"] in ("sms", "import")
        assert row["finished_at"] == ""
        assert row["scheduled_for"] in ("", row["started_at"])
    with transaction(sessions) as session:
        first = session.scalars(select(Checkin).order_by(Checkin.id).limit(1)).one()
        first.finished_at = first.started_at + timedelta(minutes=7)
        expected_finish = iso_utc(first.finished_at)
        first_group = session.scalar(
            select(Group.name)
            .join(Participant, Participant.group_id == Group.id)
            .where(Participant.id == first.participant_id)
        )
    first_row = exported(sessions, kind="checkins")[0]
    assert first_row["finished_at"] == expected_finish and first_row["finished_at"].endswith("Z")
    assert first_row["checkin"] == str(first.id)
    assert first_row["group"] == (first_group or "")


def test_one_row_per_enrolment(sessions: sessionmaker[Session], data: Dataset) -> None:
    rows = exported(sessions, kind="enrolments")
    assert {r["participant"] for r in rows} == data.enrolled
    assert len(rows) == len(data.enrolled)
    assert exported(sessions, "town-pulse", kind="enrolments") == rows
    assert exported(sessions, "another-flow", kind="enrolments") == []
    assert {r["flow"] for r in rows} == {"town-pulse"}
    assert {r["enrolled_at"] for r in rows} == {iso_utc(T0)}
    assert {r["active"] for r in rows} == {"true"}
    groups = {a["participant"]: a["group"] or "" for a in data.answers}
    assert all(r["group"] == groups[r["participant"]] for r in rows if r["participant"] in groups)


@pytest.mark.parametrize("kind", list(EXPORTS))
def test_exports_stream(sessions: sessionmaker[Session], data: Dataset, kind: str) -> None:
    export_rows, _, columns = EXPORTS[kind]
    rows = export_rows(sessions, batch=7)
    assert isinstance(rows, types.GeneratorType)
    assert set(next(rows)) == set(columns)
    rows.close()  # abandoning the export ends its read-only transaction cleanly
    total = {"answers": data.answers, "checkins": data.checkins, "enrolments": data.enrolled}
    assert sum(1 for _ in export_rows(sessions, batch=7)) == len(total[kind])


def test_forgotten_participants_stay_under_their_pseudonym(
    sessions: sessionmaker[Session], data: Dataset
) -> None:
    """As in the answers export: a forgotten person's kept records, by pseudonym only."""
    who = sorted(data.enrolled)[0]
    before = {kind: exported(sessions, kind=kind) for kind in EXPORTS}
    with transaction(sessions) as session:
        forget_participant(session, who, keep_answers=True, now=T0 + timedelta(weeks=10))
    after = {kind: exported(sessions, kind=kind) for kind in EXPORTS}
    assert after["checkins"] == before["checkins"]
    assert len(after["answers"]) == len(before["answers"])
    for row_before, row_after in zip(before["enrolments"], after["enrolments"], strict=True):
        if row_after["participant"] == who:
            # Forgetting stops contact, and the export says when it happened.
            assert row_after["forgotten_at"] != ""
            assert row_after == row_before | {
                "active": "false",
                "forgotten_at": row_after["forgotten_at"],
                "withdrawn_at": row_after["withdrawn_at"],
            }
        else:
            assert row_after == row_before


def test_export_commands(
    database_url: str, data: Dataset, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "town-pulse.yaml").write_text(FLOW_YAML, encoding="utf-8")
    env = {"DATABASE_URL": database_url, "GROUNDSWELL_FLOWS": str(folder)}
    for kind, noun in (("checkins", "check-in"), ("enrolments", "enrolment")):
        expected = exported(sessions, "town-pulse", kind=kind)
        result = CliRunner().invoke(
            export, [kind, "--flow", "town-pulse", "--format", "csv"], env=env
        )
        assert result.exit_code == 0, result.output
        assert list(csv.DictReader(io.StringIO(result.stdout))) == expected
        assert f"{len(expected)} {noun}(s) exported" in result.stderr
        out = tmp_path / f"{kind}.csv"
        result = CliRunner().invoke(export, [kind, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        assert list(csv.DictReader(out.open(encoding="utf-8"))) == expected
        result = CliRunner().invoke(export, [kind, "--flow", "nope"], env=env)
        assert "No " in result.stderr and "'nope'" in result.stderr


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


def _figures(
    answers: list[dict[str, Any]], meta: dict[str, Any], reference_sd: float | None
) -> dict[str, Any]:
    baseline, latest = reference_pairs([(a["participant"], a["at"], a["score"]) for a in answers])
    return reference_figures(
        baseline,
        latest,
        higher_is_better=meta["higher_is_better"],
        reliability=meta["reliability"],
        meaningful_change=meta["meaningful_change"],
        reference_sd=reference_sd,
    )


def _monday(at: datetime) -> str:
    """The Monday (UTC) starting the week of ``at``."""
    day = at.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _assert_hidden(figures: dict[str, Any]) -> None:
    assert figures["suppressed"] is True
    assert all(figures[key] is None for key in FIGURES)
    assert figures["reliable_change"]["improved"] is None


ATTRITION_STAGES = [
    "enrolled",
    "prompted",
    "responded",
    "answered baseline and a later check-in",
    "withdrawn",
    "forgotten",
    "lost_to_follow_up",
]

#: A period whose first day starts a few minutes after some people's check-in started (so
#: their answer falls inside it but the check-in does not), as aware datetimes.
PERIOD = (T0 + timedelta(weeks=1, minutes=3), datetime(2025, 1, 21, tzinfo=UTC))


def _add_edge_cases(sessions: sessionmaker[Session], data: Dataset) -> None:
    """People the answers file cannot show: enrolled and never sent anything (in a group of
    their own, and in no group), enrolled after the period, enrolled in another flow only."""
    with transaction(sessions) as session:
        quiet = Group(name="Quiet")
        session.add(quiet)
        session.flush()
        north = session.scalars(select(Group.id).where(Group.name == "North")).one()
        people = [
            (Participant(group_id=quiet.id), data.flow.id, T0),
            (Participant(), data.flow.id, T0),
            (Participant(group_id=north), data.flow.id, T0 + timedelta(weeks=3)),
            (Participant(group_id=north), "another-flow", T0),
        ]
        session.add_all([person for person, _, _ in people])
        session.flush()
        for person, flow_id, at in people:
            session.add(Enrolment(participant_id=person.id, flow_id=flow_id, enrolled_at=at))


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _participation_from_csv(
    answers: list[dict[str, str]],
    checkins: list[dict[str, str]],
    enrolments: list[dict[str, str]],
    flow: str,
    measures: Iterable[str],
    start: datetime | None,
    end: datetime | None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Participation for everyone and per group, by the definitions in reports/build.py.

    Population: enrolled in the flow before the end of the period, or sent a check-in of it
    in the period, or answering one of its measures in the period. Sent: check-ins started
    in the period; completed: those with status completed. Paired: two or more answer times
    to one measure in the period, and sent two or more check-ins in the period. Responded:
    completed one or paired. Groups: the participant's group now (every file gives it).
    """

    def in_period(at: datetime) -> bool:
        return (start is None or at >= start) and (end is None or at < end)

    group: dict[str, str | None] = {}
    enrolled: set[str] = set()
    withdrawn: set[str] = set()
    forgotten: set[str] = set()
    for e in enrolments:
        for column, people in (("withdrawn_at", withdrawn), ("forgotten_at", forgotten)):
            if e[column] and (end is None or _when(e[column]) < end):
                people.add(e["participant"])
        if e["flow"] == flow and (end is None or _when(e["enrolled_at"]) < end):
            enrolled.add(e["participant"])
            group[e["participant"]] = e["group"] or None
    sent: dict[str, int] = {}
    completed: dict[str, int] = {}
    for c in checkins:
        if c["flow"] == flow and in_period(_when(c["started_at"])):
            who = c["participant"]
            sent[who] = sent.get(who, 0) + 1
            completed[who] = completed.get(who, 0) + (c["status"] == "completed")
            group[who] = c["group"] or None
    times: dict[tuple[str, str], set[datetime]] = {}
    for a in answers:
        if (
            a["flow"] == flow
            and a["measure"] in measures
            and a["score"] != ""
            and in_period(_when(a["answered_at"]))
        ):
            times.setdefault((a["participant"], a["measure"]), set()).add(_when(a["answered_at"]))
            group[a["participant"]] = a["group"] or None
    population = enrolled | set(sent) | {who for who, _ in times}
    paired = {who for (who, _), t in times.items() if len(t) >= 2 and sent.get(who, 0) >= 2}

    def figures(people: set[str]) -> dict[str, Any]:
        n_sent = sum(sent.get(p, 0) for p in people)
        n_completed = sum(completed.get(p, 0) for p in people)
        responded = {p for p in people if completed.get(p, 0) >= 1 or p in paired}
        return {
            "enrolled": len(people),
            "prompted": sum(1 for p in people if sent.get(p, 0) >= 1),
            "responded": len(responded),
            "paired": len(people & paired),
            "withdrawn": len(people & withdrawn),
            "forgotten": len(people & forgotten),
            "lost_to_follow_up": len(responded - paired - withdrawn - forgotten),
            "checkins_sent": n_sent,
            "checkins_completed": n_completed,
            "response_rate": n_completed / n_sent if n_sent else None,
        }

    names = sorted({group[p] for p in population if group[p] is not None})
    by_group = {g: figures({p for p in population if group[p] == g}) for g in names}
    return figures(population), by_group


def _assert_participation(
    published: dict[str, Any], expected: dict[str, Any], hidden: bool
) -> None:
    """A report's (or group's) participants and attrition against the recomputed figures."""
    participants, attrition = published["participants"], published["attrition"]
    assert [a["stage"] for a in attrition] == ATTRITION_STAGES
    if hidden:
        assert participants == dict.fromkeys(expected, None) | {"suppressed": True}
        assert all(a["count"] is None for a in attrition)
        return
    assert participants == expected | {"suppressed": False}
    stages = (
        "enrolled",
        "prompted",
        "responded",
        "paired",
        "withdrawn",
        "forgotten",
        "lost_to_follow_up",
    )
    assert [a["count"] for a in attrition] == [expected[k] for k in stages]


# --------------------------------------------------------------------------- issue 12 figures


def _people(answers: list[dict[str, Any]]) -> dict[str, dict[datetime, list[float]]]:
    """Each person's answers by time (same-time answers kept together for averaging)."""
    out: dict[str, dict[datetime, list[float]]] = {}
    for a in answers:
        out.setdefault(a["participant"], {}).setdefault(a["at"], []).append(a["score"])
    return out


def _evidence(answers: list[dict[str, Any]], threshold: int) -> dict[str, Any]:
    """follow_up_days, the attrition check and per-person changes for one scope, by numpy
    and scipy from the exported answers alone."""
    from scipy import stats

    paired_base, latest, days, base_only, changes = [], [], [], [], []
    for _, by_time in sorted(_people(answers).items()):
        times = sorted(by_time)
        first = float(np.mean(by_time[times[0]]))
        if len(times) < 2:
            base_only.append(first)
            continue
        last = float(np.mean(by_time[times[-1]]))
        paired_base.append(first)
        latest.append(last)
        changes.append(last - first)
        days.append((times[-1] - times[0]) / timedelta(days=1))
    out: dict[str, Any] = {"changes": np.array(changes), "base": np.array(paired_base)}
    out["latest"] = np.array(latest)
    if days:
        d = np.array(days)
        out["follow_up_days"] = {
            "median": float(np.median(d)),
            "p25": float(np.percentile(d, 25)),
            "p75": float(np.percentile(d, 75)),
            "min": float(d.min()),
            "max": float(d.max()),
        }
    a, b = np.array(paired_base), np.array(base_only)
    if min(a.size, b.size) >= max(threshold, 1):
        ci_pair = None
        if min(a.size, b.size) >= 2 and a.var() + b.var() > 0:
            ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
            ci_pair = [float(ci.low), float(ci.high)]
        out["attrition_check"] = {
            "baseline_mean_analysed": float(a.mean()),
            "baseline_mean_baseline_only": float(b.mean()),
            "difference": float(a.mean() - b.mean()),
            "ci95": ci_pair,
            "n_analysed": int(a.size),
            "n_baseline_only": int(b.size),
            "suppressed": False,
        }
    return out


def _holm(p: list[float]) -> list[float]:
    """Holm's adjustment from its definition (independent of reports.multiplicity)."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out = [0.0] * m
    for rank, i in enumerate(order):
        out[i] = min(1.0, max((m - j) * p[order[j]] for j in range(rank + 1)))
    return out


def _bands_from_csv(
    base: np.ndarray, latest: np.ndarray, bands: list[dict[str, Any]], threshold: int
) -> list[dict[str, Any]]:
    """Band shares with scipy's Wilson intervals and the published suppression rule."""
    from scipy import stats

    def at(values: np.ndarray) -> list[dict[str, Any]]:
        counts = []
        for i, b in enumerate(bands):
            top = values <= b["max"] if i == len(bands) - 1 else values < bands[i + 1]["min"]
            counts.append(int(np.sum((values >= b["min"]) & top)))
        rule = suppress(dict(enumerate(counts)), int(values.size), threshold=threshold)
        cells = []
        for i, c in enumerate(counts):
            if rule.total_suppressed or i in rule.suppressed_groups:
                cells.append({"share": None, "ci95": None, "suppressed": True})
            else:
                ci = stats.binomtest(c, int(values.size)).proportion_ci(method="wilson")
                cells.append(
                    {"share": c / values.size, "ci95": [ci.low, ci.high], "suppressed": False}
                )
        return cells

    return [
        {"label": b["label"], "min": b["min"], "max": b["max"], "baseline": s, "latest": e}
        for b, s, e in zip(bands, at(base), at(latest), strict=True)
    ]


def _check_evidence(report: dict[str, Any], rows: list[dict[str, str]], threshold: int) -> None:
    """Every issue-12 figure of the report against the exported answers: follow-up days,
    attrition checks, bands, between-group comparisons (Welch), Holm-adjusted p-values
    over the whole report, and each verdict by its published rule."""
    from scipy import stats

    p_raw: list[float] = []
    published_p: list[dict[str, Any]] = []
    checked = {"bands": 0, "attrition": 0, "comparisons": 0}
    for name, m in report["measures"].items():
        answers = _scored(rows, name)
        scopes = {"all": (m, answers)}
        for g, body in report["groups"].items():
            scopes[g] = (body["measures"][name], [a for a in answers if a["group"] == g])
        evidence = {}
        # Attrition checks: the baseline-only counts have their own rule across groups
        # (reports.disclosure.decide_cells), on top of the groups hidden for the period.
        only = {
            scope: sum(1 for by_time in _people(scoped).values() if len(by_time) == 1)
            for scope, (_, scoped) in scopes.items()
        }
        checks = decide_cells(
            {"baseline_only": {g: n for g, n in only.items() if g != "all"}},
            {"baseline_only": only["all"]},
            threshold=threshold,
            primary=[g for g, (shown, _) in scopes.items() if g != "all" and shown["suppressed"]],
            total_primary=m["suppressed"],
        )
        for scope, (shown, scoped) in scopes.items():
            expected = evidence[scope] = _evidence(scoped, threshold)
            if shown["suppressed"]:
                assert shown["follow_up_days"] is None and shown["verdict"] is None
                assert shown["attrition_check"]["suppressed"] is True
                continue
            assert_close(shown["follow_up_days"], expected.get("follow_up_days"), scope)
            if checks.hides(None if scope == "all" else scope):
                assert shown["attrition_check"]["suppressed"] is True
            elif "attrition_check" in expected:
                assert_close(shown["attrition_check"], expected["attrition_check"], scope)
                checked["attrition"] += 1
            else:
                assert shown["attrition_check"]["suppressed"] is True
            if shown.get("bands") is not None:
                assert_close(
                    shown["bands"],
                    _bands_from_csv(
                        expected["base"], expected["latest"], shown["bands"], threshold
                    ),
                    f"{scope}.{name}.bands",
                )
                checked["bands"] += 1
            if shown["wilcoxon_p"] is not None:
                p_raw.append(shown["wilcoxon_p"])
                published_p.append(shown)
        shown_groups = sorted(
            g
            for g, body in report["groups"].items()
            if not body["measures"][name]["suppressed"] and body["measures"][name]["n_paired"]
        )
        comparisons = m.get("comparisons", [])
        assert [c["groups"] for c in comparisons] == [
            [a, b] for i, a in enumerate(shown_groups) for b in shown_groups[i + 1 :]
        ]
        for c in comparisons:
            a, b = (evidence[g]["changes"] for g in c["groups"])
            assert c["difference"] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
            if c["welch_p"] is not None:
                test = stats.ttest_ind(a, b, equal_var=False)
                ci = test.confidence_interval()
                assert c["welch_p"] == pytest.approx(test.pvalue, rel=1e-9)
                assert c["ci95"] == pytest.approx([ci.low, ci.high], rel=1e-9)
                p_raw.append(c["welch_p"])
                published_p.append(c)
                checked["comparisons"] += 1
    if threshold == 1:  # with nothing hidden, every kind of figure is really checked
        assert all(checked.values()), checked
    assert report["method"]["tests"] == len(p_raw)
    for shown, adjusted in zip(published_p, _holm(p_raw), strict=True):
        assert shown["p_adjusted"] == pytest.approx(adjusted, rel=1e-12)
        if "n_paired" in shown:  # a change: the verdict by its published rule
            low, high = shown["ci95"]
            directional = (
                shown["n_paired"] >= 6
                and high > low
                and (low > 0 or high < 0)
                and shown["wilcoxon_p"] < 0.05
                and adjusted < 0.05
            )
            assert (shown["verdict"] in ("increase", "decrease")) == directional


def _published(
    policy: DisclosurePolicy, figures: dict[str, Any], baseline: Any, latest: Any, cell: str
) -> dict[str, Any]:
    """What the published rule (reports.disclosure) makes of exact paired figures: counts
    rounded, means perturbed with the key, the change their difference, intervals and
    effect sizes moved onto it, p-values exact."""
    if not policy.protected or figures["n_paired"] == 0:
        return figures
    out = dict(figures)
    base = publish_mean(policy, cell, baseline)
    last = publish_mean(policy, cell, latest)
    assert base is not None and last is not None
    change = publish_float(policy, last - base)
    shift = change - figures["mean_change"]

    def moved(interval: Any, by: float) -> Any:
        if interval is None:
            return None
        return [publish_float(policy, interval[0] + by), publish_float(policy, interval[1] + by)]

    out.update(
        n_paired=publish_count(policy, figures["n_paired"]),
        baseline_mean=base,
        latest_mean=last,
        mean_change=change,
        median_change=publish_float(policy, figures["median_change"]),
        ci95=moved(figures["ci95"], shift),
    )
    for key in ("effect_size_dz", "effect_size_dav"):
        if figures.get(key) is None or figures["mean_change"] == 0:
            continue
        published = change * figures[key] / figures["mean_change"]
        out[key] = publish_float(policy, published)
        if figures.get(f"{key}_ci95") is not None:
            out[f"{key}_ci95"] = moved(figures[f"{key}_ci95"], published - figures[key])
    rc = dict(figures["reliable_change"])
    for key in ("improved", "no_change", "deteriorated"):
        rc[key] = publish_count(policy, rc[key])
    out["reliable_change"] = rc
    return out


def _person_weeks(answers: list[dict[str, Any]]) -> dict[tuple[str, str | None, str], float]:
    """(week, group, person) -> the person's mean answer that week."""
    values: dict[tuple[str, str | None, str], list[float]] = {}
    for a in answers:
        values.setdefault((_monday(a["at"]), a["group"], a["participant"]), []).append(a["score"])
    return {k: float(np.mean(v)) for k, v in values.items()}


POLICIES = {
    "exact-1": replace(EXACT, threshold=1),
    "exact-5": replace(EXACT, threshold=5),
    "protected-5": DisclosurePolicy(threshold=5, key="traceability"),
}


@pytest.mark.parametrize("period", [None, PERIOD], ids=["all-time", "period"])
@pytest.mark.parametrize("policy_name", list(POLICIES))
def test_every_report_figure_can_be_recomputed_from_the_export(
    sessions: sessionmaker[Session],
    data: Dataset,
    policy_name: str,
    period: tuple[datetime, datetime] | None,
) -> None:
    """THE TRACEABILITY TEST.

    Build the JSON report, export answers, check-ins and enrolments to CSV (every flow),
    then recompute, from the CSV text alone with numpy/scipy, every figure in the report:
    each measure's paired figures for everyone and each group, the weekly means, the
    stories, and the participation figures and attrition for everyone and each group, by
    the definitions in reports/build.py; then apply the published disclosure rule
    (reports.disclosure: the period snapped to whole weeks, one decision per group over
    every published count and the no-spread rule, weekly decisions, rounded counts, means
    perturbed with the key) and compare. With the key, anyone can reproduce every figure.
    """
    policy = POLICIES[policy_name]
    threshold = policy.threshold
    asked_start, asked_end = period or (None, None)
    _add_edge_cases(sessions, data)
    report = analyse(sessions, data.flow, since=asked_start, until=asked_end, policy=policy).data
    start, end = asked_start, asked_end
    if policy.snap:
        used = snap_period(asked_start, asked_end, today=datetime.now(UTC).date(), policy=policy)
        start = None if used.first_day is None else datetime.combine(used.first_day, time(0), UTC)
        end = (
            None
            if used.last_day is None
            else datetime.combine(used.last_day + timedelta(days=1), time(0), UTC)
        )
        if period is not None:  # Monday 13 January to Sunday 19 January
            assert (start, end) == (
                datetime(2025, 1, 13, tzinfo=UTC),
                datetime(2025, 1, 20, tzinfo=UTC),
            )
            assert report["period"]["published"] == "2025-01-13 to 2025-01-19"
            assert report["period"]["snapped"] is True
    all_answers = exported(sessions)
    checkins = exported(sessions, kind="checkins")
    enrolments = exported(sessions, kind="enrolments")
    rows = [
        r
        for r in all_answers
        if r["flow"] == data.flow.id
        and (start is None or _when(r["answered_at"]) >= start)
        and (end is None or _when(r["answered_at"]) < end)
    ]

    # Participation and attrition, everyone and per group, from the three files.
    overall_p, by_group_p = _participation_from_csv(
        all_answers, checkins, enrolments, data.flow.id, report["measures"], start, end
    )
    assert set(report["groups"]) == set(by_group_p)

    # The one decision per group for the period, over every published count.
    vectors: dict[str, dict[Any, int]] = {}
    totals: dict[str, int] = {}
    for key in ("enrolled", "prompted", "responded", "paired"):
        vectors[key] = {g: f[key] for g, f in by_group_p.items()}
        totals[key] = overall_p[key]
    exact: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
    pairs: dict[tuple[str, str | None], tuple[Any, Any]] = {}
    flat: set[str] = set()
    total_flat = False
    for name, published in report["measures"].items():
        answers = _scored(rows, name)
        # One Jacobson-Truax SD per measure: the flow's, else the whole cohort's baselines.
        sd = published["reference_sd"] or reference_cohort_sd(
            [(a["participant"], a["at"], a["score"]) for a in answers]
        )
        pairs[(name, None)] = reference_pairs(
            [(a["participant"], a["at"], a["score"]) for a in answers]
        )
        by_group = {}
        for g in by_group_p:
            mine = [a for a in answers if a["group"] == g]
            pairs[(name, g)] = reference_pairs(
                [(a["participant"], a["at"], a["score"]) for a in mine]
            )
            by_group[g] = _figures(mine, published, sd)
        exact[name] = (_figures(answers, published, sd), by_group)
        vectors[f"paired:{name}"] = {g: f["n_paired"] for g, f in by_group.items()}
        totals[f"paired:{name}"] = exact[name][0]["n_paired"]
        if policy.hide_no_spread:
            flat |= {g for g in by_group if any(no_spread(x) for x in pairs[(name, g)])}
            total_flat = total_flat or any(no_spread(x) for x in pairs[(name, None)])
    decision = decide_cells(
        vectors, totals, threshold=threshold, primary=flat, total_primary=total_flat
    )

    for name, published in report["measures"].items():
        cell = f"{data.flow.id}|{name}"
        overall, by_group = exact[name]
        # A measure nobody in the scope paired in has nothing to show: null, suppressed.
        if decision.total_hidden or overall["n_paired"] == 0:
            _assert_hidden(published)
        else:
            assert published["suppressed"] is False
            assert_close(
                published, _published(policy, overall, *pairs[(name, None)], cell), f"all.{name}"
            )
        for g, expected in by_group.items():
            shown = report["groups"][g]["measures"][name]
            if g in decision.hidden_groups or expected["n_paired"] == 0:
                _assert_hidden(shown)
            else:
                assert shown["suppressed"] is False
                assert_close(
                    shown, _published(policy, expected, *pairs[(name, g)], cell), f"{g}.{name}"
                )

        answers = _scored(rows, name)
        weekly = reference_weekly([(a["participant"], a["at"], a["score"]) for a in answers])
        person_weeks = _person_weeks(answers)
        assert [w["week_start"] for w in published["weekly"]] == list(weekly)
        for w in published["weekly"]:
            n, mean, ci = weekly[w["week_start"]]
            week_cells: dict[Any, list[float]] = {}
            for (week, g, _), value in person_weeks.items():
                if week == w["week_start"]:
                    week_cells.setdefault(g, []).append(value)
            everyone = np.array([v for values in week_cells.values() for v in values])
            groups_here = {g: v for g, v in week_cells.items() if g is not None}
            spread = policy.hide_no_spread
            week_decision = weekly_visibility(
                {g: len(v) for g, v in groups_here.items()},
                n,
                threshold=threshold,
                primary=[g for g, v in groups_here.items() if spread and no_spread(np.array(v))],
                total_primary=spread and no_spread(everyone),
                period_hidden=decision.hidden_groups,
            )
            if week_decision.total_hidden:
                assert w == {
                    "week_start": w["week_start"],
                    "n": None,
                    "mean": None,
                    "ci95": None,
                    "suppressed": True,
                }
                continue
            expected_week: dict[str, Any] = {"n": n, "mean": mean, "ci95": ci, "suppressed": False}
            if policy.protected:
                published_mean = publish_mean(policy, cell, everyone)
                assert published_mean is not None
                expected_week["n"] = publish_count(policy, n)
                expected_week["mean"] = published_mean
                if ci is not None:
                    half = (ci[1] - ci[0]) / 2
                    expected_week["ci95"] = [
                        publish_float(policy, published_mean - half),
                        publish_float(policy, published_mean + half),
                    ]
            assert_close(w, expected_week, f"{name}.{w['week_start']}")

    if not policy.protected:  # the issue-12 figures, exact; protected: see below
        _check_evidence(report, rows, threshold)
    else:
        _check_published_evidence(report, rows, policy)

    _assert_participation(report, _published_counts(policy, overall_p), decision.total_hidden)
    for g, expected in by_group_p.items():
        _assert_participation(
            report["groups"][g], _published_counts(policy, expected), g in decision.hidden_groups
        )
    if period is not None:  # the edges the period exercises are really there
        assert overall_p["enrolled"] != len({e["participant"] for e in enrolments})
    assert by_group_p["Quiet"]["enrolled"] == 1 and by_group_p["Quiet"]["responded"] == 0

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


def _check_published_evidence(
    report: dict[str, Any], rows: list[dict[str, str]], policy: DisclosurePolicy
) -> None:
    """The issue-12 figures of a protected report against the exports and the published
    rule: attrition checks from the published means of their own answers, comparisons as
    the difference of the groups' published changes, follow-up days in whole days."""
    for name, m in report["measures"].items():
        cell = f"{report['flow']['id']}|{name}"
        answers = _scored(rows, name)
        scopes = {"all": (m, answers)}
        for g, body in report["groups"].items():
            scopes[g] = (body["measures"][name], [a for a in answers if a["group"] == g])
        for scope, (shown, scoped) in scopes.items():
            check = shown["attrition_check"]
            if shown["suppressed"] or check["suppressed"]:
                continue
            expected = _evidence(scoped, 1)
            exact = expected["attrition_check"]
            base_only = [
                float(np.mean(by_time[min(by_time)]))
                for by_time in _people(scoped).values()
                if len(by_time) == 1
            ]
            first = publish_mean(policy, cell, expected["base"])
            second = publish_mean(policy, cell, np.array(base_only))
            assert check["baseline_mean_analysed"] == first, scope
            assert check["baseline_mean_baseline_only"] == second, scope
            assert check["n_analysed"] == publish_count(policy, exact["n_analysed"])
            assert check["n_baseline_only"] == publish_count(policy, exact["n_baseline_only"])
            days = {k: publish_float(policy, v, 0) for k, v in expected["follow_up_days"].items()}
            assert shown["follow_up_days"] == days, scope
        for c in m.get("comparisons", []):
            a, b = (report["groups"][g]["measures"][name]["mean_change"] for g in c["groups"])
            assert c["difference"] == publish_float(policy, a - b)


def _published_counts(policy: DisclosurePolicy, figures: dict[str, Any]) -> dict[str, Any]:
    """Participation figures as published: counts rounded, the rate a whole percentage."""
    out = {k: publish_count(policy, v) for k, v in figures.items() if k != "response_rate"}
    out["response_rate"] = publish_rate(
        policy, figures["checkins_completed"], figures["checkins_sent"]
    )
    return out
