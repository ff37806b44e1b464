"""Charts: valid PNG bytes, nothing drawn from suppressed figures."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from reports.build import analyse
from reports.charts import (
    GroupMeans,
    baseline_latest_chart,
    change_distribution_chart,
    report_charts,
    weekly_means_chart,
)
from tests.reports.dataset import insert_dataset

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG header."""
    assert png.startswith(PNG)
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize(
    ("threshold", "method", "inclusive"),
    [(2.0, "meaningful-change", True), (3.1, "jacobson-truax", False), (None, "none", True)],
)
def test_change_distribution(threshold: float | None, method: str, inclusive: bool) -> None:
    changes = np.array([-3.0, -1.0, 0.0, 0.0, 0.5, 1.0, 2.0, 2.0, 4.0, 6.0])
    png = change_distribution_chart(
        changes,
        label="Mood",
        threshold=threshold,
        method=method,
        higher_is_better=True,
        inclusive=inclusive,
    )
    assert png is not None
    width, height = png_size(png)
    assert 400 < width < 1200 and 200 < height < 1200


def test_change_distribution_with_many_distinct_values() -> None:
    changes = np.random.default_rng(1).normal(0.5, 1.5, 500)
    png = change_distribution_chart(
        changes, label="Mood", threshold=2.0, method="meaningful-change", higher_is_better=False
    )
    assert png is not None and png.startswith(PNG)


def test_nothing_to_draw_gives_none() -> None:
    assert (
        change_distribution_chart(
            np.array([]), label="x", threshold=1.0, method="m", higher_is_better=True
        )
        is None
    )
    assert baseline_latest_chart([], label="x", higher_is_better=True) is None
    hidden_weeks = [
        {"week_start": "2025-01-06", "n": None, "mean": None, "ci95": None, "suppressed": True}
    ]
    assert weekly_means_chart(hidden_weeks, label="x", higher_is_better=True) is None


def test_baseline_latest_and_weekly() -> None:
    png = baseline_latest_chart(
        [GroupMeans("All", 4.3, 5.9, 0.6, 2.6), GroupMeans("North", 4.4, 6.5, None, None)],
        label="Mood",
        higher_is_better=True,
    )
    assert png is not None and png.startswith(PNG)
    weeks = [
        {"week_start": "2025-01-06", "n": 20, "mean": 4.2, "ci95": [3.6, 4.8], "suppressed": False},
        {"week_start": "2025-01-13", "n": None, "mean": None, "ci95": None, "suppressed": True},
        {"week_start": "2025-01-20", "n": 18, "mean": 4.9, "ci95": [4.1, 5.7], "suppressed": False},
        {"week_start": "2025-01-27", "n": 1, "mean": 5.0, "ci95": None, "suppressed": False},
    ]
    png = weekly_means_chart(weeks, label="Mood", higher_is_better=True)
    assert png is not None and png.startswith(PNG)


def test_report_charts_skip_suppressed_figures(sessions: sessionmaker[Session]) -> None:
    data = insert_dataset(sessions)
    stamp = datetime(2025, 3, 1, tzinfo=UTC)
    shown = analyse(sessions, data.flow, threshold=5, generated_at=stamp)
    charts = report_charts(shown)
    kinds = {(c.measure, c.kind) for c in charts}
    for name in data.flow.measures:
        assert {(name, "change_distribution"), (name, "baseline_latest"), (name, "weekly")} <= kinds
    for chart in charts:
        assert chart.png.startswith(PNG)
        assert chart.alt and chart.title
        # Hidden groups are never named in a chart's description.
        assert "East" not in chart.alt and "South" not in chart.alt
    # A threshold nobody reaches: every figure is hidden, so nothing is drawn.
    hidden = analyse(sessions, data.flow, threshold=1000, generated_at=stamp)
    assert all(c.size == 0 for c in hidden.changes.values())
    assert report_charts(hidden) == []
