"""A flow file's text: its bytes read from disk and decoded as UTF-8, or a `FlowError` saying
plainly why the file cannot be read as text (missing, a folder, a device or pipe, larger
than `MAX_FLOW_BYTES`, unreadable, binary, another encoding).

Only regular files are read, and never more than the cap: `/dev/zero`, a FIFO or a huge
file is refused at once instead of filling memory or blocking the process.

Apart from `loading` so that both `loading.load_flow` and the flows folder (`folder`) can
read files without importing each other.
"""

from __future__ import annotations

import os
import stat

from survey_flows.checks.problems import FlowError, FlowProblem

#: The largest flow file read (the shipped flows are a few kilobytes).
MAX_FLOW_BYTES = 1024 * 1024


def _read_capped(path: str | os.PathLike[str], name: str) -> bytes:
    """The bytes of a regular file of at most MAX_FLOW_BYTES; FlowError otherwise."""
    if stat.S_ISDIR(os.stat(path).st_mode):
        raise FlowError([FlowProblem(name, 1, "this is a folder, not a flow file")])
    # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            message = (
                "this is not a regular file (a device, a pipe or a socket); a flow is a "
                "YAML text file"
            )
            raise FlowError([FlowProblem(name, 1, message)])
        data = file.read(MAX_FLOW_BYTES + 1)
    if len(data) > MAX_FLOW_BYTES:
        message = (
            f"the file is larger than {MAX_FLOW_BYTES // 1024} KB; a flow file is a few "
            "kilobytes: check you chose the right file"
        )
        raise FlowError([FlowProblem(name, 1, message)])
    return data


def read_flow_text(path: str | os.PathLike[str]) -> str:
    """A flow file's text, or FlowError saying plainly why it cannot be read as UTF-8 text."""
    name = str(path)
    try:
        data = _read_capped(path, name)
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
