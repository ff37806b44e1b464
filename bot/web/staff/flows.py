"""Flows: every stored flow with its diagram, schedule in words and versions (who saved
each, when); staff edit a flow (or write a new one) and it is stored only once it checks.

Every save is audited with the versions before and after. Problems are shown with their
line numbers, and the text stays in the editor, so nothing typed is lost.
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.web.context import context
from bot.web.staff import audit, flow_files
from bot.web.staff.access import require_staff, viewer
from bot.web.staff.pages import page, redirect_with
from storage import flow_versions
from storage.database import transaction
from storage.flow_versions import FlowStore
from storage.models import Checkin, FlowSave, FlowVersion
from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.problems import FlowProblem
from survey_flows.expressions import BARE_NAME_WARNING, bare_name_lines
from survey_flows.graph import mermaid
from survey_flows.model import pick_text
from survey_flows.schedules import describe_schedule

blueprint = Blueprint("flows", __name__, url_prefix="/flows")

NEW_FLOW_TEMPLATE = """\
flow: street-survey
title: Street survey
language: en
schedule:
  every: week
  on: monday
  at: "18:00"
  expires: 48h
  reminders: [24h]
intro: "Hi {{ participant.name }}, a quick question about your street. Reply STOP to stop."
steps:
  - id: safe
    ask: "How safe do you feel on your street? Reply 0 (not at all) to 10 (completely)."
    type: scale
    min: 0
    max: 10
    measure: feeling_safe
outro: "Thank you!"
measures:
  feeling_safe: {label: "Feeling safe", higher_is_better: true}
"""


@blueprint.before_request
def _staff_only() -> None:
    require_staff()


@blueprint.get("/")
def index() -> str:
    """Every flow file with its status and schedule."""
    library = context().library
    return page(
        "flows/index.html",
        files=flow_files.all_files(library),
        folder=None if isinstance(library, FlowStore) else library.folder,
        describe_schedule=describe_schedule,
    )


def _versions(session: Session, flow_id: str) -> list[dict[str, object]]:
    used = dict(
        session.execute(
            select(Checkin.flow_version, func.count())
            .where(Checkin.flow_id == flow_id)
            .group_by(Checkin.flow_version)
        ).all()
    )
    saves: dict[str, FlowSave] = {}
    for saved in flow_versions.history(session, flow_id):  # newest first: keep the latest
        saves.setdefault(saved.version, saved)
    return [
        {
            "version": version,
            "first_seen_at": seen,
            "checkins": used.get(version, 0),
            "saved_by": saves[version].saved_by if version in saves else None,
            "saved_at": saves[version].saved_at if version in saves else None,
        }
        for version, seen in session.execute(
            select(FlowVersion.version, FlowVersion.first_seen_at)
            .where(FlowVersion.flow_id == flow_id)
            .order_by(FlowVersion.first_seen_at.desc())
        )
    ]


@blueprint.get("/<name>")
def show(name: str) -> str:
    """One file: problems or diagram, schedule in words, steps, versions, source."""
    ctx = context()
    entry = flow_files.read(ctx.library, name)
    if entry is None:
        abort(404)
    versions: list[dict[str, object]] = []
    if entry.flow is not None:
        with transaction(ctx.sessions, readonly=True) as session:
            versions = _versions(session, entry.flow.id)
    source = flow_files.source(ctx.library, name)
    return page(
        "flows/show.html",
        entry=entry,
        flow=entry.flow,
        diagram=mermaid(entry.flow) if entry.flow else None,
        schedule=describe_schedule(entry.flow.schedule)
        if entry.flow and entry.flow.schedule
        else None,
        versions=versions,
        source=source,
        name_lines=bare_name_lines(source),
        name_warning=BARE_NAME_WARNING,
        pick_text=pick_text,
    )


@blueprint.get("/<name>/versions/<version>")
def version(name: str, version: str) -> str:
    """The exact text of an earlier version, as check-ins that ran on it saw it."""
    ctx = context()
    entry = flow_files.read(ctx.library, name)
    if entry is None or len(version) > 64:
        abort(404)
    with transaction(ctx.sessions, readonly=True) as session:
        row = session.get(FlowVersion, version)
    # Only this flow's own versions: a version of another flow (or of a file that never
    # was a flow here) is not found under this name.
    if row is None or entry.flow is None or row.flow_id != entry.flow.id:
        abort(404)
    return page("flows/version.html", name=name, row=row)


@blueprint.get("/<name>/edit")
def edit(name: str) -> str:
    """The editor, holding the file's current text."""
    library = context().library
    if not flow_files.exists(library, name):
        abort(404)
    text = flow_files.source(library, name)
    return page(
        "flows/edit.html",
        name=name,
        text=text,
        base=flow_files.fingerprint(text),
        problems=[],
        is_new=False,
    )


