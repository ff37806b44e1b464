"""How long the commands staff run most take to start: `groundswell --help`, `chat --help`,
`flows check` and, for contrast, `report --help` (which loads the statistics stack).

Each command runs in a fresh interpreter several times; prints the median wall-clock time
and the load average, since other work on a shared machine slows every start.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
COMMANDS = (("--help",), ("chat", "--help"), ("flows", "check"), ("report", "--help"))


def seconds(args: tuple[str, ...]) -> float:
    """Median wall-clock seconds of `groundswell ARGS` in a fresh interpreter."""
    times = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, capture_output=True, check=True
        )
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    """Print one line per command."""
    for args in COMMANDS:
        print(f"groundswell {' '.join(args):<14} {seconds(args):6.2f} s (median of {ROUNDS})")
    print("load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
