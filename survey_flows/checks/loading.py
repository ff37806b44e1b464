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
from survey_flows.checks.flow import check_flow
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow

__all__ = ["load_flow", "parse_flow"]


def parse_flow(text: str, path: str = "<flow>", *, stored: bool = False) -> Flow:
    """Parse and validate a flow's YAML text; raises FlowError listing every problem.

    `stored=True` is for a version that already ran (its text kept in the database): the
    rules added since such a version could have been accepted (every measure declared,
    conditions compare values an answer can take) are not applied, so its check-ins still
    finish and its answers can still be reported; `flows check` applies every rule.
    """
    result = check_flow(text, path, stored=stored)
    if result.flow is None:
        raise FlowError(result.problems)
    return result.flow


def load_flow(path: str | os.PathLike[str]) -> Flow:
    """Read and parse one flow file; every failure is a FlowError, never a traceback."""
    return parse_flow(read_flow_text(path), str(path))
