"""Reports: the change summary of a flow for a period and a group, with its charts and
method note, and downloads as CSV, JSON and HTML (the same files `groundswell report`
writes).

Coordinators choose among their own groups only; asking for any other group (or for all
groups) by changing the address answers 404, and nothing of that group is computed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, Response, abort, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.web.context import context
from bot.web.staff import audit
from bot.web.staff.access import group_filter, group_or_404, viewer, visible_groups
from bot.web.staff.flow_files import all_files
from bot.web.staff.pages import page
from storage.database import transaction
from storage.models import Answer, Group, Participant
from survey_flows.model import Flow

if TYPE_CHECKING:
    from reports.build import Report
    from reports.charts import Chart

blueprint = Blueprint("reports", __name__, url_prefix="/reports")

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class Choice:
    """What the report is for: a flow, a period and a group (None: all groups, staff only)."""

    flow: Flow | None
    since: date | None
    until: date | None
    group: Group | None
    problems: tuple[str, ...]
    follow_up: float | None = None


def _day(name: str, problems: list[str]) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(
            f"The {name} date {text!r} is not a date; use the date picker or YYYY-MM-DD."
        )
        return None


def _choice(session: Session, flows: list[Flow]) -> Choice:
    """Read and check the query string; 404 for a group the viewer may not see."""
    who = viewer()
    problems: list[str] = []
    wanted = request.args.get("flow", "")
    flow = next((f for f in flows if f.id == wanted), None)
    if "flow" not in request.args:
        flow = _latest_answered(session, flows)
    if wanted and flow is None:
        problems.append(f"There is no flow {wanted!r} that passes its check.")
    raw_group = request.args.get("group", "")
    group: Group | None = None
    if raw_group.isdigit():
        group = group_or_404(session, who, int(raw_group))
    elif raw_group not in ("", "all"):
        abort(404)
    elif not who.is_staff:
        if raw_group == "all":
            abort(404)
        mine = visible_groups(session, who)
        group = mine[0] if mine else None
    since, until = _day("since", problems), _day("until", problems)
    if since and until and until < since:
        problems.append("The period ends before it starts: choose an end date after the start.")
    weeks = _weeks(problems)
    return Choice(flow, since, until, group, tuple(problems), weeks)


def _latest_answered(session: Session, flows: list[Flow]) -> Flow | None:
    """The flow the viewer's groups answered most recently: the report to open on."""
    known = {f.id: f for f in flows}
    if not known:
        return None
    latest = session.execute(
        select(Answer.flow_id)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Answer.flow_id.in_(sorted(known)), group_filter(viewer(), Participant.group_id))
        .order_by(Answer.answered_at.desc(), Answer.id.desc())
        .limit(1)
    ).scalar()
    return known.get(latest) if latest else None


def _weeks(problems: list[str]) -> float | None:
    """The follow-up in weeks (empty: compare with the latest answer)."""
    text = request.args.get("follow_up", "").strip()
    if not text:
        return None
    try:
        weeks = float(text)
    except ValueError:
        weeks = -1.0
    if not 0 < weeks <= 520:
        problems.append(
            f"The follow-up {text!r} is not a number of weeks; write e.g. 12, or leave it "
            "empty to compare with each person's latest answer."
        )
        return None
    return weeks


def _build(choice: Choice) -> tuple[Report | None, str | None]:
    """The report, or why there is none."""
    from reports.build import UnknownGroupError, analyse  # numpy and scipy: load on use

    ctx = context()
    assert choice.flow is not None
    try:
        built = analyse(
            ctx.sessions,
            choice.flow,
            since=choice.since,
            until=choice.until,
            group=choice.group.name if choice.group else None,
            threshold=ctx.settings.suppression_threshold,
            key=ctx.settings.report_key,
            generated_at=ctx.clock(),
            follow_up_weeks=choice.follow_up,
        )
    except UnknownGroupError:
        return None, (
            f"Nobody in {choice.group.name if choice.group else 'this group'} is enrolled in "
            "this flow or has answered it yet."
        )
    except ValueError as error:
        return None, str(error)
    return built, None


def _charts(built: Report, flow: Flow | None) -> dict[str, list[dict[str, str]]]:
    from reports.charts import report_charts  # matplotlib: load on use

    out: dict[str, list[dict[str, str]]] = {}
    for chart in report_charts(built, flow):
        out.setdefault(chart.measure, []).append(_chart_entry(chart))
    return out


def _chart_entry(chart: Chart) -> dict[str, str]:
    uri = "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")
    return {"uri": uri, "alt": chart.alt, "title": chart.title}


def _flows() -> list[Flow]:
    return [e.flow for e in all_files(context().library) if e.flow is not None]


@blueprint.get("/")
def index() -> str:
    """The choice form, and the report once a flow is chosen."""
    who = viewer()
    flows = _flows()
    with transaction(context().sessions, readonly=True) as session:
        choice = _choice(session, flows)
        groups = visible_groups(session, who)
    from reports.formats import headline, wording

    built, problem = (None, None)
    if choice.flow is not None and not choice.problems and (who.is_staff or choice.group):
        built, problem = _build(choice)
    return page(
        "reports/index.html",
        flows=flows,
        groups=groups,
        choice=choice,
        report=built.data if built else None,
        charts=_charts(built, choice.flow) if built else {},
        problem=problem,
        w=wording,
        headline=headline,
        hidden=wording.hidden_phrase(context().settings.suppression_threshold),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"


@blueprint.get("/download")
def download() -> Response:
    """The report as a file to keep or share: CSV, JSON or HTML (with charts inside)."""
    who = viewer()
    fmt = request.args.get("format", "")
    if fmt not in FORMATS:
        abort(404)
    with transaction(context().sessions, readonly=True) as session:
        choice = _choice(session, _flows())
    if choice.flow is None or choice.problems or (not who.is_staff and choice.group is None):
        abort(404)
    built, _problem = _build(choice)
    if built is None:
        abort(404)
    if fmt == "csv":
        from reports.formats.csv import render as render_csv

        body = render_csv(built.data)
    elif fmt == "json":
        from reports.formats.json import render as render_json

        body = render_json(built.data)
    else:
        from reports.charts import report_charts
        from reports.formats.html import render as render_html

        body = render_html(built.data, report_charts(built, choice.flow))
    scope = _slug(choice.group.name) if choice.group else "all-groups"
    name = f"{choice.flow.id}-{scope}-{context().clock():%Y-%m-%d}.{fmt}"
    audit.write("downloaded report", name)
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    response.headers["Content-Type"] = FORMATS[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
