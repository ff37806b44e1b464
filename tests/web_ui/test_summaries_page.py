"""The Summaries page: this week's summary of the viewer's groups as it would be sent, the
period stated, the ones already sent; another group's summary answers 404."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.outbox import Recipient, enqueue_text
from storage.database import transaction
from tests.web_ui.conftest import COORDINATOR, NOON, STAFF, World, sign_in


def test_a_coordinator_reads_their_groups_summary_both_ways(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, COORDINATOR)
    page = client.get("/summaries/").get_data(as_text=True)
    assert 'href="/summaries/"' in page  # in the navigation
    assert (
        "Groundswell weekly summary, Elm Street, over the last 12 weeks, to Sunday 2 March" in page
    )
    assert "By SMS" in page and "By Telegram" in page
    assert "Riverside" not in page


def test_another_groups_summary_answers_404(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    assert client.get(f"/summaries/?group={world.riverside}").status_code == 404
    assert client.get("/summaries/?group=x").status_code == 404
    assert client.get(f"/summaries/?group={world.elm}").status_code == 200


def test_staff_see_every_group_and_what_was_sent(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        enqueue_text(
            session,
            Recipient("sms", "+447700900999"),
            "Groundswell weekly summary, Riverside, over the last 12 weeks, to Sunday 2 March.",
            now=NOON,
        )
    sign_in(client, STAFF)
    page = client.get("/summaries/").get_data(as_text=True)
    assert "Elm Street" in page and "Riverside" in page
    assert "to Sunday 2 March" in page and "No summary of Elm Street has been sent yet" in page
