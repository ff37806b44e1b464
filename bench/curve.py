"""Scale curves: each benchmark measures a few sizes and prints them as one table.

A curve shows how cost grows: for each size, its time and peak memory, and how much more
each took than the previous size relative to how much bigger the size was ("x linear": 1.00
is exactly linear, 1.20 is the most a step may cost). The machine's load average is read
before and after every point; when it was busy (load at or above the number of CPUs
allowed by `quiet_below`), the table says so and no goal verdict is printed, because a
shared machine's figures then say more about the neighbours than about Groundswell.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

#: The most one size step may cost relative to linear growth (issue goal).
LINEAR_SLACK = 1.2


def load_average() -> float:
    """The one-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def quiet_below() -> float:
    """The load under which the machine counts as quiet: half its CPUs, at least 0.5.

    Override with BENCH_QUIET_LOAD (e.g. when the benchmark itself runs several processes).
    """
    configured = os.environ.get("BENCH_QUIET_LOAD")
    if configured:
        return float(configured)
    return max(0.5, (os.cpu_count() or 1) / 2)


def settle(longest: float = 90.0) -> float:
    """Wait (up to `longest` seconds) for the load left by earlier points to fall below the
    quiet level, so each point starts on an idle machine; returns the load at the end."""
    deadline = time.monotonic() + longest
    while load_average() >= quiet_below() and time.monotonic() < deadline:
        time.sleep(2)
    return load_average()


@dataclass
class Point:
    """One measured size: `seconds` is the figure of merit (wall time, or time per unit)."""

    size: float
    seconds: float
    peak_mb: float | None = None
    load_before: float = field(default_factory=load_average)
    load_after: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def finish(self) -> Point:
        """Record the load average at the end of the measurement; returns self."""
        self.load_after = load_average()
        return self


@dataclass
class Curve:
    """A named series of points with the unit its sizes are counted in."""

    name: str
    unit: str
    points: list[Point] = field(default_factory=list)
    #: True when growing the size should keep `seconds` flat (throughput per worker, say)
    #: rather than grow it in proportion; the ratio column then compares with 1.
    flat: bool = False

    def add(self, point: Point) -> Point:
        self.points.append(point)
        return point

    def step_ratios(self) -> list[float | None]:
        """Per point: (time ratio) / (size ratio) against the previous point, or None."""
        ratios: list[float | None] = [None]
        for before, after in zip(self.points, self.points[1:], strict=False):
            if before.seconds <= 0 or before.size <= 0:
                ratios.append(None)
                continue
            time_ratio = after.seconds / before.seconds
            size_ratio = 1.0 if self.flat else after.size / before.size
            ratios.append(time_ratio / size_ratio)
        return ratios

    def busy(self) -> bool:
        """Whether any point started on a busy machine (the load before it, which the
        benchmark's own earlier points may raise: call `settle()` between points)."""
        limit = quiet_below()
        return any(p.load_before >= limit for p in self.points)

    def within_linear(self) -> bool:
        """Whether every step costs at most LINEAR_SLACK times linear growth."""
        return all(r is None or r <= LINEAR_SLACK for r in self.step_ratios())

    def table(self) -> str:
        """The curve as a plain-text table, one row per size."""
        extra_keys: list[str] = []
        for point in self.points:
            extra_keys += [k for k in point.extra if k not in extra_keys]
        header = [self.unit, "seconds", "peak MB", "x linear", "load", *extra_keys]
        rows = [header]
        for point, ratio in zip(self.points, self.step_ratios(), strict=True):
            rows.append(
                [
                    f"{point.size:,.0f}",
                    f"{point.seconds:.3f}",
                    "-" if point.peak_mb is None else f"{point.peak_mb:,.0f}",
                    "-" if ratio is None else f"{ratio:.2f}",
                    f"{point.load_before:.1f}-{point.load_after:.1f}",
                    *(point.extra.get(k, "") for k in extra_keys),
                ]
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [f"{self.name}"]
        for row in rows:
            lines.append(
                "  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
            )
        return "\n".join(lines)


def verdict(goal: str, met: bool, curves: Sequence[Curve]) -> str:
    """A goal's verdict line, or a refusal when any of the curves was measured while busy."""
    if any(curve.busy() for curve in curves):
        return (
            f"goal: {goal}: no verdict (load average reached {quiet_below():.1f} or more "
            f"during the run; re-run on a quiet machine)"
        )
    return f"goal: {goal}: {'met' if met else 'NOT met'}"


def linear_verdict(curve: Curve) -> str:
    """The 'within 1.2x of linear per step' verdict for one curve."""
    return verdict(
        f"{curve.name} within {LINEAR_SLACK}x of linear per size step",
        curve.within_linear(),
        [curve],
    )
