"""The Team page (staff) and the Account page: one coordinator made on the web, their
groups and contact changed, a one-time password link, the last staff account kept."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.web.staff.accounts import authenticate
from storage.database import transaction
from storage.models import AuditEntry, User
from tests.web_ui.conftest import COORDINATOR, STAFF, World, csrf_token, post_form, sign_in


def _user(sessions: sessionmaker[Session], email: str) -> User:
    with transaction(sessions, readonly=True) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        _ = [g.name for g in user.groups]
        return user


def test_staff_add_a_coordinator_who_sets_a_password_by_the_link(
    client: FlaskClient, app: object, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    added = post_form(
        client,
        "/team/",
        "/team/add",
        {"email": "new@example.org", "name": "Nia", "role": "coordinator",
         "group": str(world.riverside), "phone": "07700 900777", "summary_day": "friday",
         "summary_at": "17:30", "timezone": ""},
    )  # fmt: skip
    page = added.get_data(as_text=True)
    assert added.status_code == 200, page
    link = re.search(r"/password/[A-Za-z0-9_-]+", page)
    assert link
    nia = _user(sessions, "new@example.org")
    assert (nia.channel, nia.address, nia.summary_weekday) == ("sms", "+447700900777", 4)
    assert [g.name for g in nia.groups] == ["Riverside"]
    with FlaskClient(app) as stranger:  # type: ignore[arg-type]
        form = stranger.get(link.group(0))
        assert form.status_code == 200 and "new@example.org" in form.get_data(as_text=True)
        data = {"password": "a new long password", "again": "a new long password"}
        done = stranger.post(link.group(0), data={**data, "csrf_token": csrf_token(form)})
        assert done.status_code == 303, done.get_data(as_text=True)[-3000:]
        assert stranger.get(link.group(0)).status_code == 404  # once only
    with transaction(sessions, readonly=True) as session:
        assert authenticate(session, "new@example.org", "a new long password") is not None


def test_staff_change_a_coordinators_groups_and_contact(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    coordinator = _user(sessions, COORDINATOR)
    changed = post_form(
        client,
        "/team/",
        f"/team/{coordinator.id}",
        {"group": str(world.riverside), "telegram": "5551", "summary_day": "monday",
         "summary_at": "08:00", "timezone": "Europe/London"},
    )  # fmt: skip
    assert changed.status_code == 303
    after = _user(sessions, COORDINATOR)
    assert (after.channel, after.address, after.timezone) == ("telegram", "5551", "Europe/London")
    assert [g.name for g in after.groups] == ["Riverside"]
    with transaction(sessions, readonly=True) as session:  # an access change is audited
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "changed coordinator groups")
        ).one()
    assert entry.actor == STAFF and entry.subject.endswith("Elm Street -> Riverside")


def test_staff_give_a_coordinator_whatsapp_and_the_team_page_says_so(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    coordinator = _user(sessions, COORDINATOR)
    form = {"group": str(world.riverside), "summary_day": "monday", "summary_at": "08:00",
            "timezone": ""}  # fmt: skip
    both = post_form(
        client,
        "/team/",
        f"/team/{coordinator.id}",
        {**form, "phone": "07911 123456", "whatsapp": "07911 123456"},
    )
    assert both.status_code == 400
    assert "give only one of a phone number, a WhatsApp number" in both.get_data(as_text=True)
    bad = post_form(client, "/team/", f"/team/{coordinator.id}", {**form, "whatsapp": "0791"})
    assert bad.status_code == 400
    assert "whatsapp &#39;0791&#39; is not a valid GB phone number" in bad.get_data(as_text=True)
    changed = post_form(
        client, "/team/", f"/team/{coordinator.id}", {**form, "whatsapp": "+44 7911 123456"}
    )
    assert changed.status_code == 303
    after = _user(sessions, COORDINATOR)
    assert (after.channel, after.address) == ("whatsapp", "+447911123456")
    team = client.get("/team/").get_data(as_text=True)
    assert "WhatsApp; summary Mondays at 08:00" in team
    assert 'name="whatsapp" value="+447911123456"' in team  # the edit form shows it back


def test_the_last_staff_account_cannot_be_removed(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    staff = _user(sessions, STAFF)
    refused = post_form(client, "/team/", f"/team/{staff.id}/remove", {})
    assert refused.status_code == 400
    assert "last staff account" in refused.get_data(as_text=True)
    coordinator = _user(sessions, COORDINATOR)
    assert post_form(client, "/team/", f"/team/{coordinator.id}/remove", {}).status_code == 303
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(User.email)).all() == [STAFF]


def test_coordinators_cannot_open_the_team_page_but_set_their_own_contact(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    assert client.get("/team/").status_code == 403
    staff = _user(sessions, STAFF)
    assert post_form(client, "/account/", f"/team/{staff.id}/remove", {}).status_code == 403
    saved = post_form(
        client,
        "/account/",
        "/account/",
        {"phone": "", "telegram": "777", "summary_day": "sunday", "summary_at": "19:00",
         "timezone": ""},
    )  # fmt: skip
    assert saved.status_code == 303
    me = _user(sessions, COORDINATOR)
    assert (me.channel, me.address, me.summary_weekday, me.summary_time) == (
        "telegram",
        "777",
        6,
        "19:00",
    )
    wrong = post_form(client, "/account/", "/account/", {"summary_at": "7pm", "telegram": "7"})
    assert wrong.status_code == 400 and "HH:MM" in wrong.get_data(as_text=True)
    whatsapp = post_form(
        client,
        "/account/",
        "/account/",
        {"whatsapp": "07911 123457", "summary_day": "sunday", "summary_at": "19:00"},
    )
    assert whatsapp.status_code == 303
    me = _user(sessions, COORDINATOR)
    assert (me.channel, me.address) == ("whatsapp", "+447911123457")
    account = client.get("/account/").get_data(as_text=True)
    assert '<label for="me-whatsapp">WhatsApp number</label>' in account
    assert 'value="+447911123457"' in account
