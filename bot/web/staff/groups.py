"""The Groups pages: every group the viewer may see, and one group's page with its
members, coordinators and flows; staff start a flow now for the whole group from there.

Starting goes through the flow start's own pages (`group_start`): the group page shows
how many will be messaged and how many wait for quiet hours, the confirm page says it
again, and only its POST starts anything (audited, quiet hours respected). Coordinators
see their own groups' pages without the start form; another group's page answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.web.context import context
from bot.web.staff.access import group_or_404, viewer, visible_groups
from bot.web.staff.flow_files import all_files
from bot.web.staff.group_start import audience, startable_flows
from bot.web.staff.pages import page
from storage.database import transaction
from storage.models import Alert, Checkin, Enrolment, Group, Participant, User, UserGroup

blueprint = Blueprint("groups", __name__, url_prefix="/groups")


@dataclass(frozen=True)
class Members:
    """How many people a group has, by what can be sent to them."""

    total: int  # not forgotten, staff tests left out
    opted_out: int
    tests: int  # staff tests in the group (the Simulator's resident, people marked as tests)


@dataclass(frozen=True)
class GroupFlow:
    """A flow the group uses: people enrolled, check-ins run, the latest start."""

    flow_id: str
    title: str
    file: str | None  # its file on the Flows page, if it is still there
    enrolled: int
    checkins: int
    default: bool


def _members(session: Session, group_id: int) -> Members:
    rows = session.execute(
        select(Participant.is_test, Participant.opted_out, func.count())
        .where(Participant.group_id == group_id, Participant.forgotten_at.is_(None))
        .group_by(Participant.is_test, Participant.opted_out)
    ).all()
    real = [(opted_out, n) for is_test, opted_out, n in rows if not is_test]
    return Members(
        total=sum(n for _, n in real),
        opted_out=sum(n for opted_out, n in real if opted_out),
        tests=sum(n for is_test, _, n in rows if is_test),
    )


def _coordinators(session: Session, group_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserGroup, UserGroup.user_id == User.id)
            .where(UserGroup.group_id == group_id, User.role == "coordinator")
            .order_by(User.name, User.email)
        )
    )


def _flows(session: Session, group: Group) -> list[GroupFlow]:
    """The group's default flow and every flow its people are enrolled in or have run."""
    files = {e.flow.id: (e.flow.title, e.name) for e in all_files(context().library) if e.flow}
    enrolled = dict(
        session.execute(
            select(Enrolment.flow_id, func.count())
            .join(Participant, Participant.id == Enrolment.participant_id)
            .where(Participant.group_id == group.id, Enrolment.active.is_(True))
            .group_by(Enrolment.flow_id)
        ).all()
    )
    runs = dict(
        session.execute(
            select(Checkin.flow_id, func.count())
            .join(Participant, Participant.id == Checkin.participant_id)
            .where(Participant.group_id == group.id)
            .group_by(Checkin.flow_id)
        ).all()
    )
    ids = sorted({*enrolled, *runs, *([group.default_flow] if group.default_flow else [])})
    return [
        GroupFlow(
            flow_id,
            files.get(flow_id, (flow_id, None))[0],
            files.get(flow_id, (flow_id, None))[1],
            enrolled.get(flow_id, 0),
            runs.get(flow_id, 0),
            flow_id == group.default_flow,
        )
        for flow_id in ids
    ]


def using(session: Session, flow_id: str) -> list[Group]:
    """The groups that use a flow: it is their default, or some of their people are
    enrolled in it (for the flow's page to link to)."""
    enrolled = (
        select(Participant.group_id)
        .join(Enrolment, Enrolment.participant_id == Participant.id)
        .where(Enrolment.flow_id == flow_id, Enrolment.active.is_(True))
    )
    return list(
        session.scalars(
            select(Group)
            .where((Group.default_flow == flow_id) | Group.id.in_(enrolled))
            .order_by(Group.name)
        )
    )


@blueprint.get("/")
def index() -> str:
    """The groups the viewer may see, with their members and open alerts."""
    who = viewer()
    with transaction(context().sessions, readonly=True) as session:
        groups = visible_groups(session, who)
        rows = [
            (
                group,
                _members(session, group.id),
                session.scalar(
                    select(func.count())
                    .select_from(Alert)
                    .where(Alert.group_id == group.id, Alert.handled_at.is_(None))
                )
                or 0,
            )
            for group in groups
        ]
    return page("groups/index.html", rows=rows)


@blueprint.get("/<int:group_id>")
def show(group_id: int) -> str:
    """One group: members, coordinators, flows; for staff, start a flow for all of it."""
    who = viewer()
    ctx = context()
    now = ctx.clock()
    with transaction(ctx.sessions, readonly=True) as session:
        group = group_or_404(session, who, group_id)
        members = _members(session, group.id)
        coordinators = _coordinators(session, group.id)
        flows = _flows(session, group)
        count, waiting = audience(session, group.id if who.is_staff else None, now)
    return page(
        "groups/show.html",
        group=group,
        members=members,
        coordinators=coordinators,
        flows=flows,
        startable=startable_flows(),
        count=count,
        waiting=waiting,
    )
