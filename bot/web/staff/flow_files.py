"""The flows as the web app sees them, each named `<flow id>.yaml`: check status, text,
and safe saving.

In a running deployment the flows live in the database (`FlowStore`): a save stores a new
version (who saved it, when) and never writes a file; every process runs it next. With a
folder (`FlowLibrary`, tests of one folder) a save writes the file atomically (a temporary
file renamed over the old one). Either way a save is checked first, exactly as `groundswell
flows check` would check the file, plus the rule that two flows never share an id, and it
refuses to overwrite changes someone else saved after the editor was opened.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from storage import flow_versions
from storage.database import transaction
from storage.flow_versions import Flows, FlowStore
from survey_flows.checks.flow import check_flow_text
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


class SavedMeanwhile(Exception):
    """Someone else saved the flow after the editor was opened; nothing was saved."""


def _stored_id(library: FlowStore, name: str) -> str | None:
    """The stored flow id `name` (`<id>.yaml`) stands for, or None."""
    if not valid_name(name):
        return None
    flow_id = name.rsplit(".", 1)[0]
    return flow_id if flow_id in library.ids() else None


def exists(library: Flows, name: str) -> bool:
    """Whether there is a flow called `name` (`<id>.yaml` when stored)."""
    if isinstance(library, FlowStore):
        return _stored_id(library, name) is not None
    return path_of(library, name) is not None


def path_of(library: Flows, name: str) -> Path | None:
    """The file called `name` in the folder, or None (also for any unsafe name, and
    always when the flows are stored in the database)."""
    if not valid_name(name) or isinstance(library, FlowStore):
        return None
    for path in library.files():
        if path.name == name:
            return path
    return None


def read(library: Flows, name: str) -> FlowFile | None:
    """The file's check result (folder-wide duplicate ids included), None if no such file."""
    if isinstance(library, FlowStore):
        flow_id = _stored_id(library, name)
        return None if flow_id is None else FlowFile(name, library.resolve(flow_id), ())
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


def all_files(library: Flows) -> list[FlowFile]:
    """Every flow (file in the folder, or stored flow), in name order."""
    if isinstance(library, FlowStore):
        return [FlowFile(f"{i}.yaml", flow, ()) for i, flow in library.latest().items()]
    found = [read(library, path.name) for path in library.files()]
    return [entry for entry in found if entry is not None]


def source(library: Flows, name: str) -> str:
    """The flow's text as it is now (stored, or on disk: undecodable bytes shown as
    replacement marks)."""
    if isinstance(library, FlowStore):
        flow_id = _stored_id(library, name)
        if flow_id is None:
            raise FileNotFoundError(name)
        return library.resolve(flow_id).source_text
    path = path_of(library, name)
    if path is None:
        raise FileNotFoundError(name)
    return path.read_bytes().decode("utf-8-sig", errors="replace")


def check(library: Flows, name: str, text: str) -> tuple[Flow | None, list[FlowProblem]]:
    """Check `text` as the file `name` would be checked, without writing anything."""
    flow, problems = check_flow_text(text, name)
    if flow is not None and isinstance(library, FlowStore):
        if valid_name(name) and exists(library, name) and name.rsplit(".", 1)[0] != flow.id:
            kept = name.rsplit(".", 1)[0]
            return None, [
                FlowProblem(
                    name,
                    1,
                    f"this is the flow '{kept}': keep the line `flow: {kept}` (to make another "
                    "flow, use Write a new flow)",
                )
            ]
        return flow, problems
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


def save(library: Flows, name: str, text: str, saved_by: str, replacing: str | None) -> None:
    """Store `text` (already checked) as the flow's new version, or write the file `name`
    atomically; `SavedMeanwhile` when the flow's current text is no longer the one of
    version `replacing` (None: a new flow)."""
    if not valid_name(name):
        raise ValueError(f"not a flow file name: {name!r}")
    if isinstance(library, FlowStore):
        flow, problems = check_flow_text(text, name)
        if flow is None or problems:
            raise ValueError(f"{name} does not pass its check")
        try:
            with transaction(library.sessions) as session:
                flow_versions.save(
                    session, flow, saved_by, "web", replacing=replacing, check_replacing=True
                )
        except flow_versions.StaleSave:
            raise SavedMeanwhile(name) from None
        return
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
