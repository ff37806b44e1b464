"""Flows kept in the database: every version's checked text (content-addressed), which
version of each flow is current (`flows`), and every save with who made it and when
(`flow_saves`). `FlowStore` is what every process resolves flows through.

Why the database: web, worker and clock processes may run on several machines, and a
flow edited in one web process must be what every other process runs next. A check-in
keeps the version it started with (`Checkin.flow_version`, loaded with `load`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.database import dialect_insert, transaction
from storage.models import FlowSave, FlowVersion, StoredFlow
from survey_flows.checks.flow import FLOW_ID
from survey_flows.checks.folder import FlowLibrary, default_flows_folder
from survey_flows.checks.loading import parse_flow
from survey_flows.checks.problems import FlowError, FlowProblem, UnknownFlow
from survey_flows.model import Flow

log = logging.getLogger(__name__)


def remember(session: Session, flow: Flow) -> None:
    """Store this version's source once (concurrent writers are fine)."""
    session.execute(
        dialect_insert(session)(FlowVersion)
        .values(version=flow.version, flow_id=flow.id, source_text=flow.source_text)
        .on_conflict_do_nothing(index_elements=[FlowVersion.version])
    )


_LOADED: dict[str, Flow] = {}


def load(session: Session, version: str) -> Flow:
    """The flow exactly as it was at `version`.

    Versions are content hashes, so a version once loaded never changes: each process
    reads and parses it once, and every later message skips the database for it.
    """
    known = _LOADED.get(version)
    if known is not None:
        return known
    source, path = session.execute(
        select(FlowVersion.source_text, FlowVersion.flow_id).where(FlowVersion.version == version)
    ).one()
    flow = parse_flow(source, f"{path}@{version[:12]}", stored=True)
    if flow.version != version:
        raise ValueError(f"stored flow {path} does not match its version {version[:12]}")
    _LOADED[version] = flow
    return flow


