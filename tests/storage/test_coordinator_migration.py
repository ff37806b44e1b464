"""Migration 0006 carries every coordinator over into `users` and back again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from storage import migrate
from storage.database import make_engine


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def _run(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for sql in statements:
                connection.execute(sa.text(sql))
    finally:
        engine.dispose()


def test_coordinators_become_users_in_all_their_groups(empty_database_url: str) -> None:
    url = empty_database_url
    command.upgrade(migrate.alembic_config(url), "0005")
    now = "'2026-11-01 10:00:00'"
    _run(
        url,
        f"INSERT INTO groups (id, name, created_at) VALUES (1, 'Elm', {now}), (2, 'Oak', {now})",
        "INSERT INTO coordinators (name, channel, address, group_id, summary_weekday, "
        "summary_time, timezone) VALUES "
        "('Ann', 'sms', '+447700900001', 1, 4, '17:30', 'Europe/Paris'), "
        "('Ann again', 'sms', '+447700900001', 2, 0, '09:00', NULL), "
        "('Bo', 'telegram', '5551', 2, 0, '09:00', NULL)",
        "INSERT INTO users (email, password_hash, role, created_at) "
        f"VALUES ('sam@example.org', 'x', 'coordinator', {now})",
    )
    migrate.upgrade(url)
    people = _rows(
        url,
        "SELECT name, email, channel, address, summary_weekday, summary_time, timezone "
        "FROM users ORDER BY id",
    )
    assert people == [
        (None, "sam@example.org", None, None, 0, "09:00", None),
        ("Ann", None, "sms", "+447700900001", 4, "17:30", "Europe/Paris"),
        ("Bo", None, "telegram", "5551", 0, "09:00", None),
    ]
    groups = _rows(
        url,
        "SELECT u.name, g.name FROM user_groups ug JOIN users u ON u.id = ug.user_id "
        "JOIN groups g ON g.id = ug.group_id WHERE u.name IS NOT NULL ORDER BY 1, 2",
    )
    assert groups == [("Ann", "Elm"), ("Ann", "Oak"), ("Bo", "Oak")]

    command.downgrade(migrate.alembic_config(url), "0005")
    back = _rows(
        url, "SELECT name, channel, address, group_id FROM coordinators ORDER BY group_id, name"
    )
    assert back == [
        ("Ann", "sms", "+447700900001", 1),
        ("Ann", "sms", "+447700900001", 2),
        ("Bo", "telegram", "5551", 2),
    ]
    assert _rows(url, "SELECT email FROM users") == [("sam@example.org",)]
