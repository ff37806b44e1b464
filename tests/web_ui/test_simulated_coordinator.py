"""The Simulator plays a coordinator: alerts and the weekly summary reach a second test
phone through the outbox, and a staff test never messages a real coordinator."""

from __future__ import annotations

from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.people.coordinators import Contact, set_contact
from storage.database import transaction
from storage.models import OutboxItem, User
from tests.web_ui.conftest import COORDINATOR, NOON, STAFF, World, csrf_token, post_form, sign_in


def _reply(client: FlaskClient, text: str) -> str:
    page = client.get("/simulator/")
    response = client.post(
        "/simulator/reply",
        data={"text": text, "csrf_token": csrf_token(page)},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _outbox(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with transaction(sessions, readonly=True) as session:
        return [
            (row.channel, row.address, row.body)
            for row in session.scalars(select(OutboxItem).order_by(OutboxItem.id))
        ]


def test_an_alert_and_the_summary_reach_the_simulated_coordinator_only(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:  # the real Elm Street coordinator has a phone
        real = session.scalars(select(User).where(User.email == COORDINATOR)).one()
        set_contact(session, real, Contact("sms", "+447700900999"), None, now=NOON, actor="t")
    sign_in(client, STAFF)
    page = client.get("/simulator/").get_data(as_text=True)
    assert "Play a coordinator of" in page and "Elm Street" in page
    played = post_form(client, "/simulator/", "/simulator/coordinator", {"group": str(world.elm)})
    assert played.status_code == 303
    page = client.get("/simulator/?notice=sim-coordinator").get_data(as_text=True)
    assert "a coordinator of Elm Street" in page
    post_form(client, "/simulator/", "/simulator/start", {"flow": "weekly-wellbeing"})
    for answer in ("3", "6", "7", "9"):
        _reply(client, answer)
    phones = _reply(client, "yes")  # a call back: the flow's alert
    [alert] = [o for o in _outbox(sessions) if o[1].startswith("coordinator-")]
    assert alert[0] == "sim" and "Elm Street" in alert[2]
    assert str(escape(alert[2])) in phones  # the fetch answer carries the coordinator's phone too
    assert not [o for o in _outbox(sessions) if o[1] == "+447700900999"]  # the real one: none

    sent = post_form(client, "/simulator/", "/simulator/coordinator/summary", {})
    assert sent.status_code == 303
    summaries = [o for o in _outbox(sessions) if o[1].startswith("coordinator-") and o != alert]
    [summary] = summaries
    assert summary[2].startswith("Groundswell weekly summary, Elm Street,")
    assert str(escape(summary[2])) in client.get("/simulator/").get_data(as_text=True)

    post_form(client, "/simulator/", "/simulator/coordinator/stop", {})
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(User).where(User.channel == "sim")).all() == []
    assert not [o for o in _outbox(sessions) if o[1].startswith("coordinator-")]
    assert "Play this coordinator" in client.get("/simulator/").get_data(as_text=True)


def test_a_real_residents_alert_reaches_the_simulated_coordinator_too(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    """Real answers in the group alert every coordinator of it, the played one included."""
    from bot.checkins.alerts import tell_coordinators
    from storage.checkin_rows import PersonRow
    from storage.models import Participant
    from survey_flows.checks.folder import FlowLibrary, default_flows_folder

    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/coordinator", {"group": str(world.elm)})
    flow = FlowLibrary(default_flows_folder()).resolve("weekly-wellbeing")
    with transaction(sessions) as session:
        person = PersonRow.of(session.get_one(Participant, world.elm_person))
        tell_coordinators(session, person, flow, "callback", NOON)
    assert [o[0] for o in _outbox(sessions) if o[1].startswith("coordinator-")] == ["sim"]


def test_coordinators_cannot_play_and_staff_cannot_play_an_unknown_group(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, STAFF)
    assert (
        post_form(client, "/simulator/", "/simulator/coordinator", {"group": "9999"}).status_code
        == 404
    )
    client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/simulator/"))})
    sign_in(client, COORDINATOR)
    token = csrf_token(client.get("/alerts/"))
    for action in ("/simulator/coordinator", "/simulator/coordinator/summary"):
        response = client.post(action, data={"group": str(world.elm), "csrf_token": token})
        assert response.status_code == 403
