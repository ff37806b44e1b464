"""Group pages: the Groups list, one group's members, coordinators and flows, and starting
a flow for the whole group from there (a count first; coordinators see their own groups
only and cannot start)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import AuditEntry, Checkin, OutboxItem
from tests.web_ui.conftest import COORDINATOR, STAFF, World, post_form, sign_in


def test_staff_open_a_group_from_the_nav_and_start_a_flow_for_it(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    listing = client.get("/groups/").get_data(as_text=True)
    assert f'href="/groups/{world.elm}"' in listing and "Riverside" in listing
    assert 'href="/groups/"' in listing  # the nav link
    page = client.get(f"/groups/{world.elm}").get_data(as_text=True)
    assert "1 person" in page and "coord@example.org" in page
    assert "Weekly wellbeing check-in" in page and "(new members start here)" in page
    assert "<strong>1 person</strong> will be messaged" in page
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Checkin)).all() == []  # the page starts nothing
    confirm = f"/start/?group={world.elm}&flow=weekly-wellbeing"
    assert "<strong>1 person</strong> will be messaged" in client.get(confirm).get_data(
        as_text=True
    )
    done = post_form(
        client, confirm, "/start/", {"flow": "weekly-wellbeing", "group": str(world.elm)}
    )
    assert done.status_code == 303
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Checkin.participant_id)).all() == [world.elm_person]
        assert {o.address for o in session.scalars(select(OutboxItem))} == {"+447700900123"}
        assert session.scalars(
            select(AuditEntry.subject).where(AuditEntry.action == "started flow for group")
        ).all() == ["weekly-wellbeing for Elm Street: 1"]
    page = client.get(f"/groups/{world.elm}").get_data(as_text=True)
    assert "Check-ins so far" in page


def test_the_participant_page_links_to_the_group(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    page = client.get(f"/participants/{world.elm_person}").get_data(as_text=True)
    assert f'href="/groups/{world.elm}"' in page


def test_coordinators_see_their_own_group_without_a_start_and_no_other(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, COORDINATOR)
    listing = client.get("/groups/").get_data(as_text=True)
    assert "Elm Street" in listing and "Riverside" not in listing
    own = client.get(f"/groups/{world.elm}")
    assert own.status_code == 200
    text = own.get_data(as_text=True)
    assert "will be messaged" not in text and "/start/" not in text
    assert client.get(f"/groups/{world.riverside}").status_code == 404
    assert client.get("/groups/99999").status_code == 404