@blueprint.post("/<name>/edit")
def save(name: str) -> Response | tuple[str, int]:
    """Check the text; save it only if it has no problems (and nobody saved meanwhile)."""
    ctx = context()
    library = ctx.library
    if not flow_files.exists(library, name):
        abort(404)
    text = flow_files.normalise(request.form.get("source", ""))
    base = request.form.get("base", "")
    current = flow_files.source(library, name)
    flow, problems = flow_files.check(library, name, text)
    if base != flow_files.fingerprint(current):
        problems = [_saved_meanwhile(name), *problems]
    before, _ = check_flow_text(current, name)
    if not problems and flow is not None:
        try:
            flow_files.save(library, name, text, viewer().email, before.version if before else None)
        except flow_files.SavedMeanwhile:
            problems = [_saved_meanwhile(name)]
    if problems or flow is None:
        return (
            page(
                "flows/edit.html", name=name, text=text, base=base, problems=problems, is_new=False
            ),
            422,
        )
    audit.write(
        "edited flow",
        f"{name}: version {before.version[:12] if before else 'invalid'} -> {flow.version[:12]}",
    )
    return redirect_with("staff.flows.show", "flow-saved", name=name)


def _saved_meanwhile(name: str) -> FlowProblem:
    return FlowProblem(
        name,
        1,
        "someone else saved this flow after you opened it; nothing was saved. Copy "
        "your changes, reload the editor, and make them again on the newer text",
    )


@blueprint.get("/new")
def new() -> str:
    """An editor for a new flow file, started from a small working example."""
    return page(
        "flows/edit.html", name="", text=NEW_FLOW_TEMPLATE, base="", problems=[], is_new=True
    )


@blueprint.post("/new")
def create() -> Response | tuple[str, int]:
    """Check the name and text; create the file only if both are right."""
    ctx = context()
    library = ctx.library
    name = request.form.get("name", "").strip().lower()
    if name and "." not in name:
        name += ".yaml"
    text = flow_files.normalise(request.form.get("source", ""))
    if isinstance(library, FlowStore):  # stored flows are named by their id
        parsed, _ = check_flow_text(text, name or "new.yaml")
        if parsed is not None and flow_files.valid_name(f"{parsed.id}.yaml"):
            name = f"{parsed.id}.yaml"
    name_problem = None
    if not flow_files.valid_name(name):
        name_problem = f"the file name {name!r} will not do: {flow_files.NAME_HELP}"
    elif flow_files.exists(library, name):
        name_problem = f"there is already a flow called {name}; choose another id or edit it"
    flow, problems = flow_files.check(library, name or "new.yaml", text)
    if name_problem or problems or flow is None:
        return (
            page(
                "flows/edit.html",
                name=name,
                text=text,
                base="",
                problems=problems,
                name_problem=name_problem,
                is_new=True,
            ),
            422,
        )
    try:
        flow_files.save(library, name, text, viewer().email, None)
    except flow_files.SavedMeanwhile:
        abort(409)
    audit.write("created flow", f"{name}: version {flow.version[:12]}")
    return redirect_with("staff.flows.show", "flow-created", name=name)
