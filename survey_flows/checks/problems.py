"""What is wrong with a flow file: `FlowProblem` (one problem at FILE:LINE) and `FlowError`.

Kept apart from the checker so that everything that reports or raises problems (the checker,
file reading, the flows folder, the CLI and the web pages) shares these two types without
importing the checker itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow file, at a 1-based line (1 for whole-file problems)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class FlowError(Exception):
    """A flow file could not be used; `problems` lists every reason, not just the first."""

    def __init__(self, problems: Iterable[FlowProblem]) -> None:
        self.problems: list[FlowProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
