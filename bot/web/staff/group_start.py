"""Start a flow now for a whole group, from the web (staff): as `groundswell start --group`.

The first page counts who will be messaged (opted in, not forgotten, with an address) and
how many of them are inside their quiet hours (their check-in waits until the hours end);
only the confirming form starts anything. Audited.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.checkins.starting import StartRequest, start_checkins
from bot.schedule.time_zones import held_until
from bot.web.context import context
from bot.web.staff import audit
from bot.web.staff.access import require_staff
from bot.web.staff.flow_files import all_files
from bot.web.staff.pages import page, redirect_with
from storage.database import transaction
from storage.models import ChannelAddress, Group, Participant
from survey_flows.model import Flow

blueprint = Blueprint("group_start", __name__, url_prefix="/start")


def startable_flows() -> list[Flow]:
    """The flows staff can start: every flow file that loads."""
    return [e.flow for e in all_files(context().library) if e.flow is not None]


def reachable(session: Session, group_id: int) -> list[Participant]:
    """The group's people a check-in can reach: opted in, not forgotten, with an address."""
    return list(
        session.scalars(
            select(Participant)
            .where(
                Participant.group_id == group_id,
                Participant.opted_out.is_(False),
                Participant.forgotten_at.is_(None),
                Participant.id.in_(select(ChannelAddress.participant_id)),
            )
            .order_by(Participant.id)
        )
    )


def audience(session: Session, group_id: int | None, now: datetime) -> tuple[int, int]:
    """How many of the group's people a start would message, and how many of them are in
    their quiet hours now (their check-in waits until the hours end)."""
    if group_id is None:
        return 0, 0
    settings = context().settings
    people = reachable(session, group_id)
    return len(people), sum(1 for p in people if held_until(p, now, settings) > now)


@blueprint.get("/")
def confirm() -> str:
    """Choose a flow and a group; then see how many will be messaged, before confirming."""
    require_staff()
    ctx = context()
    flows = startable_flows()
    flow = next((f for f in flows if f.id == request.args.get("flow")), None)
    raw = request.args.get("group", "")
    with transaction(ctx.sessions, readonly=True) as session:
        groups = list(session.scalars(select(Group).order_by(Group.name)))
        group = session.get(Group, int(raw)) if raw.isdigit() else None
        if raw and group is None:
            abort(404)
        count, waiting = audience(session, group.id if group else None, ctx.clock())
    return page(
        "start/confirm.html",
        flows=flows,
        groups=groups,
        flow=flow,
        group=group,
        count=count,
        waiting=waiting,
    )


@blueprint.post("/")
def start() -> Response:
    """Start the flow for everyone reachable in the group (quiet hours respected)."""
    require_staff()
    ctx = context()
    flow = next((f for f in startable_flows() if f.id == request.form.get("flow")), None)
    raw = request.form.get("group", "")
    if flow is None or not raw.isdigit():
        abort(404)

    def work(session: Session, now: datetime) -> int:
        group = session.get(Group, int(raw))
        if group is None:
            abort(404)
        people = reachable(session, group.id)
        started = start_checkins(
            session,
            [StartRequest(p.id, flow) for p in people],
            now,
            ctx.settings,
            hold_for_quiet_hours=True,
        )
        audit.record(
            session, now, "started flow for group", f"{flow.id} for {group.name}: {len(started)}"
        )
        return len(started)

    ctx.write(work)
    return redirect_with("staff.group_start.confirm", "group-started", flow=flow.id, group=raw)
