"""Issue 16's findings, each on SQLite and PostgreSQL: the per-client limit behind a proxy,
made-up emails never locking a real account, HTTPS cookies and HSTS, a sign-in page that
writes nothing, scrypt's cost and rehash, session lifetimes, and the audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.cli import main
from bot.settings import Settings
from bot.web import create_app
from bot.web.staff import accounts, throttle
from storage import audit
from storage.database import transaction
from storage.models import AuditEntry, SignInFailure, User, WebSession
from survey_flows.checks.folder import FlowLibrary
from tests.web_ui.conftest import PASSWORD, STAFF, Clock, World, csrf_token, sign_in

PROXY = "10.0.0.2"


def _app(
    settings: Settings, sessions: sessionmaker[Session], library: FlowLibrary, clock: Clock
) -> Flask:
    return create_app(
        settings,
        sessions=sessions,
        library=library,
        clock=clock,
        twilio=TwilioSettings(),
        telegram=TelegramSettings(),
    )


def _sign_in_from(client: FlaskClient, address: str, email: str, password: str) -> int:
    """Sign in through a proxy that says the client is `address`; the status code."""
    environ = {"REMOTE_ADDR": PROXY}
    headers = {"X-Forwarded-For": address}
    token = csrf_token(client.get("/sign-in", environ_base=environ, headers=headers))
    return client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
        headers=headers,
    ).status_code


@pytest.fixture
def proxied(
    database_url: str, sessions: sessionmaker[Session], library: FlowLibrary, clock: Clock
) -> Flask:
    """The app behind one trusted proxy (GROUNDSWELL_TRUSTED_PROXIES=1)."""
    return _app(Settings(database_url=database_url, trusted_proxies=1), sessions, library, clock)


def test_made_up_emails_from_one_address_do_not_lock_out_staff_behind_a_proxy(
    proxied: Flask, world: World
) -> None:
    """Finding 2: 30 failures for made-up emails, then the real password got 429."""
    with proxied.test_client() as attacker:
        for n in range(30):
            assert _sign_in_from(attacker, "203.0.113.9", f"x{n}@example.org", "guess") in (
                401,
                429,
            )
    with proxied.test_client() as staff:
        assert _sign_in_from(staff, "198.51.100.7", STAFF, PASSWORD) == 303


def test_a_client_that_keeps_failing_is_slowed_down_not_locked_out(
    proxied: Flask, world: World, clock: Clock
) -> None:
    """Made-up emails from the staff member's own address slow it, for at most a minute."""
    home = "198.51.100.7"
    with proxied.test_client() as client:
        statuses = [_sign_in_from(client, home, f"x{n}@example.org", "guess") for n in range(30)]
        assert statuses[: throttle.CLIENT_FREE] == [401] * throttle.CLIENT_FREE
        assert 429 in statuses  # slowed down
        clock.advance(throttle.CLIENT_MAX_WAIT)
        assert _sign_in_from(client, home, STAFF, PASSWORD) == 303


def test_without_trusted_proxies_forwarded_addresses_are_ignored(
    client: FlaskClient, world: World
) -> None:
    """X-Forwarded-For from anyone but a configured proxy is not believed."""
    for n in range(throttle.CLIENT_FREE + 1):
        _sign_in_from(client, f"192.0.2.{n}", f"x{n}@example.org", "guess")
    assert _sign_in_from(client, "192.0.2.200", STAFF, "wrong password!") == 429


def test_the_account_limit_counts_only_that_accounts_failures(
    client: FlaskClient, world: World, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    for _ in range(throttle.PER_ACCOUNT):
        assert sign_in(client, STAFF, "wrong password!").status_code == 401
        clock.advance(timedelta(seconds=1))
    assert sign_in(client, STAFF, PASSWORD).status_code == 429
    clock.advance(throttle.WINDOW)
    assert sign_in(client, STAFF, PASSWORD).status_code == 303
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(SignInFailure)) == 0


