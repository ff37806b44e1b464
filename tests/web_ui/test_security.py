"""Sign-in security: CSRF on every form, a new session at sign-in, cookie flags, real
sign-out, rate-limited guessing, logged reveals, and resident or flow text shown as text."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from bot.web import create_app
from bot.web.staff import throttle
from bot.web.staff.web_sessions import COOKIE as BASE_COOKIE
from bot.web.staff.web_sessions import cookie_name
from storage.database import transaction
from storage.models import Alert, AuditEntry, WebSession
from survey_flows.checks.folder import FlowLibrary
from tests.web_ui.conftest import (
    PASSWORD,
    STAFF,
    Clock,
    World,
    add_message,
    csrf_token,
    post_form,
    sign_in,
)

COOKIE = cookie_name(BASE_COOKIE, secure=True)  # the fixtures' public URL is https
SCRIPT = "<script>alert('owned')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"


def _set_cookie(response: TestResponse, name: str = COOKIE) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert headers, "no session cookie set"
    return headers[-1]


def _cookie_value(header: str) -> str:
    return header.split(";")[0].split("=", 1)[1]


def test_forms_without_the_csrf_token_are_refused(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    url = f"/alerts/{world.elm_alert}/handle"
    assert client.post(url, data={"note": "no token"}).status_code == 400
    assert client.post(url, data={"note": "bad", "csrf_token": "forged"}).status_code == 400
    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Alert, world.elm_alert).handled_at is None
    assert post_form(client, "/alerts/", url, {"note": "ok"}).status_code == 303


def test_a_token_from_another_session_is_refused(app: Flask, world: World) -> None:
    with app.test_client() as other:
        sign_in(other, STAFF)
        foreign = csrf_token(other.get("/alerts/"))
    with app.test_client() as client:
        sign_in(client, STAFF)
        response = client.post(f"/alerts/{world.elm_alert}/handle", data={"csrf_token": foreign})
        assert response.status_code == 400


def test_sign_in_needs_the_forms_token_too(client: FlaskClient, world: World) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": STAFF, "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.get("/participants/").status_code == 303


def test_sign_in_starts_a_new_session_and_the_old_token_is_worthless(
    client: FlaskClient, world: World
) -> None:
    form = client.get("/sign-in")
    before = _cookie_value(_set_cookie(form, cookie_name("groundswell_sign_in", secure=True)))
    assert before == csrf_token(form)
    response = sign_in(client, STAFF)
    after = _cookie_value(_set_cookie(response))
    assert after != before
    assert client.get("/participants/").status_code == 200
    client.set_cookie(COOKIE, before)  # an attacker who planted or saw the first token
    assert client.get("/participants/").status_code == 303


def test_cookie_flags(client: FlaskClient, world: World) -> None:
    header = _set_cookie(sign_in(client, STAFF))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" in header  # the public URL is https


def test_no_secure_flag_on_a_plain_http_install(
    sessions: sessionmaker[Session],
    library: FlowLibrary,
    clock: Clock,
    database_url: str,
    world: World,
) -> None:
    app = create_app(
        Settings(database_url=database_url),
        sessions=sessions,
        library=library,
        clock=clock,
        twilio=TwilioSettings(),
        telegram=TelegramSettings(),
    )
    with app.test_client() as client:
        header = _set_cookie(sign_in(client, STAFF), BASE_COOKIE)
    assert "Secure" not in header and "HttpOnly" in header


def test_sign_out_ends_the_session_for_any_copy_of_the_cookie(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    token = _cookie_value(_set_cookie(sign_in(client, STAFF)))
    response = post_form(client, "/participants/", "/sign-out", {})
    assert response.status_code == 303
    assert "You are signed out" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.set_cookie(COOKIE, token)
    assert client.get("/participants/").status_code == 303
    with transaction(sessions, readonly=True) as session:
        assert (
            session.scalars(select(WebSession.user_id).where(WebSession.user_id.is_not(None))).all()
            == []
        )


def test_sign_in_attempts_are_rate_limited(client: FlaskClient, world: World, clock: Clock) -> None:
    for _ in range(throttle.PER_ACCOUNT):
        assert sign_in(client, STAFF, "wrong password!").status_code == 401
    refused = sign_in(client, STAFF, PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert client.get("/participants/").status_code == 303
    clock.advance(throttle.WINDOW + timedelta(seconds=1))
    assert sign_in(client, STAFF, PASSWORD).status_code == 303


def test_wrong_password_and_unknown_email_read_the_same(client: FlaskClient, world: World) -> None:
    wrong = sign_in(client, STAFF, "wrong password!").get_data(as_text=True)
    unknown = sign_in(client, "nobody@example.org", "wrong password!").get_data(as_text=True)
    message = "That email and password do not match an account"
    assert message in wrong and message in unknown


def test_revealing_a_phone_number_is_logged(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    page = client.get(f"/participants/{world.elm_person}").get_data(as_text=True)
    assert "+447700900123" not in page and "SMS number ending 123" in page
    address_id = page.split('name="address" value="')[1].split('"')[0]
    shown = post_form(
        client,
        f"/participants/{world.elm_person}",
        f"/participants/{world.elm_person}/reveal",
        {"address": address_id},
    )
    assert shown.status_code == 200
    assert "+447700900123" in shown.get_data(as_text=True)
    with transaction(sessions, readonly=True) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "revealed contact")
        ).one()
    assert entry.actor == STAFF and "SMS" in (entry.subject or "")
    again = client.get(f"/participants/{world.elm_person}").get_data(as_text=True)
    assert "+447700900123" not in again


def test_resident_text_is_shown_as_text(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    add_message(sessions, world.elm_person, SCRIPT)
    sign_in(client, STAFF)
    page = client.get(f"/conversations/{world.elm_person}").get_data(as_text=True)
    assert ESCAPED in page and SCRIPT not in page


def test_flow_text_is_shown_as_text(client: FlaskClient, world: World, flows_folder: Path) -> None:
    (flows_folder / "evil.yaml").write_text(
        f'flow: evil\ntitle: "{SCRIPT}"\nsteps:\n  - id: hi\n    say: "{SCRIPT}"\n',
        encoding="utf-8",
    )
    sign_in(client, STAFF)
    for path in ("/flows/", "/flows/evil.yaml", "/flows/evil.yaml/edit"):
        page = client.get(path).get_data(as_text=True)
        assert SCRIPT not in page, path
        assert "&lt;script&gt;" in page, path


def test_pages_carry_security_headers(client: FlaskClient, world: World) -> None:
    sign_in(client, STAFF)
    response = client.get("/participants/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
