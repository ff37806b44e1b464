"""`groundswell users`: add (password from standard input when it is not a terminal),
list, set a new password, remove; clear messages for every mistake."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.web.staff.accounts import authenticate
from storage.database import transaction
from storage.models import AuditEntry, Group, User

PASSWORD = "a long enough password"
Invoke = Callable[..., Result]


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("DATABASE_URL", database_url)

    def invoke(*args: str, stdin: str = PASSWORD + "\n") -> Result:
        return CliRunner().invoke(main, ["users", *args], input=stdin)

    return invoke


def test_add_staff_and_coordinator_then_list(run: Invoke, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add(Group(name="Elm Street"))
    assert "Nobody can sign in yet" in run("list").output
    added = run("add", "You@Example.org", "--role", "staff")
    assert added.exit_code == 0, added.output
    assert "Added you@example.org (staff; sees every group)" in added.output
    assert "sign in" in added.output
    coordinator = run("add", "sam@example.org", "--role", "coordinator", "--group", "elm street")
    assert coordinator.exit_code == 0, coordinator.output
    listing = run("list").output
    assert "you@example.org\tstaff\tall groups" in listing
    assert "sam@example.org\tcoordinator\tElm Street" in listing
    with transaction(sessions, readonly=True) as session:
        user = authenticate(session, "you@example.org", PASSWORD)
        assert user is not None and user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash
        assert session.scalars(select(AuditEntry.action)).all() == ["added web user"] * 2


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "sam@example.org", "--role", "coordinator"), PASSWORD, "name at least one"),
        (
            ("add", "sam@example.org", "--role", "coordinator", "--group", "Nowhere"),
            PASSWORD,
            "there is no group called 'Nowhere'",
        ),
        (
            ("add", "you@example.org", "--role", "staff", "--group", "Elm"),
            PASSWORD,
            "staff see every group",
        ),
        (("add", "you@example.org", "--role", "staff"), "short\n", "too short"),
        (("add", "you@example.org", "--role", "staff"), "", "no password given"),
        (("add", "not-an-email", "--role", "staff"), PASSWORD, "is not an email address"),
    ],
)
def test_mistakes_are_explained(
    run: Invoke, args: tuple[str, ...], stdin: str, message: str, sessions: sessionmaker[Session]
) -> None:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 1
    assert message in result.output
    with transaction(sessions, readonly=True) as session:
        assert session.scalars(select(User)).all() == []


def test_new_password_and_removal(run: Invoke, sessions: sessionmaker[Session]) -> None:
    run("add", "you@example.org", "--role", "staff")
    assert "already has an account" in run("add", "you@example.org", "--role", "staff").output
    changed = run("password", "you@example.org", stdin="another long password\n")
    assert changed.exit_code == 0, changed.output
    with transaction(sessions, readonly=True) as session:
        assert authenticate(session, "you@example.org", PASSWORD) is None
        assert authenticate(session, "you@example.org", "another long password") is not None
    last = run("remove", "you@example.org")
    assert last.exit_code != 0 and "last staff account" in last.output
    run("add", "other@example.org", "--role", "staff")
    assert run("remove", "you@example.org").exit_code == 0
    assert "nobody signs in as" in run("remove", "you@example.org").output
    with transaction(sessions, readonly=True) as session:
        assert [u.email for u in session.scalars(select(User))] == ["other@example.org"]
