"""The Team page (staff) and the Account page (everyone): who signs in and who hears.

Staff add people, change a coordinator's groups, contact and summary time, remove people
(never the last staff account) and make a one-time link for someone to set their password
(shown to staff, who pass it on). Everyone sets their own contact and summary time on the
Account page. All changes go through `accounts` and `bot.people.coordinators`, as the
command line's do, and are audited.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, g, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.people.coordinators import (
    SIMULATED,
    ContactError,
    contact,
    set_contact,
    set_groups,
    summary_time,
)
from bot.web.context import context
from bot.web.staff import accounts, audit, password_links, web_sessions
from bot.web.staff.access import require_staff, viewer
from bot.web.staff.cookies import cookie
from bot.web.staff.pages import page, redirect_with
from storage.database import transaction
from storage.models import Group, User
from survey_flows.schedules import WEEKDAYS

blueprint = Blueprint("team", __name__)


def _form_contact(user: User | None) -> tuple[Any, Any]:
    """The contact and summary time in the posted form (ContactError if wrong)."""
    reach = contact(
        request.form.get("phone"),
        request.form.get("telegram"),
        context().settings.default_region,
        request.form.get("whatsapp"),
    )
    when = summary_time(
        request.form.get("summary_day"),
        request.form.get("summary_at"),
        request.form.get("timezone"),
    )
    return reach, when


def _people(session: Session) -> list[User]:
    """The team, without the coordinators the Simulator plays (staff tests, not people)."""
    return list(
        session.scalars(
            select(User)
            .where(User.channel.is_distinct_from(SIMULATED))
            .order_by(User.role.desc(), User.email, User.name)
        )
    )


def _team_page(problem: str | None = None, link: tuple[str, str] | None = None) -> str:
    with transaction(context().sessions, readonly=True) as session:
        people = _people(session)
        for person in people:
            _ = [g.name for g in person.groups]  # loaded for the template
        groups = list(session.scalars(select(Group).order_by(Group.name)))
    return page(
        "team/index.html",
        people=people,
        groups=groups,
        weekdays=WEEKDAYS,
        problem=problem,
        link=link,
        form=request.form,
    )


@blueprint.get("/team/")
def index() -> str:
    """Everyone on the team, and a form to add someone."""
    require_staff()
    return _team_page()


@blueprint.post("/team/add")
def add() -> str | Response | tuple[str, int]:
    """Add a person; a link to set their password is shown when they can sign in."""
    require_staff()
    role = request.form.get("role", "coordinator")
    email = request.form.get("email", "").strip()
    chosen = [int(v) for v in request.form.getlist("group") if v.isdigit()]

    def work(session: Session, now: datetime) -> tuple[str, str] | None:
        groups = list(session.scalars(select(Group).where(Group.id.in_(chosen))))
        reach, when = _form_contact(None)
        if role == "staff":
            reach, when = None, None
        name = request.form.get("name", "").strip() or None
        if email:
            made = accounts.add_user(
                session,
                email,
                role,
                secrets.token_urlsafe(24),  # unusable until they set theirs by the link
                [g.name for g in groups],
                now=now,
                actor=viewer().email,
                reach=reach,
                when=when if reach else None,
                name=name,
            )
            user = session.get_one(User, made.id)
            return user.email or "", password_links.make(user, now)
        if role != "coordinator" or reach is None or not groups:
            raise ContactError(
                "someone without an email cannot sign in: give a coordinator's groups and a "
                "phone number, WhatsApp number or Telegram chat id, or give an email"
            )
        user = User(role="coordinator", name=name, created_at=now)
        session.add(user)
        set_contact(session, user, reach, when, now=now, actor=viewer().email)
        session.flush()
        set_groups(session, user, groups)
        return None

    try:
        made = context().write(work)
    except (ContactError, accounts.AccountError) as error:
        return _team_page(problem=str(error)), 400
    if made is None:
        return redirect_with("staff.team.index", "team-changed")
    return _team_page(link=(made[0], url_for("staff.team.set_password", token=made[1])))


def _person_or_404(session: Session, user_id: int) -> User:
    person = session.get(User, user_id)
    if person is None:
        abort(404)
    return person


@blueprint.post("/team/<int:user_id>")
def change(user_id: int) -> str | Response | tuple[str, int]:
    """Change a coordinator's groups, contact and summary time."""
    require_staff()
    chosen = [int(v) for v in request.form.getlist("group") if v.isdigit()]

    def work(session: Session, now: datetime) -> None:
        person = _person_or_404(session, user_id)
        if person.role != "coordinator":
            raise ContactError("staff see every group and get no alerts: nothing to change")
        reach, when = _form_contact(person)
        groups = list(session.scalars(select(Group).where(Group.id.in_(chosen))))
        if not groups:
            raise ContactError("a coordinator needs at least one group")
        set_contact(session, person, reach, when, now=now, actor=viewer().email)
        before = sorted(g.name for g in person.groups)
        set_groups(session, person, groups)
        after = sorted(g.name for g in groups)
        if before != after:  # what a coordinator may see changed: an access change
            audit.record(
                session,
                now,
                "changed coordinator groups",
                f"{person.shown_name}: {', '.join(before) or 'none'} -> {', '.join(after)}",
            )

    try:
        context().write(work)
    except ContactError as error:
        return _team_page(problem=str(error)), 400
    return redirect_with("staff.team.index", "team-changed")


