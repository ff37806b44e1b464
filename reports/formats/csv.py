"""The report's figures as CSV: one row per measure per scope (``all`` or a group name).

Every published figure has a column, including the scope's participation counts (repeated
on each of its rows), so the file can be filtered and pivoted without the JSON; a measure's
band shares are one cell of JSON text. Comparisons between groups are in the JSON, text and
HTML reports. Suppressed
figures are empty cells with ``suppressed`` true.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from reports.formats.cells import cell

__all__ = ["COLUMNS", "render", "rows"]

COLUMNS = [
    "scope",
    "measure",
    "label",
    "higher_is_better",
    "suppressed",
    "n_paired",
    "baseline_mean",
    "latest_mean",
    "mean_change",
    "ci95_low",
    "ci95_high",
    "median_change",
    "wilcoxon_p",
    "p_adjusted",
    "verdict",
    "verdict_better",
    "verdict_reason",
    "effect_size_dz",
    "effect_size_dz_ci95_low",
    "effect_size_dz_ci95_high",
    "effect_size_dav",
    "effect_size_dav_ci95_low",
    "effect_size_dav_ci95_high",
    "follow_up_days_median",
    "follow_up_days_p25",
    "follow_up_days_p75",
    "follow_up_days_min",
    "follow_up_days_max",
    "attrition_baseline_mean_analysed",
    "attrition_baseline_mean_baseline_only",
    "attrition_difference",
    "attrition_ci95_low",
    "attrition_ci95_high",
    "bands",
    "reliable_change_method",
    "improved",
    "no_change",
    "deteriorated",
    "reliable_change_threshold",
    "reference_sd",
    "sd_source",
    "reliability",
    "meaningful_change",
    "participants_suppressed",
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
    "notes",
    "flow",
    "since",
    "until",
]


def _row(
    report: dict[str, Any], scope: str, participants: dict[str, Any], name: str, m: dict[str, Any]
) -> dict[str, Any]:
    """One measure of one scope as a flat dict of the columns."""
    rc = m["reliable_change"]
    ci = m["ci95"] or [None, None]
    dz_ci = m.get("effect_size_dz_ci95") or [None, None]
    dav_ci = m.get("effect_size_dav_ci95") or [None, None]
    days = m.get("follow_up_days") or {}
    attrition = m.get("attrition_check") or {}
    attrition_ci = attrition.get("ci95") or [None, None]
    return {
        "scope": scope,
        "measure": name,
        "label": m["label"],
        "higher_is_better": m["higher_is_better"],
        "suppressed": m["suppressed"],
        "n_paired": m["n_paired"],
        "baseline_mean": m["baseline_mean"],
        "latest_mean": m["latest_mean"],
        "mean_change": m["mean_change"],
        "ci95_low": ci[0],
        "ci95_high": ci[1],
        "median_change": m["median_change"],
        "wilcoxon_p": m["wilcoxon_p"],
        "p_adjusted": m.get("p_adjusted"),
        "verdict": m.get("verdict"),
        "verdict_better": m.get("verdict_better"),
        "verdict_reason": m.get("verdict_reason"),
        "effect_size_dz": m["effect_size_dz"],
        "effect_size_dz_ci95_low": dz_ci[0],
        "effect_size_dz_ci95_high": dz_ci[1],
        "effect_size_dav": m.get("effect_size_dav"),
        "effect_size_dav_ci95_low": dav_ci[0],
        "effect_size_dav_ci95_high": dav_ci[1],
        **{f"follow_up_days_{k}": days.get(k) for k in ("median", "p25", "p75", "min", "max")},
        "attrition_baseline_mean_analysed": attrition.get("baseline_mean_analysed"),
        "attrition_baseline_mean_baseline_only": attrition.get("baseline_mean_baseline_only"),
        "attrition_difference": attrition.get("difference"),
        "attrition_ci95_low": attrition_ci[0],
        "attrition_ci95_high": attrition_ci[1],
        "bands": None if m.get("bands") is None else json.dumps(m["bands"], allow_nan=False),
        "reliable_change_method": rc["method"],
        "improved": rc["improved"],
        "no_change": rc["no_change"],
        "deteriorated": rc["deteriorated"],
        "reliable_change_threshold": rc.get("threshold"),
        "reference_sd": rc.get("reference_sd"),
        "sd_source": rc.get("sd_source"),
        "reliability": m.get("reliability"),
        "meaningful_change": m.get("meaningful_change"),
        "participants_suppressed": participants["suppressed"],
        "enrolled": participants["enrolled"],
        "prompted": participants["prompted"],
        "responded": participants["responded"],
        "paired": participants["paired"],
        "withdrawn": participants.get("withdrawn"),
        "forgotten": participants.get("forgotten"),
        "lost_to_follow_up": participants.get("lost_to_follow_up"),
        "checkins_sent": participants["checkins_sent"],
        "checkins_completed": participants["checkins_completed"],
        "response_rate": participants["response_rate"],
        "notes": " ".join(m.get("notes") or []),
        "flow": report["flow"]["id"],
        "since": report["period"]["since"],
        "until": report["period"]["until"],
    }


def rows(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The rows as dicts (raw values): the report's own scope first, then each group.

    A one-group report has only that group's rows.
    """
    scope = report["scope"]
    for name, m in report["measures"].items():
        yield _row(report, scope, report["participants"], name, m)
    if scope != "all":
        return
    for group, body in report["groups"].items():
        for name, m in body["measures"].items():
            yield _row(report, group, body["participants"], name, m)


def render(report: dict[str, Any]) -> str:
    """The CSV text, with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows(report):
        writer.writerow([cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()
