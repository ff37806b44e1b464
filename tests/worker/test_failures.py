"""Opted-out recipients, permanent errors and too many attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSender
from bot.channels.twilio import TwilioSender
from bot.delivery.worker import DrainReport, Worker, redact
from storage.database import transaction
from storage.models import Participant
from tests.fakes import FakeTwilio
from tests.fakes.telegram_api import FakeTelegram
from tests.worker.conftest import FakeClock, add_person, message_of, outbox_rows, queue

PHONE = "+15551230001"
OTHER = "+15551230002"
CHAT = "4242"


def participant(sessions: sessionmaker[Session], person_id: int) -> Participant:
    with transaction(sessions, readonly=True) as session:
        found = session.scalars(select(Participant).where(Participant.id == person_id)).one()
        return found


def test_twilio_21610_opts_the_participant_out_and_cancels_the_rest(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    sms_sender: TwilioSender,
    telegram_sender: TelegramSender,
) -> None:
    sam = add_person(sessions, "sms", PHONE)
    first, second = queue(sessions, "sms", PHONE, ["one", "two"], clock.now, sam)
    # Sam's Telegram row is in the same batch: dropped, never sent.
    [on_telegram] = queue(sessions, "telegram", CHAT, ["three"], clock.now, sam)
    [bystander] = queue(sessions, "sms", OTHER, ["for someone else"], clock.now)
    twilio.opted_out(PHONE)
    senders = {"sms": sms_sender, "telegram": telegram_sender}
    worker = Worker(sessions, senders, clock=clock, sleep=clock.sleep)

    report = worker.run_once()

    assert report == DrainReport(opted_out=1, sent=1)
    person = participant(sessions, sam)
    assert person.opted_out and person.opted_out_at is not None
    rows = outbox_rows(sessions)
    assert rows[first].status == "failed"
    assert rows[second].status == "cancelled" and rows[on_telegram].status == "cancelled"
    assert rows[bystander].status == "sent"
    assert message_of(sessions, first).error_code == "21610"
    assert message_of(sessions, second).status == "cancelled"
    assert [m["to"] for m in twilio.messages] == [OTHER]
    assert telegram.sent == []
    assert worker.run_once() == DrainReport()


@pytest.mark.parametrize("how", ["blocked", "deactivated"])
def test_telegram_blocked_or_deactivated_opts_out(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    telegram: FakeTelegram,
    telegram_sender: TelegramSender,
    how: str,
) -> None:
    kim = add_person(sessions, "telegram", CHAT)
    first, second = queue(sessions, "telegram", CHAT, ["one", "two"], clock.now, kim)
    getattr(telegram, how)(int(CHAT))
    worker = Worker(sessions, {"telegram": telegram_sender}, clock=clock, sleep=clock.sleep)

    assert worker.run_once() == DrainReport(opted_out=1)

    assert participant(sessions, kim).opted_out
    rows = outbox_rows(sessions)
    assert rows[first].status == "failed" and rows[second].status == "cancelled"
    assert message_of(sessions, first).error_code == "403"
    assert telegram.sent == []


def test_permanent_error_fails_without_retry(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    twilio: FakeTwilio,
    sms_sender: TwilioSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [bad, after] = queue(sessions, "sms", PHONE, ["one", "two"], clock.now)
    twilio.fail_next(1, 400, code=21211, message=f"Invalid 'To' Phone Number: {PHONE}")
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep)

    assert worker.run_once() == DrainReport(failed=1, sent=1)

    rows = outbox_rows(sessions)
    assert rows[bad].status == "failed" and rows[bad].attempts == 1
    assert PHONE not in (rows[bad].last_error or "") and "21211" in (rows[bad].last_error or "")
    assert message_of(sessions, bad).status == "failed"
    assert message_of(sessions, bad).error_code == "21211"
    assert rows[after].status == "sent"  # a failed row no longer holds up its address
    assert len([r for r in twilio.requests if r.operation == "create"]) == 2
    assert PHONE not in caplog.text


def test_gives_up_after_max_attempts(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio, sms_sender: TwilioSender
) -> None:
    [item] = queue(sessions, "sms", PHONE, ["one"], clock.now)
    twilio.fail_next(10, 503, only="create")
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep, max_attempts=3)
    reports = []
    for _ in range(5):
        reports.append(worker.run_once())
        clock.advance(3600)
    assert [r.retried for r in reports] == [1, 1, 0, 0, 0]
    assert reports[2].failed == 1
    row = outbox_rows(sessions)[item]
    assert row.status == "failed" and row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "")
    assert len([r for r in twilio.requests if r.operation == "create"]) == 3
    assert twilio.messages == []


def test_a_row_reclaimed_too_often_fails_without_sending(
    sessions: sessionmaker[Session], clock: FakeClock, twilio: FakeTwilio, sms_sender: TwilioSender
) -> None:
    """A send that kills its worker every time must not be tried forever."""
    from bot.delivery import outbox

    [item] = queue(sessions, "sms", PHONE, ["one"], clock.now)
    for _ in range(3):
        with transaction(sessions) as session:
            assert outbox.claim(session, "crashing", clock.now)
        clock.advance(61)
    worker = Worker(sessions, {"sms": sms_sender}, clock=clock, sleep=clock.sleep, max_attempts=3)
    assert worker.run_once() == DrainReport(failed=1)
    assert outbox_rows(sessions)[item].status == "failed"
    assert twilio.requests == []


def test_redact_removes_numbers_but_keeps_codes() -> None:
    text = "HTTP 400, error 21211: Invalid 'To' Phone Number: +44 7700 900123 (chat 987654321)"
    assert redact(text) == (
        "HTTP 400, error 21211: Invalid 'To' Phone Number: <number> (chat <number>)"
    )