def test_the_sign_in_page_writes_nothing(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    """Finding 5: every anonymous GET /sign-in wrote a session row."""
    for _ in range(3):
        assert client.get("/sign-in").status_code == 200
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    assert sign_in(client, STAFF).status_code == 303
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1


def test_https_setting_gives_host_prefixed_secure_cookies_and_hsts(
    database_url: str,
    sessions: sessionmaker[Session],
    library: FlowLibrary,
    clock: Clock,
    world: World,
) -> None:
    """Finding 5: a Telegram-only deployment behind HTTPS (no public URL) got neither."""
    settings = Settings.from_env({"DATABASE_URL": database_url, "GROUNDSWELL_HTTPS": "1"})
    assert settings.public_url is None and settings.secure
    with _app(settings, sessions, library, clock).test_client() as client:
        form = client.get("/sign-in")
        assert form.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        response = sign_in(client, STAFF)
        assert response.status_code == 303
        cookies = response.headers.getlist("Set-Cookie")
        session_cookie = next(c for c in cookies if c.startswith("__Host-groundswell_session="))
        for flag in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
            assert flag in session_cookie
        assert "Domain" not in session_cookie
        assert client.get("/healthz").headers["Strict-Transport-Security"]
        assert client.get("/participants/").status_code == 200


def test_plain_http_has_no_hsts(
    database_url: str, sessions: sessionmaker[Session], library: FlowLibrary, clock: Clock
) -> None:
    with _app(Settings(database_url=database_url), sessions, library, clock).test_client() as c:
        assert "Strict-Transport-Security" not in c.get("/sign-in").headers


def test_sessions_end_after_30_idle_minutes_and_12_hours(
    client: FlaskClient, world: World, clock: Clock
) -> None:
    sign_in(client, STAFF)
    clock.advance(timedelta(minutes=29))
    assert client.get("/participants/").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert client.get("/participants/").status_code == 303  # idle too long

    sign_in(client, STAFF)
    for _ in range(12 * 3):  # busy all day: a request every 20 minutes
        assert client.get("/participants/").status_code == 200
        clock.advance(timedelta(minutes=20))
    assert client.get("/participants/").status_code == 303  # 12 hours after signing in


def test_session_lifetimes_are_settings(
    database_url: str,
    sessions: sessionmaker[Session],
    library: FlowLibrary,
    clock: Clock,
    world: World,
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "GROUNDSWELL_SESSION_IDLE_MINUTES": "5"}
    )
    assert (settings.session_idle_minutes, settings.session_max_hours) == (5, 12)
    with _app(settings, sessions, library, clock).test_client() as client:
        sign_in(client, STAFF)
        clock.advance(timedelta(minutes=6))
        assert client.get("/participants/").status_code == 303


def test_passwords_are_hashed_at_n_2_17_and_older_hashes_rehashed_at_sign_in(
    client: FlaskClient,
    world: World,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding 5: scrypt ran at N=2^15. (Other tests hash cheaply; this one is real.)"""
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "scrypt:131072:8:1")
    with transaction(sessions) as session:
        old = session.scalars(select(User.password_hash).where(User.email == STAFF)).one()
    assert old.startswith("scrypt:16384:8:1$")  # made by the fixture at the cheap test cost
    assert sign_in(client, STAFF).status_code == 303
    with transaction(sessions) as session:
        new = session.scalars(select(User.password_hash).where(User.email == STAFF)).one()
    assert new.startswith("scrypt:131072:8:1$")
    assert accounts.hash_password("a long enough passphrase").startswith("scrypt:131072:8:1$")


def _actions(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with transaction(sessions, readonly=True) as session:
        return [
            (row.action, row.actor)
            for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_sign_ins_and_their_failures_are_audited(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF, "wrong password!")
    sign_in(client, "nobody@example.org", "wrong password!")
    sign_in(client, STAFF)
    actions = _actions(sessions)[-3:]
    assert actions == [
        ("sign-in failed", STAFF),
        ("sign-in failed", "nobody@example.org"),
        ("signed in", STAFF),
    ]


def _chain_ok(sessions: sessionmaker[Session]) -> audit.Verdict:
    with transaction(sessions, readonly=True) as session:
        return audit.verify(session)


def test_the_audit_chain_finds_an_edited_a_deleted_and_a_slipped_in_entry(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    for _ in range(3):
        sign_in(client, STAFF)
        client.delete_cookie("__Host-groundswell_session")  # a new browser each time
    verdict = _chain_ok(sessions)
    assert verdict.broken is None and verdict.entries >= 5
    with transaction(sessions) as session:
        ids = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        session.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(actor="mallory"))
    broken = _chain_ok(sessions).broken
    assert broken is not None and broken.entry_id == ids[2] and "changed" in broken.problem

    with transaction(sessions) as session:  # put it back, then delete one instead
        session.execute(update(AuditEntry).where(AuditEntry.id == ids[2]).values(actor=STAFF))
    assert _chain_ok(sessions).broken is None
    with transaction(sessions) as session:
        session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    broken = _chain_ok(sessions).broken
    assert broken is not None and broken.entry_id == ids[2] and "deleted" in broken.problem


def test_audit_verify_command_and_the_staff_page(
    client: FlaskClient,
    world: World,
    sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    sign_in(client, STAFF)
    runner = CliRunner()
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit log OK" in result.output
    page = client.get("/audit/").get_data(as_text=True)
    assert "check out" in page and "signed in" in page

    with transaction(sessions) as session:
        last = session.scalar(select(func.max(AuditEntry.id)))
        session.execute(update(AuditEntry).where(AuditEntry.id == last).values(subject="x"))
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {last}" in result.output
    assert "tampered with" in client.get("/audit/").get_data(as_text=True)


def test_coordinators_cannot_see_the_audit_log(client: FlaskClient, world: World) -> None:
    from tests.web_ui.conftest import COORDINATOR

    sign_in(client, COORDINATOR)
    assert client.get("/audit/").status_code == 403


def test_passwords_are_12_to_128_characters() -> None:
    """ASVS 2.1.1 and 2.1.2: at least 12 characters; 64 allowed; more than 128 refused."""
    with pytest.raises(accounts.AccountError, match="at least 12"):
        accounts.hash_password("x" * 11)
    assert accounts.hash_password("x" * 12) and accounts.hash_password("é" * 64)
    with pytest.raises(accounts.AccountError, match="at most 128"):
        accounts.hash_password("x" * 129)
