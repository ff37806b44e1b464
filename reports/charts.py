"""Charts for change summaries, drawn with matplotlib (Agg, no display) as PNG bytes.

No chart carries information by colour alone: categories differ by hatching and marker
shape too, and the key numbers are written on the chart. Each drawing function returns
``None`` when it has nothing it may show (no data, or only suppressed figures), and
``report_charts`` only ever passes figures the report publishes.

The figures are built with ``matplotlib.figure.Figure`` and the Agg canvas directly, not
pyplot, so drawing keeps no global state and is safe in a web worker.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.build import Report
from reports.disclosure import DisclosurePolicy, publish_count
from survey_flows.model import Flow
from survey_flows.wording import count_words

__all__ = [
    "Chart",
    "GroupMeans",
    "baseline_latest_chart",
    "change_distribution_chart",
    "report_charts",
    "weekly_means_chart",
]

_DPI = 110
_WIDTH = 6.4  # inches: about 700 px, scaled down on a phone
# Greys a reader can tell apart in print, plus hatching for each category.
_STYLE = {
    "improved": {"facecolor": "0.25", "hatch": "", "label": "Improved reliably"},
    "no_change": {"facecolor": "0.85", "hatch": "..", "label": "No reliable change"},
    "deteriorated": {"facecolor": "white", "hatch": "xxx", "label": "Deteriorated reliably"},
    "unclassified": {"facecolor": "0.6", "hatch": "//", "label": "People (not classified)"},
}


@dataclass(frozen=True)
class Chart:
    """One drawn chart: which measure, what kind, a title, its alt text and the PNG."""

    measure: str
    kind: str
    title: str
    alt: str
    png: bytes


@dataclass(frozen=True)
class GroupMeans:
    """Paired baseline and latest means of one group, and the 95% CI of its mean change."""

    name: str
    baseline: float
    latest: float
    change_low: float | None
    change_high: float | None


def _png(figure: Figure) -> bytes:
    """Render a figure to PNG bytes."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _fmt(x: float) -> str:
    """A short signed number for chart labels."""
    return f"{x:+.2f}".rstrip("0").rstrip(".") if x != 0 else "0"


# --------------------------------------------------------------------------- (a) changes


def _category(
    changes: np.ndarray, threshold: float | None, higher_is_better: bool, inclusive: bool
) -> np.ndarray:
    """Each change as improved / no_change / deteriorated (or unclassified without a band).

    The same rule as ``reports.statistics``: beyond the threshold (Jacobson-Truax), or at
    least the threshold up to rounding (meaningful change), so the counts on the chart
    match the report's.
    """
    if threshold is None:
        return np.full(changes.shape, "unclassified", dtype=object)
    better = changes > 0 if higher_is_better else changes < 0
    worse = changes < 0 if higher_is_better else changes > 0
    size = np.abs(changes)
    reliable = size >= threshold * (1.0 - 1e-12) if inclusive else size > threshold
    out = np.full(changes.shape, "no_change", dtype=object)
    out[reliable & better] = "improved"
    out[reliable & worse] = "deteriorated"
    return out


