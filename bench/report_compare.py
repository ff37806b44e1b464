"""Report time before and after a change, side by side in one run.

An older commit is checked out in a temporary git worktree; one SQLite database gets the
current schema and is filled once with the synthetic cohort of ``bench/report_size.py`` (by
the older code, so both read the same rows; the older code ignores newer columns). Then the
older and the current code each build the JSON report in fresh processes, alternating,
``--rounds`` times (three builds a process). It prints every run, the median of each side,
the ratio and the load average, because on a shared machine only a side-by-side ratio
means anything.

    python bench/report_compare.py --base 4df24a8               # 1/5 size: 200,000 answers
    python bench/report_compare.py --base main --scale 1 --rounds 3   # the full million

``--scale`` multiplies the cohort (1 is the 1,000,000-answer benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]

#: Run in the older tree's Python path: fill the database at a fraction of full size.
_FILL = """
import sys
sys.path.insert(0, sys.argv[3] + "/bench")
import report_size as rs
from survey_flows.checks.folder import FlowLibrary
scale = float(sys.argv[2])
flow = FlowLibrary().resolve(rs.FLOW)
url = "sqlite:///" + sys.argv[1]
if hasattr(rs, "seed_sqlite"):  # the scale-curve benchmark: a size in answers
    print(rs.seed_sqlite(url, int(1_000_000 * scale), flow.version, flow.source_text))
else:
    rs.PARTICIPANTS = int(rs.PARTICIPANTS * scale)
    rs.NO_GROUP = int(rs.NO_GROUP * scale)
    rs.ANSWERED_CHECKINS = int(rs.ANSWERED_CHECKINS * scale)
    rs.STORIES = int(rs.STORIES * scale)
    rows = rs.cohort(flow.version)
    rs.insert_sqlite(url, rows, flow.version, flow.source_text)
    print(len(rows["answers"]))
"""


_MIGRATE = "import sys\nfrom storage import migrate\nmigrate.upgrade(sys.argv[1])\n"


def _run(tree: Path, args: list[str], *, code: str | None = None) -> str:
    """Run the report benchmark's code of ``tree`` (its packages first on the path)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, *args]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{tree}: {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def compare(base: str, scale: float, rounds: int) -> None:
    """Fill one database with ``base``'s code, then time both trees alternately."""
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder) / "base"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "--detach", str(old), base],
            check=True,
            capture_output=True,
        )
        try:
            db = Path(folder) / "bench.db"
            # The current schema (a superset: older code reads only the columns it knows),
            # then the rows, inserted by the older code.
            _run(HERE, [f"sqlite:///{db}"], code=_MIGRATE)
            answers = int(_run(old, [str(db), str(scale), str(old)], code=_FILL))
            print(f"{answers:,} answers (scale {scale:g}); base {base}, current tree {HERE}")
            results: dict[str, list[dict[str, Any]]] = {"base": [], "current": []}
            loads = []
            for round_ in range(rounds):
                for name, tree in (("base", old), ("current", HERE)):
                    out = _run(tree, ["bench/report_size.py", "--measure", f"sqlite:///{db}"])
                    result = json.loads(out)
                    results[name].append(result)
                    loads.append(os.getloadavg()[0])
                    runs = ", ".join(f"{s:.2f}" for s in result["seconds"])
                    print(
                        f"  round {round_ + 1} {name:>7}: {runs} s, "
                        f"{result['max_rss_mb']:.0f} MB, load {loads[-1]:.1f}"
                    )
        finally:
            subprocess.run(
                ["git", "-C", str(HERE), "worktree", "remove", "--force", str(old)],
                check=False,
                capture_output=True,
            )
    medians = {
        name: statistics.median(s for r in runs for s in r["seconds"])
        for name, runs in results.items()
    }
    memory = {
        name: statistics.median(r["max_rss_mb"] for r in runs) for name, runs in results.items()
    }
    for name in results:
        print(
            f"{name}: median {medians[name]:.2f} s over {3 * rounds} builds, "
            f"peak resident {memory[name]:.0f} MB"
        )
    print(
        f"ratio current/base: {medians['current'] / medians['base']:.2f} (time), "
        f"{memory['current'] / memory['base']:.2f} (memory); load average "
        f"{min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} CPU(s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the older commit (id, branch or tag)")
    parser.add_argument("--scale", type=float, default=0.2, help="cohort size; 1 = 1M answers")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args()
    compare(args.base, args.scale, args.rounds)


if __name__ == "__main__":
    main()