@blueprint.post("/team/<int:user_id>/remove")
def remove(user_id: int) -> str | Response | tuple[str, int]:
    """Remove a person (not the last staff account)."""
    require_staff()

    def work(session: Session, now: datetime) -> None:
        accounts.delete_user(
            session, _person_or_404(session, user_id), now=now, actor=viewer().email
        )

    try:
        context().write(work)
    except accounts.AccountError as error:
        return _team_page(problem=str(error)), 400
    return redirect_with("staff.team.index", "team-removed")


@blueprint.post("/team/<int:user_id>/password-link")
def password_link(user_id: int) -> str:
    """A one-time link for this person to set a new password, shown to staff."""
    require_staff()

    def work(session: Session, now: datetime) -> tuple[str, str]:
        person = _person_or_404(session, user_id)
        if person.email is None:
            raise ContactError(f"{person.shown_name} has no email, so cannot sign in")
        if person.password_hash is None:
            person.password_hash = accounts.hash_password(secrets.token_urlsafe(24))
            session.flush()
        audit.record(session, now, "made password link", person.email)
        return person.email, password_links.make(person, now)

    try:
        email, token = context().write(work)
    except ContactError as error:
        return _team_page(problem=str(error))
    return _team_page(link=(email, url_for("staff.team.set_password", token=token)))


def _password_page(token: str, problem: str | None = None, status: int = 200) -> tuple[str, int]:
    """The set-password form; its CSRF token is the sign-in form's cookie (`auth`)."""
    ctx = context()
    sent = request.cookies.get(cookie(web_sessions.SIGN_IN_COOKIE), "")
    form_token = sent if 32 <= len(sent) <= 64 else secrets.token_urlsafe(32)
    g.set_sign_in_cookie = form_token
    g.csrf_override = form_token
    with transaction(ctx.sessions, readonly=True) as session:
        user = password_links.user_of(session, token, ctx.clock())
        email = user.email if user else None
    return page("team/password.html", email=email, problem=problem, token=token), (
        status if email else 404
    )


@blueprint.get("/password/<token>")
def set_password(token: str) -> tuple[str, int]:
    """Open a one-time link: choose a password (no sign-in needed)."""
    return _password_page(token)


@blueprint.post("/password/<token>")
def set_password_post(token: str) -> tuple[str, int] | Response:
    """Set the password the link allows; the link stops working."""
    new, again = request.form.get("password", ""), request.form.get("again", "")
    if new != again:
        return _password_page(token, "The two passwords differ; type the same one twice.", 400)

    def work(session: Session, now: datetime) -> bool:
        user = password_links.user_of(session, token, now)
        if user is None or user.email is None:
            return False
        accounts.set_password(session, user.email, new, now=now, actor=user.email)
        return True

    try:
        done = context().write(work)
    except accounts.AccountError as error:
        return _password_page(token, str(error), 400)
    if not done:
        return _password_page(token)
    return redirect_with("staff.auth.sign_in", "password-set")


@blueprint.get("/account/")
def account() -> str:
    """The signed-in person's own contact and summary time."""
    who = viewer()
    with transaction(context().sessions, readonly=True) as session:
        me = session.get_one(User, who.user_id)
        groups = [g.name for g in me.groups]
    return page("team/account.html", me=me, groups=groups, weekdays=WEEKDAYS, problem=None)


@blueprint.post("/account/")
def account_post() -> str | Response | tuple[str, int]:
    """Save the signed-in coordinator's contact and summary time."""
    who = viewer()

    def work(session: Session, now: datetime) -> None:
        me = session.get_one(User, who.user_id)
        if me.role != "coordinator":
            raise ContactError("staff get no alerts or summaries: there is nothing to set")
        reach, when = _form_contact(me)
        set_contact(session, me, reach, when, now=now, actor=who.email)

    try:
        context().write(work)
    except ContactError as error:
        with transaction(context().sessions, readonly=True) as session:
            me = session.get_one(User, who.user_id)
            groups = [g.name for g in me.groups]
        return page(
            "team/account.html", me=me, groups=groups, weekdays=WEEKDAYS, problem=str(error)
        ), 400
    return redirect_with("staff.team.account", "account-saved")
