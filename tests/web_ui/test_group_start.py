"""Staff start a flow now for a whole group from the web: a count first, then the start."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import Checkin
from tests.web_ui.conftest import COORDINATOR, STAFF, World, post_form, sign_in


def test_staff_see_the_count_then_start_the_group(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    assert "Start now for a group" in client.get("/flows/weekly-wellbeing.yaml").get_data(
        as_text=True
    )
    url = f"/start/?flow=weekly-wellbeing&group={world.elm}"
    page = client.get(url).get_data(as_text=True)
    assert "<strong>1 person</strong> will be messaged" in page
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Checkin)).all() == []  # counting starts nothing
    done = post_form(client, url, "/start/", {"flow": "weekly-wellbeing", "group": str(world.elm)})
    assert done.status_code == 303
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Checkin.participant_id)).all() == [world.elm_person]


def test_coordinators_cannot_start_a_group(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    assert client.get(f"/start/?flow=weekly-wellbeing&group={world.elm}").status_code == 403
