"""Alerts a coordinator can act on: the question and the answer's label, the contact
revealed (and audited) to a coordinator of the group only, handled with a note."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import Alert, AuditEntry, ChannelAddress
from tests.web_ui.conftest import COORDINATOR, World, post_form, sign_in


def _address_id(sessions: sessionmaker[Session], participant_id: int) -> int:
    with transaction(sessions, readonly=True) as session:
        return session.scalars(
            select(ChannelAddress.id).where(ChannelAddress.participant_id == participant_id)
        ).one()


def test_the_card_shows_the_question_as_residents_saw_it(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    page = client.get("/alerts/").get_data(as_text=True)
    assert "weekly-wellbeing, callback" not in page
    assert "call" in page.split('class="alert-question">')[1].split("</dd>")[0].lower()
    assert "SMS number ending 123" in page and "+447700900123" not in page


def test_a_coordinator_reveals_their_residents_contact_and_it_is_logged(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    address = _address_id(sessions, world.elm_person)
    shown = post_form(
        client, "/alerts/", f"/alerts/{world.elm_alert}/reveal", {"address": str(address)}
    )
    assert shown.status_code == 200
    assert "+447700900123" in shown.get_data(as_text=True)
    with transaction(sessions, readonly=True) as session:
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "revealed contact")
        ).all()
        assert entry.actor == COORDINATOR and f"alert {world.elm_alert}" in (entry.subject or "")


def test_another_groups_coordinator_gets_404_for_reveal(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    river_address = _address_id(sessions, world.river_person)
    response = post_form(
        client, "/alerts/", f"/alerts/{world.river_alert}/reveal", {"address": str(river_address)}
    )
    assert response.status_code == 404
    assert "+447700900456" not in response.get_data(as_text=True)
    # nor by pairing their own alert with the other group's address
    mixed = post_form(
        client, "/alerts/", f"/alerts/{world.elm_alert}/reveal", {"address": str(river_address)}
    )
    assert mixed.status_code == 404


def test_handled_with_a_note_shows_who_handled_it(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    post_form(client, "/alerts/", f"/alerts/{world.elm_alert}/handle", {"note": "Called back"})
    page = client.get("/alerts/?show=handled").get_data(as_text=True)
    assert f"Handled by {COORDINATOR}" in page and "Called back" in page
    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Alert, world.elm_alert).handled_by == COORDINATOR
