"""Queued messages say why they wait, on the conversation, the Simulator and the Summaries
page, in Health's words: a channel not set up, quiet hours, a failed try, the sender limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSettings
from bot.delivery.outbox import Recipient, enqueue_text
from storage.database import transaction
from storage.models import OutboxItem
from tests.web_ui.conftest import NOON, STAFF, World, sign_in

#: 08:00 in London the next morning (GMT in March), when quiet hours end.
MORNING = datetime(2025, 3, 6, 8, 0, tzinfo=UTC)


def _queue(
    sessions: sessionmaker[Session], to: Recipient, body: str, not_before: datetime = NOON
) -> None:
    with transaction(sessions) as session:
        enqueue_text(session, to, body, now=NOON, not_before=not_before)


def test_a_message_for_a_channel_not_set_up_says_so(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    _queue(sessions, Recipient("sms", "+447700900123", world.elm_person), "Hi Sam")
    sign_in(client, STAFF)
    page = client.get(f"/conversations/{world.elm_person}").get_data(as_text=True)
    assert "waiting to be sent: " in page
    assert (
        "SMS is not set up (no TWILIO_ACCOUNT_SID" in page and "so this waits until it is" in page
    )
    health = client.get("/health/").get_data(as_text=True)
    assert "1 message(s) wait for SMS, which is not set up: set TWILIO_ACCOUNT_SID" in health


def test_quiet_hours_a_failed_try_and_the_sender_limit_are_named(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    person = world.elm_person
    _queue(sessions, Recipient("sim", "phone-1", person), "At night", not_before=MORNING)
    sign_in(client, STAFF)
    page = client.get(f"/conversations/{person}").get_data(as_text=True)
    assert "waiting for quiet hours to end at 08:00" in page

    with transaction(sessions) as session:
        session.execute(update(OutboxItem).values(attempts=1))
    page = client.get(f"/conversations/{person}").get_data(as_text=True)
    assert "the last try failed; trying again at 08:00" in page
    assert "quiet hours" not in page

    with transaction(sessions) as session:
        session.execute(update(OutboxItem).values(attempts=0, not_before=NOON))
    page = client.get(f"/conversations/{person}").get_data(as_text=True)
    assert "next for the worker to send" in page and "sender limit" not in page


def test_a_message_behind_many_on_its_channel_is_held_by_the_sender_limit(
    app: Flask, client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    for n in range(10):  # ten earlier sends to others on the same channel
        _queue(sessions, Recipient("sim", f"other-{n}"), "to someone else")
        _queue(sessions, Recipient("telegram", f"55{n}"), "to someone else")
    _queue(sessions, Recipient("sim", "phone-1", world.elm_person), "Hi Sam")
    _queue(sessions, Recipient("telegram", "5551", world.elm_person), "Hi Sam")
    sign_in(client, STAFF)
    page = client.get(f"/conversations/{world.elm_person}").get_data(as_text=True)
    assert "queued behind 10 earlier message(s)" in page  # the simulator has no limit
    assert "Telegram is not set up" in page
    ctx = app.extensions["groundswell"]
    app.extensions["groundswell"] = replace(ctx, telegram=TelegramSettings(token="123:abc"))
    page = client.get(f"/conversations/{world.elm_person}").get_data(as_text=True)
    assert "held by the sender limit: 10 Telegram messages go before it" in page
    assert page.count("sender limit") == 1


def test_sent_summaries_say_why_they_wait(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    body = "Groundswell weekly summary, Elm Street, over the last 12 weeks: nothing yet."
    _queue(sessions, Recipient("telegram", "5551"), body, not_before=NOON + timedelta(hours=1))
    sign_in(client, STAFF)
    page = client.get(f"/summaries/?group={world.elm}").get_data(as_text=True)
    assert "Telegram is not set up (no TELEGRAM_BOT_TOKEN), so this waits until it is" in page
