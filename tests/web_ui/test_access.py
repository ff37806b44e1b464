"""Who may reach what: sign-in everywhere but the sign-in page and the webhooks, and a
coordinator never reaches another group's people, conversations, alerts or reports, even
by changing an id in the address."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.database import transaction
from storage.models import Alert
from tests.web_ui.conftest import COORDINATOR, STAFF, World, post_form, sign_in

OPEN_ENDPOINTS = {
    "static",
    "health.healthz",
    "staff.auth.sign_in",
    "staff.auth.sign_in_post",
    "staff.team.set_password",  # a one-time link: the token is the key (test_team_pages)
    "staff.team.set_password_post",
}
SAMPLE_VALUES = {
    "participant_id": 1,
    "alert_id": 1,
    "enrolment_id": 1,
    "name": "weekly-wellbeing.yaml",
    "version": "0" * 64,
    "user_id": 1,
    "group_id": 1,
    "token": "x",
}


def _guarded_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every route that must require sign-in."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in OPEN_ENDPOINTS or rule.endpoint.startswith("webhooks."):
                continue
            values = {arg: SAMPLE_VALUES[arg] for arg in rule.arguments}
            url = app.url_for(rule.endpoint, **values)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url))
    return found


def test_every_page_but_sign_in_and_webhooks_requires_sign_in(
    app: Flask, client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    rules = _guarded_rules(app)
    assert len(rules) > 25  # every page of the app, not an empty list by mistake
    for endpoint, method, url in rules:
        response = client.open(url, method=method, data={"note": "x", "flow": "welcome"})
        assert response.status_code == 303, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/sign-in"), endpoint
        assert "Riya" not in response.get_data(as_text=True)
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(Alert.handled_at)).all() == [None, None]


def test_the_sign_in_page_and_health_check_stay_open(client: FlaskClient) -> None:
    assert client.get("/sign-in").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_after_sign_in_the_page_asked_for_opens(client: FlaskClient, world: World) -> None:
    first = client.get("/alerts/?show=all")
    assert first.headers["Location"] == "/sign-in?next=/alerts/?show%3Dall"
    page = client.get(first.headers["Location"])
    assert 'name="next" value="/alerts/?show=all"' in page.get_data(as_text=True)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/sign-in",
        data={
            "email": STAFF,
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "/alerts/?show=all",
        },
    )
    assert response.headers["Location"] == "/alerts/?show=all"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(client: FlaskClient, world: World, target: str) -> None:
    page = client.get("/sign-in")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/sign-in",
        data={
            "email": STAFF,
            "password": "correct horse battery",
            "csrf_token": token,
            "next": target,
        },
    )
    assert response.headers["Location"] == "/"


def test_coordinator_sees_their_group_only(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    listing = client.get("/participants/").get_data(as_text=True)
    assert "Sam" in listing and "Riya" not in listing
    assert client.get(f"/participants/{world.elm_person}").status_code == 200
    assert client.get(f"/conversations/{world.elm_person}").status_code == 200
    alerts = client.get("/alerts/").get_data(as_text=True)
    assert f"/alerts/{world.elm_alert}/handle" in alerts
    assert f"/alerts/{world.river_alert}/handle" not in alerts
    assert "Riverside" not in alerts


@pytest.mark.parametrize(
    "path",
    [
        "/participants/{river_person}",
        "/conversations/{river_person}",
        "/reports/?flow=weekly-wellbeing&group={riverside}",
        "/reports/?flow=weekly-wellbeing&group=all",
        "/reports/download?flow=weekly-wellbeing&group={riverside}&format=csv",
        "/reports/download?flow=weekly-wellbeing&group=all&format=json",
        "/participants/?group={riverside}",
        "/groups/{riverside}",
        "/summaries/?group={riverside}",
    ],
)
def test_coordinator_cannot_reach_another_group_by_changing_the_address(
    client: FlaskClient, world: World, path: str
) -> None:
    sign_in(client, COORDINATOR)
    url = path.format(river_person=world.river_person, riverside=world.riverside)
    response = client.get(url)
    body = response.get_data(as_text=True)
    assert "Riya" not in body and "+447700900456" not in body
    if "/participants/?" in url:
        assert response.status_code == 200 and "0 participants" in body
    else:
        assert response.status_code == 404


def test_coordinator_cannot_handle_another_groups_alert(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    response = post_form(client, "/alerts/", f"/alerts/{world.river_alert}/handle", {"note": "x"})
    assert response.status_code == 404
    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Alert, world.river_alert).handled_at is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/flows/"),
        ("GET", "/flows/weekly-wellbeing.yaml/edit"),
        ("GET", "/simulator/"),
        ("GET", "/health/"),
        ("GET", "/participants/new"),
        ("GET", "/participants/import"),
        ("POST", "/participants/{elm_person}/start"),
        ("POST", "/simulator/start"),
        ("POST", "/simulator/coordinator"),
        ("POST", "/simulator/coordinator/summary"),
    ],
)
def test_staff_tools_are_closed_to_coordinators(
    client: FlaskClient, world: World, method: str, path: str
) -> None:
    sign_in(client, COORDINATOR)
    url = path.format(elm_person=world.elm_person)
    if method == "GET":
        response = client.get(url)
    else:
        response = post_form(client, "/alerts/", url, {"address": "1", "flow": "welcome"})
    assert response.status_code == 403
    assert "+447700900123" not in response.get_data(as_text=True)


def test_staff_see_every_group(client: FlaskClient, world: World) -> None:
    sign_in(client, STAFF)
    listing = client.get("/participants/").get_data(as_text=True)
    assert "Sam" in listing and "Riya" in listing
    assert client.get(f"/participants/{world.river_person}").status_code == 200
    assert client.get("/participants/999999").status_code == 404
