"""A flow file's text: its bytes read from disk and decoded as UTF-8, or a `FlowError` saying
plainly why the file cannot be read as text (missing, a folder, unreadable, binary, another
encoding).

Apart from `loading` so that both `loading.load_flow` and the flows folder (`folder`) can
read files without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path

from survey_flows.checks.problems import FlowError, FlowProblem


def read_flow_text(path: str | os.PathLike[str]) -> str:
    """A flow file's text, or FlowError saying plainly why it cannot be read as UTF-8 text."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FlowError([FlowProblem(name, 1, "there is no such file")]) from None
    except IsADirectoryError:
        raise FlowError([FlowProblem(name, 1, "this is a folder, not a flow file")]) from None
    except OSError as error:
        message = f"the file cannot be read: {error.strerror or error}"
        raise FlowError([FlowProblem(name, 1, message)]) from None
    if b"\x00" in data:
        message = (
            "this looks like a binary file, not a YAML text file; check you chose the right file"
        )
        raise FlowError([FlowProblem(name, 1, message)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = (
            "the file is not UTF-8 text (it may be in another encoding, or not a text file); "
            "save it as UTF-8 in your editor"
        )
        raise FlowError([FlowProblem(name, line, message)]) from None
