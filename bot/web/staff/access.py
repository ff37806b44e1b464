"""Who may see what, in one place every page uses.

Staff see everything. Coordinators see participants, conversations, alerts and reports of
their own groups only (people in no group are staff-only), and cannot use staff tools
(flows, enrolling, importing, the simulator, health). Anything out of a coordinator's
reach answers 404, exactly as if it did not exist, so ids in URLs reveal nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort, g
from sqlalchemy import ColumnElement, Select, false, select, true
from sqlalchemy.orm import Session

from bot.web.staff.web_sessions import Viewer
from storage.models import Alert, Group, Participant

S = TypeVar("S", bound=Select[Any])


def viewer() -> Viewer:
    """The signed-in user of this request (pages run only after sign-in is checked)."""
    current: Viewer | None = g.get("viewer")
    if current is None:
        abort(401)
    return current


def require_staff() -> Viewer:
    """The viewer, if staff; 403 for coordinators (the page says whom to ask)."""
    who = viewer()
    if not who.is_staff:
        abort(403)
    return who


def group_filter(who: Viewer, column: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting `column` (a group id) to the groups `who` may see."""
    if who.is_staff:
        return true()
    if not who.group_ids:
        return false()
    allowed: ColumnElement[bool] = column.in_(sorted(who.group_ids))
    return allowed


def may_see_group(who: Viewer, group_id: int | None) -> bool:
    """Whether `who` may see things of this group (None: people in no group)."""
    return who.is_staff or (group_id is not None and group_id in who.group_ids)


def visible_groups(session: Session, who: Viewer) -> list[Group]:
    """The groups `who` may choose from, by name."""
    return list(
        session.scalars(select(Group).where(group_filter(who, Group.id)).order_by(Group.name))
    )


def group_or_404(session: Session, who: Viewer, group_id: int) -> Group:
    """The group, if `who` may see it; 404 otherwise."""
    group = session.get(Group, group_id)
    if group is None or not may_see_group(who, group.id):
        abort(404)
    return group


def participant_or_404(session: Session, who: Viewer, participant_id: int) -> Participant:
    """The participant, if `who` may see them; 404 otherwise (also for forgotten people
    who were never in a visible group)."""
    person = session.get(Participant, participant_id)
    if person is None or not may_see_group(who, person.group_id):
        abort(404)
    return person


def alert_or_404(session: Session, who: Viewer, alert_id: int) -> Alert:
    """The alert, if `who` may see its group; 404 otherwise."""
    alert = session.get(Alert, alert_id)
    if alert is None or not may_see_group(who, alert.group_id):
        abort(404)
    return alert
