"""Multiple-choice steps end to end, on SQLite and PostgreSQL: SMS replies naming several
options, Telegram buttons that toggle with ✓ and a Done button (the keyboard checked against
the fake Telegram server), one stored answer per chosen value, and `previous.ID` as a list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSender, TelegramSettings
from bot.checkins.starting import start_checkin
from bot.delivery.worker import DrainReport, Worker
from bot.settings import Settings
from storage.checkin_rows import previous_answers
from storage.database import transaction
from storage.models import Answer, Checkin, OutboxItem, Participant
from survey_flows.checks.folder import FlowLibrary
from tests.fakes import FakeTelegram, telegram_callback_update
from tests.survey_flows.test_multiple_choice import FLOW
from tests.web.conftest import CHAT_ID, NOON, add_participant, post_telegram, sms

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture
def library(tmp_path: Path) -> FlowLibrary:
    """The shipped flows' folder is not touched: this one holds the multiple-choice flow."""
    (tmp_path / "helped.yaml").write_text(FLOW, encoding="utf-8")
    return FlowLibrary(tmp_path)


def _start(
    sessions: sessionmaker[Session], library: FlowLibrary, settings: Settings, person: int
) -> int:
    with transaction(sessions) as session:
        participant = session.get_one(Participant, person)
        checkin = start_checkin(
            session, participant, library.resolve("helped"), NOON, settings,
            hold_for_quiet_hours=False,
        )  # fmt: skip
        assert checkin is not None
        return checkin.id


def _stored(sessions: sessionmaker[Session], checkin: int) -> list[tuple[str, int, Any]]:
    with transaction(sessions, readonly=True) as session:
        rows = session.execute(
            select(Answer.step_id, Answer.part, Answer.value)
            .where(Answer.checkin_id == checkin)
            .order_by(Answer.step_id, Answer.part)
        )
        return [tuple(row) for row in rows]


def _last_question(sessions: sessionmaker[Session]) -> OutboxItem:
    with transaction(sessions, readonly=True) as session:
        item = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "message").order_by(OutboxItem.id.desc())
        ).first()
        assert item is not None
        session.expunge(item)
        return item


def test_an_sms_reply_naming_two_options_stores_two_answers(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    library: FlowLibrary,
) -> None:
    person = add_participant(sessions)
    checkin = _start(sessions, library, settings, person)
    question = _last_question(sessions).body
    assert question == (
        "What helped this month? (Reply with one or more numbers, e.g. 1 3.)\n"
        "1) Street lighting 2) Less traffic 3) Bins and litter 4) Neighbours"
    )
    sms(client, "3 and 2")
    assert _stored(sessions, checkin) == [("why", 1, "traffic"), ("why", 2, "bins")]
    sms(client, "Fewer lorries")
    assert _stored(sessions, checkin)[0] == ("traffic_more", 0, "Fewer lorries")
    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Checkin, checkin).status == "completed"
        assert session.get_one(Checkin, checkin).state["answers"]["why"] == ["traffic", "bins"]
        previous = previous_answers(session.connection(), person, "helped")
    assert previous["why"] == ["traffic", "bins"]  # as a list, for `previous.why`


def test_telegram_buttons_tick_on_the_question_itself_then_done_stores_each_choice(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    library: FlowLibrary,
) -> None:
    """Through the worker and the real python-telegram-bot client against the fake server:
    each toggle press edits the question's own keyboard (editMessageReplyMarkup), no new
    message is sent, and every press is answered."""
    person = add_participant(sessions, channel="telegram", address=str(CHAT_ID))
    checkin = _start(sessions, library, settings, person)
    first = _last_question(sessions)
    assert first.body == "What helped this month? (Press each that applies, then Done.)"
    assert [b["label"] for b in first.buttons or ()][-1] == "Done"

    fake = FakeTelegram()
    with (
        fake,
        TelegramSender(
            TelegramSettings(token=fake.token, webhook_secret="s", api_url=fake.base_url), timeout=5
        ) as sender,
    ):
        worker = Worker(sessions, {"telegram": sender}, clock=lambda: NOON, sleep=lambda _: None)
        assert worker.run_once() == DrainReport(sent=1)
        [question] = fake.sent
        message_id = question["message"]["message_id"]
        for update_id, data in ((3001, "bins"), (3002, "lighting"), (3003, "bins")):
            press = telegram_callback_update(update_id, CHAT_ID, data, message_id=message_id)
            assert post_telegram(client, press).status_code == 200
        assert worker.run_once() == DrainReport(sent=6)  # three edits, three answers
        assert len(fake.sent) == 1  # no new message: the question itself shows the ticks
        assert len(fake.callback_answers) == 3
        edits = fake.edits
    assert [e["method"] for e in edits] == ["editMessageReplyMarkup"] * 3
    assert {(e["message"]["chat"]["id"], e["message"]["message_id"]) for e in edits} == {
        (CHAT_ID, message_id)
    }
    assert edits[-1]["message"]["text"] == question["text"]  # the question's words stay
    markup = edits[-1]["message"]["reply_markup"]["inline_keyboard"]
    buttons = [(b["text"], b["callback_data"]) for row in markup for b in row]
    assert [text for text, _ in buttons] == [
        "✓ Street lighting", "Less traffic", "Bins and litter", "Neighbours", "Done",
    ]  # fmt: skip
    assert buttons[0] == ("✓ Street lighting", "lighting")
    assert buttons[-1] == ("Done", "#done")  # as itself: never read as a position
    first_edit = edits[0]["message"]["reply_markup"]["inline_keyboard"]
    assert "✓ Bins and litter" in [b["text"] for row in first_edit for b in row]
    assert _stored(sessions, checkin) == []
    assert _last_question(sessions).id == first.id  # nothing new queued as a message

    done = telegram_callback_update(3004, CHAT_ID, "#done", message_id=8)
    assert post_telegram(client, done).status_code == 200
    assert _stored(sessions, checkin) == [("why", 1, "lighting")]
    with transaction(sessions, readonly=True) as session:
        assert session.get_one(Checkin, checkin).status == "completed"  # no traffic: no more
