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

    def lines(self) -> list[str]:
        """What a command prints for this error: one `FILE:LINE: message` per problem."""
        return [str(problem) for problem in self.problems]


class UnknownFlow(FlowError):
    """No flow has this id: not a problem in any file, so it is told plainly, not FILE:LINE."""

    def __init__(self, name: str, folder: str, available: Iterable[str]) -> None:
        self.name = name
        self.folder = folder
        self.available: list[str] = list(available)
        listed = ", ".join(self.available) or "none"
        self.message = (
            f"there is no flow '{name}' in {folder} (flows there: {listed}); "
            "give a flow id from that list"
        )
        super().__init__([FlowProblem(name, 1, self.message)])

    def __str__(self) -> str:
        return self.message

    def lines(self) -> list[str]:
        """A plain sentence and the flows to choose from: there is no file and line to name."""
        if not self.available:
            return [f"There is no flow called '{self.name}': {self.folder} has no flows."]
        return [
            f"There is no flow called '{self.name}'. The flows in {self.folder} are:",
            *(f"  {flow_id}" for flow_id in self.available),
            "Give one of those ids.",
        ]
