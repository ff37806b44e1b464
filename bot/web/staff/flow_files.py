"""The flows folder as the web app sees it: each file's check status, and safe saving.

A save is checked first, exactly as `groundswell flows check` would check the file, plus
the folder-wide rule that two files never share a flow id; only a text with no problems
is written, atomically (a temporary file renamed over the old one), so the clock and the
webhooks never read half a file. A save also refuses to overwrite changes someone else
saved after the editor was opened.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.folder import FlowLibrary
from survey_flows.checks.problems import FlowError, FlowProblem
from survey_flows.model import Flow

FILE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,80}\.ya?ml")
NAME_HELP = "use lower-case letters, digits and dashes, ending in .yaml, e.g. street-survey.yaml"


@dataclass(frozen=True)
class FlowFile:
    """One file of the folder: its flow when it is valid, else every problem found."""

    name: str
    flow: Flow | None
    problems: tuple[FlowProblem, ...]

    @property
    def ok(self) -> bool:
        return self.flow is not None and not self.problems


def fingerprint(text: str) -> str:
    """A short hash of a text, to notice that a file changed while it was being edited."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def normalise(text: str) -> str:
    """Text as a file should hold it: Unix line ends (browsers send \\r\\n), a final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def valid_name(name: str) -> bool:
    """Whether `name` is a plain flow file name (no folders, no dots but the suffix)."""
    return bool(FILE_NAME.fullmatch(name))


def path_of(library: FlowLibrary, name: str) -> Path | None:
    """The file called `name` in the folder, or None (also for any unsafe name)."""
    if not valid_name(name):
        return None
    for path in library.files():
        if path.name == name:
            return path
    return None


def read(library: FlowLibrary, name: str) -> FlowFile | None:
    """The file's check result (folder-wide duplicate ids included), None if no such file."""
    path = path_of(library, name)
    if path is None:
        return None
    try:
        flow = library.checked(path)
        problems: tuple[FlowProblem, ...] = ()
    except FlowError as error:
        flow, problems = None, tuple(error.problems)
    duplicates = tuple(p for p in library.check_all() if Path(p.path).name == name)
    extra = tuple(p for p in duplicates if p not in problems)
    return FlowFile(name, flow if not extra else None, problems + extra)


def all_files(library: FlowLibrary) -> list[FlowFile]:
    """Every file in the folder, in name order."""
    found = [read(library, path.name) for path in library.files()]
    return [entry for entry in found if entry is not None]


def source(library: FlowLibrary, name: str) -> str:
    """The file's text as it is on disk now (undecodable bytes shown as replacement marks)."""
    path = path_of(library, name)
    if path is None:
        raise FileNotFoundError(name)
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def check(library: FlowLibrary, name: str, text: str) -> tuple[Flow | None, list[FlowProblem]]:
    """Check `text` as the file `name` would be checked, without writing anything."""
    flow, problems = check_flow_text(text, name)
    if flow is not None:
        for other in all_files(library):
            if other.name != name and other.flow is not None and other.flow.id == flow.id:
                problems = [
                    FlowProblem(
                        name,
                        1,
                        f"flow id '{flow.id}' is already used by {other.name}; "
                        "each flow needs its own id: change the `flow:` line",
                    )
                ]
                flow = None
                break
    return flow, problems


def save(library: FlowLibrary, name: str, text: str) -> None:
    """Write `text` to the file `name` in the folder, atomically."""
    if not valid_name(name):
        raise ValueError(f"not a flow file name: {name!r}")
    folder = library.folder
    handle, temporary = tempfile.mkstemp(prefix=".saving-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
