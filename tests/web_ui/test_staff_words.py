"""Staff pages show the questions and labels residents saw, never stored values: a
person's timeline, the conversation transcript and the simulator's, and numbers with
their units in the right number ("1 minute", not "1 minutes")."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import Answer
from tests.survey_flows.test_multiple_choice import FLOW
from tests.web_ui.conftest import (
    STAFF,
    Clock,
    World,
    post_form,
    sign_in,
    simulator_reply,
)


def _text(html: str) -> str:
    """The page as a reader sees it: tags removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _tester(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions, readonly=True) as session:
        pid = session.scalar(select(Answer.participant_id).limit(1))
    assert pid is not None
    return pid


def test_a_timeline_and_transcripts_read_in_residents_words(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "weekly-wellbeing"})
    for answer in ("3", "6", "7", "9"):
        simulator_reply(client, text=answer)
    simulator_reply(client, text="yes")  # the call-back question: stored as True, alerts
    panel = simulator_reply(client, button="hardly_ever")  # the loneliness buttons
    assert "Pressed: Hardly ever" in panel and "[button]" not in panel
    simulator_reply(client, text="SKIP")
    person = _tester(sessions)

    timeline = _text(client.get(f"/participants/{person}").get_data(as_text=True))
    assert "Weekly wellbeing check-in" in timeline and ": completed" in timeline
    assert "Would you like someone from the project to call you?" in timeline
    assert "How often do you feel lonely? Hardly ever" in timeline
    assert "Alert on “Thank you for telling us." in timeline
    for raw in ("True", "hardly_ever", " callback ", " life_satisfaction ", "3.0"):
        assert raw not in timeline, raw
    assert " skipped " in timeline  # the optional story

    transcript = client.get(f"/conversations/{person}").get_data(as_text=True)
    assert "Pressed: Hardly ever" in transcript
    assert "[button]" not in transcript and "hardly_ever" not in transcript


def test_a_multiple_choice_reads_as_its_labels_in_one_row(
    client: FlaskClient, world: World, flows_folder: Path, sessions: sessionmaker[Session]
) -> None:
    (flows_folder / "helped.yaml").write_text(FLOW, encoding="utf-8")
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "helped"})
    simulator_reply(client, button="bins")  # a tick: no answer yet, still read as its label
    simulator_reply(client, button="traffic")
    panel = simulator_reply(client, button="#done")
    assert "Pressed: Bins and litter" in panel and "Pressed: Done" in panel
    timeline = _text(client.get(f"/participants/{_tester(sessions)}").get_data(as_text=True))
    assert "What helped this month? Less traffic, Bins and litter" in timeline
    assert "traffic, bins" not in timeline and " bins " not in timeline


def test_health_says_1_minute_not_1_minutes(
    client: FlaskClient, world: World, clock: Clock
) -> None:
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "weekly-wellbeing"})
    clock.advance(timedelta(seconds=90))
    page = _text(client.get("/health/").get_data(as_text=True))
    assert "The oldest queued message has waited 1 minute." in page
    clock.advance(timedelta(minutes=2))
    page = _text(client.get("/health/").get_data(as_text=True))
    assert "has waited 3 minutes." in page


def test_a_flows_page_warns_about_a_bare_name_as_flows_check_does(
    client: FlaskClient, world: World, flows_folder: Path
) -> None:
    (flows_folder / "hello.yaml").write_text(
        'flow: hello\ntitle: Hello\nintro: "Hi {{ participant.name }}, two questions."\n'
        'steps:\n  - id: mood\n    ask: "How are you, 0 to 10?"\n    type: scale\n'
        "    min: 0\n    max: 10\n",
        encoding="utf-8",
    )
    sign_in(client, STAFF)
    page = _text(client.get("/flows/hello.yaml").get_data(as_text=True))
    assert "No problems" in page  # a warning, never a failure
    assert "Line 3: {{ participant.name }} is empty for people with no name" in page
    shipped = _text(client.get("/flows/weekly-wellbeing.yaml").get_data(as_text=True))
    assert "is empty for people with no name" not in shipped