class UnknownStoredFlow(UnknownFlow):
    """No stored flow has this id: says which are stored and how to store a new one."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(name, "the database", available)
        listed = ", ".join(available) or "none yet"
        self.message = (
            f"there is no flow '{name}' (stored flows: {listed}); give one of those ids, "
            "or store the flow first with `groundswell flows import FILE`"
        )
        self.problems[0] = FlowProblem(name, 1, self.message)


class StaleSave(Exception):
    """Someone saved the flow after the editor was opened: this save would undo theirs."""


@dataclass(frozen=True)
class Saved:
    """What one save did: the flow, the version it replaced (None: a new flow), and whether
    anything changed (saving the current text again changes nothing)."""

    flow: Flow
    before: str | None
    changed: bool


def save(
    session: Session,
    flow: Flow,
    saved_by: str,
    how: str,
    *,
    replacing: str | None = None,
    check_replacing: bool = False,
    now: datetime | None = None,
) -> Saved:
    """Make `flow` (already checked) the current version of its id, recording the save.

    Takes the flow's row lock, so saves from several machines queue. With
    `check_replacing`, refuses (`StaleSave`) unless the current version is `replacing`.
    """
    now = now or datetime.now(UTC)
    remember(session, flow)
    inserted = session.execute(
        dialect_insert(session)(StoredFlow)
        .values(flow_id=flow.id, version=flow.version, saved_at=now, saved_by=saved_by)
        .on_conflict_do_nothing(index_elements=[StoredFlow.flow_id])
        .returning(StoredFlow.flow_id)
    ).first()
    before = None
    if inserted is None:  # stored already: queue behind any other save of it
        before = session.scalar(
            select(StoredFlow.version).where(StoredFlow.flow_id == flow.id).with_for_update()
        )
    if check_replacing and before != replacing:
        raise StaleSave(flow.id)
    if before == flow.version:
        return Saved(flow, before, changed=False)
    if inserted is None:
        session.execute(
            update(StoredFlow)
            .where(StoredFlow.flow_id == flow.id)
            .values(version=flow.version, saved_at=now, saved_by=saved_by)
        )
    session.add(
        FlowSave(flow_id=flow.id, version=flow.version, saved_at=now, saved_by=saved_by, how=how)
    )
    session.flush()
    return Saved(flow, before, changed=True)


def current_versions(session: Session) -> dict[str, str]:
    """Every stored flow id with its current version."""
    return dict(session.execute(select(StoredFlow.flow_id, StoredFlow.version)).all())


def history(session: Session, flow_id: str) -> list[FlowSave]:
    """Every save of `flow_id`, newest first."""
    return list(
        session.scalars(
            select(FlowSave).where(FlowSave.flow_id == flow_id).order_by(FlowSave.id.desc())
        )
    )


def _store_first_versions(session: Session, flows: list[Flow], saved_by: str) -> list[str]:
    """Store each flow whose id is not stored yet (another process may race us: the
    `flows` primary key lets exactly one win). Returns the ids stored."""
    stored = []
    for flow in flows:
        remember(session, flow)
        inserted = session.execute(
            dialect_insert(session)(StoredFlow)
            .values(flow_id=flow.id, version=flow.version, saved_by=saved_by)
            .on_conflict_do_nothing(index_elements=[StoredFlow.flow_id])
            .returning(StoredFlow.flow_id)
        ).first()
        if inserted is not None:
            session.add(
                FlowSave(flow_id=flow.id, version=flow.version, saved_by=saved_by, how="folder")
            )
            stored.append(flow.id)
    return stored


class FlowStore:
    """The flows every process runs: the current stored version of each flow id.

    When a process makes its store, the flows folder (`GROUNDSWELL_FLOWS`, else the shipped
    flows) is imported for every flow id not stored yet, so a new deployment (and `make
    run`) starts with flows; a stored flow is never replaced from the folder (use
    `groundswell flows import`). Each resolve asks the database for the current version
    (one primary-key read) so an edit saved anywhere is what runs next; parsed versions
    are cached by their content hash.
    """

    def __init__(
        self, sessions: sessionmaker[Session], folder: str | os.PathLike[str] | None = None
    ) -> None:
        self.sessions = sessions
        self.folder = Path(folder) if folder is not None else default_flows_folder()
        # At once, never lazily: a first resolve may come inside a write transaction, and
        # on SQLite a second writer there would wait for a lock its own thread holds.
        self.seed()

    def seed(self) -> list[FlowProblem]:
        """Import the folder's valid flows whose ids are not stored yet; returns the
        problems of files that could not be imported (they are logged, not fatal)."""
        library = FlowLibrary(self.folder)
        problems = [] if not self.folder.is_dir() else library.check_all()
        broken = {p.path for p in problems}
        flows = []
        for path in library.files():
            if str(path) in broken:
                continue
            flows.append(library.checked(path))
        with transaction(self.sessions, readonly=True) as session:
            known = set(current_versions(session))
        missing = [flow for flow in flows if flow.id not in known]
        if missing:
            with transaction(self.sessions) as session:
                stored = _store_first_versions(session, missing, f"folder {self.folder}")
            if stored:
                log.info("flows stored from %s: %s", self.folder, ", ".join(stored))
        for problem in problems:
            log.warning("flow file not imported: %s", problem)
        return problems

    def resolve(self, name: str | os.PathLike[str], session: Session | None = None) -> Flow:
        """The current version of flow `name` (a flow id; `<id>.yaml` is taken as the id):
        the one place a flow name from a web form, a URL, a group or a command becomes a
        flow. Never a path. Raises `UnknownFlow` naming the stored flows when there is no
        such flow, `FlowError` for a name that is not an id."""
        flow_id = str(name).removesuffix(".yaml").removesuffix(".yml")
        if not FLOW_ID.fullmatch(flow_id):  # an id only: never a path, from any form
            shown = flow_id if len(flow_id) <= 80 else flow_id[:80] + "..."
            raise FlowError(
                [
                    FlowProblem(
                        shown,
                        1,
                        f"{shown!r} is not a flow id: ids are lower-case letters, digits and "
                        "dashes, e.g. weekly-wellbeing",
                    )
                ]
            )
        if session is None:
            with transaction(self.sessions, readonly=True) as own:
                return self._resolve(own, flow_id)
        return self._resolve(session, flow_id)

    def _resolve(self, session: Session, flow_id: str) -> Flow:
        version = session.scalar(select(StoredFlow.version).where(StoredFlow.flow_id == flow_id))
        if version is None:
            raise UnknownStoredFlow(flow_id, sorted(current_versions(session)))
        return load(session, version)

    def ids(self) -> list[str]:
        """Every stored flow id, in order."""
        with transaction(self.sessions, readonly=True) as session:
            return sorted(current_versions(session))

    def latest(self) -> dict[str, Flow]:
        """Every stored flow's current version, by id (in id order)."""
        with transaction(self.sessions, readonly=True) as session:
            current = current_versions(session)
            return {flow_id: load(session, current[flow_id]) for flow_id in sorted(current)}

    def all(self) -> list[Flow]:
        """Every stored flow's current version, by id."""
        return list(self.latest().values())

    def check_all(self) -> list[FlowProblem]:
        """Stored flows were checked when saved: no problems to report."""
        return []


#: Where flows are resolved from: the database (`FlowStore`, every running process) or a
#: folder of files (`FlowLibrary`: `flows check`, `chat`, tests of one flow file).
Flows = FlowLibrary | FlowStore