def change_distribution_chart(
    changes: np.ndarray,
    *,
    label: str,
    threshold: float | None,
    method: str,
    higher_is_better: bool,
    inclusive: bool = True,
    count: Callable[[int], int] = int,
) -> bytes | None:
    """Each paired person's change as a histogram, with the no-reliable-change band shaded.

    ``count`` publishes a count (``reports.disclosure.publish_count``): every bar height,
    legend and total on the chart goes through it, so a chart is no more exact than the
    report's own counts.

    ``threshold`` is the reliable-change size (None: no band, people not classified);
    ``inclusive`` says whether a change of exactly the threshold counts as reliable
    (meaningful-change: yes; Jacobson-Truax: beyond it only). Bars are split by category
    with a different hatch each, and counted on the chart.
    """
    x = np.asarray(changes, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    figure = Figure(figsize=(_WIDTH, 3.8))
    ax = figure.add_subplot()

    values = np.unique(x)
    if values.size <= 40:
        # Few distinct changes (answers on a scale): one bar per value, exact counts.
        step = float(np.min(np.diff(values))) if values.size > 1 else 1.0
        width = 0.8 * step
        edges = None
    else:
        edges = np.histogram_bin_edges(x, bins="auto")
        width = float(edges[1] - edges[0])

    if threshold is not None and threshold > 0:
        closed = "at least" if inclusive else "more than"
        ax.axvspan(
            -threshold,
            threshold,
            facecolor="0.93",
            edgecolor="0.55",
            hatch="\\\\",
            linewidth=0.8,
            zorder=0,
            label=f"No reliable change band (reliable: {closed} {threshold:.3g})",
        )
    ax.axvline(0, color="black", linestyle=":", linewidth=1, zorder=1)

    category = _category(x, threshold, higher_is_better, inclusive)
    counts: dict[str, int] = {}
    bottom_by_value: dict[float, float] = {}
    for name in ("improved", "no_change", "deteriorated", "unclassified"):
        chosen = x[category == name]
        counts[name] = int(chosen.size)
        if chosen.size == 0:
            continue
        style = _STYLE[name]
        if edges is None:
            where, heights = np.unique(chosen, return_counts=True)
        else:
            heights, _ = np.histogram(chosen, bins=edges)
            where = (edges[:-1] + edges[1:]) / 2
        heights = np.array([count(int(h)) for h in heights])
        bottoms = np.array([bottom_by_value.get(float(w), 0.0) for w in where])
        ax.bar(
            where,
            heights,
            width=width,
            bottom=bottoms,
            facecolor=style["facecolor"],
            hatch=style["hatch"],
            edgecolor="black",
            linewidth=0.8,
            label=f"{style['label']}: {count(int(chosen.size))}",
            zorder=2,
        )
        for w, h in zip(where, heights, strict=True):
            bottom_by_value[float(w)] = bottom_by_value.get(float(w), 0.0) + float(h)
    for w, total in bottom_by_value.items():
        if total > 0:
            ax.annotate(
                str(int(total)),
                (w, total),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )

    arrow = "better →" if higher_is_better else "← better"
    ax.set_xlabel(f"Change in {label}, latest answer minus baseline ({arrow})")
    ax.set_ylabel("People")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(
        f"{label}: each person's change (n = {count(int(x.size))}; method: {method})", fontsize=10
    )
    ax.margins(y=0.15)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return _png(figure)


# --------------------------------------------------------------------------- (b) groups


def baseline_latest_chart(
    groups: Sequence[GroupMeans],
    *,
    label: str,
    higher_is_better: bool,
    scale: tuple[float, float] | None = None,
) -> bytes | None:
    """Baseline and latest means per group, joined by an arrow, with the change's 95% CI.

    The means are paired (the same people at both times), so the interval that answers
    "did it change?" is the interval of the mean change; it is drawn around the latest mean
    as baseline + CI. Baseline is a hollow circle, latest a filled square; values are
    written beside them.
    """
    rows = [g for g in groups if math.isfinite(g.baseline) and math.isfinite(g.latest)]
    if not rows:
        return None
    figure = Figure(figsize=(_WIDTH, 1.2 + 0.7 * len(rows)))
    ax = figure.add_subplot()
    ys = np.arange(len(rows))[::-1]
    for y, g in zip(ys, rows, strict=True):
        ax.annotate(
            "",
            xy=(g.latest, y),
            xytext=(g.baseline, y),
            arrowprops={"arrowstyle": "->", "color": "0.4", "linewidth": 1.2},
        )
        if g.change_low is not None and g.change_high is not None:
            low, high = g.baseline + g.change_low, g.baseline + g.change_high
            ax.errorbar(
                [g.latest],
                [y],
                xerr=[[g.latest - low], [high - g.latest]],
                fmt="none",
                ecolor="black",
                capsize=4,
                linewidth=1,
                zorder=3,
            )
        ax.annotate(
            f"{g.baseline:.2f}",
            (g.baseline, y),
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
        ax.annotate(
            f"{g.latest:.2f}",
            (g.latest, y),
            xytext=(0, -13),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    ax.scatter(
        [g.baseline for g in rows],
        ys,
        marker="o",
        s=55,
        facecolors="white",
        edgecolors="black",
        zorder=4,
        label="Baseline mean",
    )
    ax.scatter(
        [g.latest for g in rows],
        ys,
        marker="s",
        s=45,
        color="black",
        zorder=4,
        label="Latest mean (bar: 95% CI of the change)",
    )
    ax.set_yticks(ys, [g.name for g in rows])
    ax.set_ylim(-0.8, len(rows) - 0.2)
    ax.margins(x=0.15)
    if scale is not None:  # the whole scale, from its minimum: no exaggerated change
        ax.set_xlim(scale[0], scale[1])
    ax.set_xlabel(f"{label} ({'higher' if higher_is_better else 'lower'} is better)")
    ax.set_title(f"{label}: baseline and latest, same people", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    return _png(figure)


# --------------------------------------------------------------------------- (c) weeks


def weekly_means_chart(
    weeks: Sequence[dict[str, Any]],
    *,
    label: str,
    higher_is_better: bool,
    scale: tuple[float, float] | None = None,
) -> bytes | None:
    """The mean per week with its 95% interval (error bars and a hatched band).

    ``weeks`` are the report's ``weekly`` entries; suppressed weeks are left out (a gap in
    the line), as are weeks without a mean.
    """
    shown = [w for w in weeks if not w.get("suppressed") and w.get("mean") is not None]
    if not shown:
        return None
    x = np.array([np.datetime64(w["week_start"], "D") for w in shown])
    y = np.array([w["mean"] for w in shown], dtype=np.float64)
    low = np.array([w["ci95"][0] if w.get("ci95") else np.nan for w in shown])
    high = np.array([w["ci95"][1] if w.get("ci95") else np.nan for w in shown])
    dates = [date.fromisoformat(w["week_start"]) for w in shown]

    figure = Figure(figsize=(_WIDTH, 3.6))
    ax = figure.add_subplot()
    days = np.array(dates)  # matplotlib takes dates in arrays (its stubs say so, not lists)
    ax.fill_between(
        days,
        low,
        high,
        facecolor="0.9",
        edgecolor="0.6",
        hatch="//",
        linewidth=0.5,
        label="95% interval",
    )
    # Break the line where a week is missing, so a gap is not drawn as a trend.
    gaps = np.flatnonzero(np.diff(x).astype(np.int64) > 7) + 1
    for chunk in np.split(np.arange(len(shown)), gaps):
        ax.plot([dates[i] for i in chunk], y[chunk], color="black", linewidth=1.2)
    ax.errorbar(
        days,
        y,
        yerr=[y - low, high - y],
        fmt="o",
        color="black",
        markerfacecolor="white",
        capsize=3,
        linewidth=0.8,
        label="Mean that week",
    )
    ax.set_ylabel(f"{label} ({'higher' if higher_is_better else 'lower'} is better)")
    if scale is not None:  # the axis starts at the scale's minimum
        ax.set_ylim(scale[0], scale[1])
    ax.set_xlabel("Week starting (Monday)")
    ax.set_title(f"{label}: mean per week, with 95% interval", fontsize=10)
    every = max(1, math.ceil(len(dates) / 12))
    ax.set_xticks(days[::every], [d.strftime("%d %b %Y") for d in dates[::every]])
    figure.autofmt_xdate()
    ax.legend(fontsize=8, loc="best")
    return _png(figure)


# --------------------------------------------------------------------------- a report's charts


def _distribution_alt(entry: dict[str, Any], n: int) -> str:
    rc = entry["reliable_change"]
    if rc["improved"] is None:
        return (
            f"Histogram of the change in {entry['label']} for each of "
            f"{count_words(n, 'person', 'people')}; "
            f"people are not classified as reliably changed ({rc.get('reason') or 'no method'})."
        )
    return (
        f"Histogram of the change in {entry['label']} for each of "
        f"{count_words(n, 'person', 'people')}, with the band "
        f"of changes smaller than {rc['threshold']:.3g} shaded: {rc['improved']} improved "
        f"reliably, {rc['no_change']} showed no reliable change, {rc['deteriorated']} "
        "deteriorated reliably."
    )


def _groups_alt(label: str, rows: list[GroupMeans]) -> str:
    parts = []
    for g in rows:
        ci = (
            f" (95% CI of the change {_fmt(g.change_low)} to {_fmt(g.change_high)})"
            if g.change_low is not None and g.change_high is not None
            else ""
        )
        parts.append(f"{g.name}: from {g.baseline:.2f} to {g.latest:.2f}{ci}")
    return f"Baseline and latest mean of {label} for the same people. " + "; ".join(parts) + "."


def _weekly_alt(label: str, weeks: list[dict[str, Any]]) -> str:
    shown = [w for w in weeks if not w["suppressed"] and w["mean"] is not None]
    first, last = shown[0], shown[-1]
    return (
        f"Mean {label} per week for {count_words(len(shown), 'week')}, from "
        f"{first['mean']:.2f} in the week "
        f"of {first['week_start']} to {last['mean']:.2f} in the week of {last['week_start']}, "
        "each with its 95% interval."
    )


def _counter(policy: DisclosurePolicy) -> Callable[[int], int]:
    """A count as the report publishes it (rounded by the policy)."""

    def count(n: int) -> int:
        return int(publish_count(policy, n) or 0)

    return count


def measure_scales(flow: Flow | None) -> dict[str, tuple[float, float]]:
    """Each measure's scale, lowest to highest possible score, from the flow's steps."""
    out: dict[str, tuple[float, float]] = {}
    for step in flow.steps if flow is not None else ():
        if not step.measure:
            continue
        scores = [c.score for c in step.choices if c.score is not None]
        if step.min is not None and step.max is not None:
            low, high = float(step.min), float(step.max)
        elif scores:
            low, high = float(min(scores)), float(max(scores))
        else:
            continue
        known = out.get(step.measure)
        out[step.measure] = (
            (low, high) if known is None else (min(known[0], low), max(known[1], high))
        )
    return out


def report_charts(report: Report, flow: Flow | None = None) -> list[Chart]:
    """Every chart of a built report, measure by measure, skipping suppressed figures.

    With the report's `flow`, means are drawn on each measure's whole scale.
    """
    charts: list[Chart] = []
    scales = measure_scales(flow)
    data = report.data
    for name, entry in data["measures"].items():
        label, better = entry["label"], entry["higher_is_better"]
        if not entry["suppressed"]:
            changes = report.changes.get(name, np.empty(0))
            rc = entry["reliable_change"]
            rounding = data["method"].get("disclosure", {}).get("counts_rounded_to", 1)
            policy = DisclosurePolicy(rounding_base=int(rounding))
            png = change_distribution_chart(
                changes,
                label=label,
                threshold=rc["threshold"],
                method=rc["method"],
                higher_is_better=better,
                inclusive=rc["method"] != "jacobson-truax",
                count=_counter(policy),
            )
            if png is not None:
                charts.append(
                    Chart(
                        name,
                        "change_distribution",
                        f"{label}: each person's change",
                        _distribution_alt(entry, int(entry["n_paired"] or 0)),
                        png,
                    )
                )
        rows = []
        scopes = [("All" if data["scope"] == "all" else data["scope"], entry)]
        if data["scope"] == "all":
            scopes += [(g, body["measures"][name]) for g, body in data["groups"].items()]
        for scope_name, figures in scopes:
            if figures["suppressed"] or figures["baseline_mean"] is None:
                continue
            ci = figures["ci95"]
            rows.append(
                GroupMeans(
                    scope_name,
                    figures["baseline_mean"],
                    figures["latest_mean"],
                    None if ci is None else ci[0],
                    None if ci is None else ci[1],
                )
            )
        png = baseline_latest_chart(
            rows, label=label, higher_is_better=better, scale=scales.get(name)
        )
        if png is not None:
            charts.append(
                Chart(
                    name,
                    "baseline_latest",
                    f"{label}: baseline and latest",
                    _groups_alt(label, rows),
                    png,
                )
            )
        weeks = entry.get("weekly") or []
        png = weekly_means_chart(
            weeks, label=label, higher_is_better=better, scale=scales.get(name)
        )
        if png is not None:
            charts.append(
                Chart(name, "weekly", f"{label}: week by week", _weekly_alt(label, weeks), png)
            )
    return charts
