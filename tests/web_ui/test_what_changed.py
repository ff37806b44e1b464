"""Reports open with "What changed": plain sentences led by the verdict, no statistics
jargon; the page opens on the flow answered most recently; HTML and text downloads too."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from tests.web_ui.conftest import COORDINATOR, STAFF, Clock, World, sign_in

JARGON = ("d_z", "Wilcoxon", "p <", "p=", "CI", "d<sub>z</sub>")
VERDICT_LEADS = ("Better:", "Worse:", "No clear change:", "Not enough data yet:", "Not shown:")
SURE = ("very sure", "sure", "fairly sure", "not sure")


def _section(html: str) -> str:
    found = re.search(r'id="what-changed".*?</ul>', html, re.S)
    assert found, "no What changed section"
    return found.group(0)


@pytest.fixture
def demo(world: World, sessions: sessionmaker[Session], app: Flask, clock: Clock) -> None:
    from bot.demo.seeding import make_demo

    make_demo(
        sessions, app.extensions["groundswell"].library, clock(), people=150, weeks=4, force=True
    )


def test_the_report_page_opens_on_what_changed_without_jargon(
    client: FlaskClient, demo: None
) -> None:
    sign_in(client, STAFF)
    page = client.get("/reports/").get_data(as_text=True)  # no flow chosen: the latest one
    assert "change summary" in page
    section = _section(page)
    sentences = re.findall(r"<li>(.*?)</li>", section, re.S)
    assert sentences
    for sentence in sentences:
        assert sentence.startswith(VERDICT_LEADS), sentence
        assert not any(word in sentence for word in JARGON), sentence
    assert any(word in section for word in SURE)
    # The demo's one real change, in one place, leads the section.
    assert sentences[0].startswith("Better: Life satisfaction in Riverside rose by")
    assert page.index('id="what-changed"') < page.index("Wilcoxon")
    assert "What the words below mean" in page


def test_downloads_start_with_what_changed(client: FlaskClient, demo: None) -> None:
    sign_in(client, STAFF)
    html = client.get("/reports/download?flow=weekly-wellbeing&group=all&format=html").get_data(
        as_text=True
    )
    section = _section(html)
    assert not any(word in section for word in JARGON)
    assert html.index("What changed") < html.index("Who answered")
    assert not re.search(r"Made on \d{4}-\d{2}-\d{2}T", html)  # no raw timestamp


def test_a_coordinator_opens_on_their_own_group(client: FlaskClient, demo: None) -> None:
    sign_in(client, COORDINATOR)
    page = client.get("/reports/").get_data(as_text=True)
    assert 'id="what-changed"' in page and "Riverside" not in page


def test_questions_without_a_measure_get_their_answers_counted(
    client: FlaskClient, demo: None
) -> None:
    sign_in(client, STAFF)
    data = client.get("/reports/download?flow=weekly-wellbeing&group=all&format=json").get_json()
    callback = data["questions"]["callback"]
    assert callback["question"].startswith("Thank you for telling us.")
    assert [a["label"] for a in callback["answers"]] == ["Yes", "No"]
    for answer in callback["answers"]:  # published counts are rounded to 5, or hidden
        assert answer["people"] is None or answer["people"] % 5 == 0
    assert "life_satisfaction" not in data["questions"]  # it has a measure
    page = client.get("/reports/?flow=weekly-wellbeing&group=all").get_data(as_text=True)
    assert "Answers to each question" in page and "True" not in page
