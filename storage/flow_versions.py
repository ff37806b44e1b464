"""Every flow version a check-in ran is kept by its content hash, so it can finish on it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database import dialect_insert
from storage.models import FlowVersion
from survey_flows.checks.loading import parse_flow
from survey_flows.model import Flow


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
