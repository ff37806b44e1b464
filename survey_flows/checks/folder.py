"""`FlowLibrary`, the flows folder: find a flow by id, list the flows, and check them
all at once (including two files claiming the same flow id); and `default_flows_folder`.

Every incoming message resolves its flow here, so each file's check result is cached and the
file re-read only when its modification time or size changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from survey_flows.checks.file_text import read_flow_text
from survey_flows.checks.flow import FLOW_ID, check_flow
from survey_flows.checks.loading import load_flow
from survey_flows.checks.problems import FlowError, FlowProblem, UnknownFlow
from survey_flows.model import Flow


@dataclass(frozen=True)
class _Entry:
    """One file's check result, valid while the file's modification time and size hold."""

    stamp: tuple[int, int]
    flow: Flow | None
    problems: tuple[FlowProblem, ...]
    flow_id: str | None
    flow_line: int


def default_flows_folder() -> Path:
    """`GROUNDSWELL_FLOWS` if set, else the flows shipped inside the package."""
    configured = os.environ.get("GROUNDSWELL_FLOWS")
    return Path(configured) if configured else Path(__file__).parents[1] / "library"


class FlowLibrary:
    """The flows folder: find flows by id or path, list them, and check them all at once.

    Each file is parsed once and re-read only when its modification time or size changes,
    so resolving a flow on every incoming message stays cheap.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_flows_folder()
        self._cache: dict[Path, _Entry] = {}

    def files(self) -> list[Path]:
        """The flow files in the folder (`*.yaml` and `*.yml`), in name order."""
        if not self.folder.is_dir():
            return []
        found = [p for p in self.folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()]
        return sorted(found)

    def _entry(self, path: Path) -> _Entry:
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = (-1, -1)
        cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        try:
            text = read_flow_text(path)
        except FlowError as error:
            entry = _Entry(stamp, None, tuple(error.problems), None, 1)
        else:
            result = check_flow(text, str(path))
            entry = _Entry(
                stamp, result.flow, tuple(result.problems), result.flow_id, result.flow_line
            )
        self._cache[path] = entry
        return entry

    def _by_id(self) -> dict[str, list[tuple[Path, _Entry]]]:
        found: dict[str, list[tuple[Path, _Entry]]] = {}
        for path in self.files():
            entry = self._entry(path)
            if entry.flow_id:
                found.setdefault(entry.flow_id, []).append((path, entry))
        return found

    def ids(self) -> list[str]:
        """The flow ids in the folder, broken files included when their `flow:` can be read."""
        return sorted(self._by_id())

    def resolve(self, flow_id: str) -> Flow:
        """The flow with this id: the one place a flow name from a web form, a URL, a group
        or a command becomes a flow. Only ids (`[a-z0-9-]+`) are accepted, never a path,
        so nothing outside the flow store can be reached; FlowError otherwise."""
        name = str(flow_id)
        if not FLOW_ID.fullmatch(name):
            shown = name if len(name) <= 80 else name[:80] + "..."
            message = (
                f"{shown!r} is not a flow id: ids are lower-case letters, digits and dashes, "
                "e.g. weekly-wellbeing (see them with groundswell flows check)"
            )
            raise FlowError([FlowProblem(shown, 1, message)])
        matches = self._by_id().get(name, [])
        if len(matches) > 1:
            raise FlowError(self._duplicates(name, matches))
        if not matches:
            raise UnknownFlow(name, str(self.folder), self.ids())
        entry = matches[0][1]
        if entry.flow is None:
            raise FlowError(entry.problems)
        return entry.flow

    def checked(self, path: Path) -> Flow:
        """The flow in `path`, one of `files()` (FlowError for its problems, or for any
        path that is not a file of this folder)."""
        if path not in self.files():
            raise FlowError([FlowProblem(str(path), 1, "this is not a file of the flows folder")])
        entry = self._entry(path)
        if entry.flow is None:
            raise FlowError(entry.problems)
        return entry.flow

    def all(self) -> list[Flow]:
        """Every flow in the folder, by id; FlowError listing every problem if any file has one."""
        problems = self.check_all()
        if problems:
            raise FlowError(problems)
        flows = [self._entry(path).flow for path in self.files()]
        return sorted((flow for flow in flows if flow is not None), key=lambda flow: flow.id)

    def check_all(self) -> list[FlowProblem]:
        """Every problem in every file of the folder, and flow ids used by more than one file."""
        if not self.folder.is_dir():
            return [FlowProblem(str(self.folder), 1, "the flows folder does not exist")]
        problems = [problem for path in self.files() for problem in self._entry(path).problems]
        for flow_id, matches in self._by_id().items():
            if len(matches) > 1:
                problems.extend(self._duplicates(flow_id, matches))
        return problems

    @staticmethod
    def _duplicates(flow_id: str, matches: list[tuple[Path, _Entry]]) -> list[FlowProblem]:
        names = [path.name for path, _ in matches]
        return [
            FlowProblem(
                str(path),
                entry.flow_line,
                f"flow id '{flow_id}' is also used by "
                f"{', '.join(n for n in names if n != path.name)}; each flow needs its own id",
            )
            for path, entry in matches
        ]


def flow_for_author(library: FlowLibrary, name: str) -> Flow:
    """For a flow author at the terminal (`chat`, `flows graph`): a flow id from the
    library, or a .yaml file they name (read as `flows check` reads it: a regular file,
    size-capped). Never used for names from the web app or the database."""
    if name.endswith((".yaml", ".yml")) or "/" in name or os.sep in name:
        return load_flow(name)
    return library.resolve(name)
