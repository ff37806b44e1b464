"""Load survey flows: `parse_flow` for a flow file's text, `load_flow` for a file, each giving a
`model.Flow` or raising `FlowError` with every problem of the file at FILE:LINE.

The work is done elsewhere: `file_text` reads a file as UTF-8 text, `flow` (with
`yaml_lines`, the `Checker` and the checks of each part) turns the text into a Flow or
problems, `problems` holds `FlowProblem` and `FlowError`, and `folder` holds `FlowLibrary`,
the flows folder.
"""

from __future__ import annotations

import os

from survey_flows.checks.file_text import read_flow_text
from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow

__all__ = ["load_flow", "parse_flow"]


def parse_flow(text: str, path: str = "<flow>") -> Flow:
    """Parse and validate a flow's YAML text; raises FlowError listing every problem."""
    flow, problems = check_flow_text(text, path)
    if flow is None:
        raise FlowError(problems)
    return flow


def load_flow(path: str | os.PathLike[str]) -> Flow:
    """Read and parse one flow file; every failure is a FlowError, never a traceback."""
    return parse_flow(read_flow_text(path), str(path))
