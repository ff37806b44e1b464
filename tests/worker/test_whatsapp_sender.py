"""WhatsApp through the real twilio client against the fake: prefixed addresses, template
sends by Content SID, error 63016 outside the window, and finding a send in doubt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import OutboundMessage, Permanent
from bot.channels.twilio import TwilioSettings
from bot.channels.whatsapp import OutsideWindow, WhatsAppSender
from bot.delivery import outbox
from bot.delivery.outbox import Recipient, enqueue_text, opening
from bot.delivery.rate_limits import RateLimits
from bot.delivery.senders import senders_from_env
from bot.delivery.worker import DrainReport, Worker
from bot.settings import SettingsError
from storage.database import transaction
from storage.models import OutboxItem
from tests.fakes import FakeTwilio
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.worker.conftest import FakeClock

WA_FROM = "+15557650001"
RESIDENT = "+447700900123"
CHECKIN_TEMPLATE = "HX" + "1" * 32


def whatsapp_settings(fake: FakeTwilio, **templates: str) -> TwilioSettings:
    return TwilioSettings(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=DEFAULT_AUTH_TOKEN,
        api_url=fake.base_url,
        whatsapp_from=WA_FROM,
        whatsapp_templates=templates
        or {"checkin": CHECKIN_TEMPLATE, "coordinator": CHECKIN_TEMPLATE},
    )


@pytest.fixture
def sender(twilio: FakeTwilio) -> Iterator[WhatsAppSender]:
    twilio.add_template(CHECKIN_TEMPLATE, "Hi {{1}}, your {{2}} check-in is ready. Reply to start.")
    sender = WhatsAppSender(whatsapp_settings(twilio), timeout=5)
    yield sender
    sender.close()


def test_free_form_goes_with_the_whatsapp_prefix_inside_the_window(
    twilio: FakeTwilio, sender: WhatsAppSender
) -> None:
    twilio.resident_wrote(RESIDENT)

    result = sender.send(OutboundMessage("whatsapp", RESIDENT, "How are you?", key="k1"))

    sent = twilio.message(result.provider_id)
    assert (sent["to"], sent["from"], sent["body"]) == (
        "whatsapp:" + RESIDENT,
        "whatsapp:" + WA_FROM,
        "How are you?",
    )


def test_free_form_outside_the_window_raises_outside_window(
    twilio: FakeTwilio, sender: WhatsAppSender
) -> None:
    with pytest.raises(OutsideWindow) as raised:
        sender.send(OutboundMessage("whatsapp", RESIDENT, "How are you?", key="k1"))

    assert raised.value.code == "63016"
    assert twilio.messages == []


def test_template_goes_by_content_sid_with_a_fallback_for_an_empty_name(
    twilio: FakeTwilio, sender: WhatsAppSender
) -> None:
    message = OutboundMessage(
        "whatsapp",
        RESIDENT,
        "",
        key="k2",
        template="reminder",  # no reminder template set: the check-in one stands in
        variables=(("1", " "), ("2", "Weekly wellbeing")),
    )

    result = sender.send(message)

    sent = twilio.message(result.provider_id)
    assert sent["request_params"]["ContentSid"] == CHECKIN_TEMPLATE
    assert json.loads(sent["request_params"]["ContentVariables"]) == {
        "1": "there",
        "2": "Weekly wellbeing",
    }
    assert "Body" not in sent["request_params"]
    assert sent["body"] == "Hi there, your Weekly wellbeing check-in is ready. Reply to start."


def test_no_template_configured_is_a_permanent_error(twilio: FakeTwilio) -> None:
    sender = WhatsAppSender(whatsapp_settings(twilio, coordinator="HX" + "2" * 32), timeout=5)
    try:
        with pytest.raises(Permanent, match="TWILIO_WHATSAPP_TEMPLATE_CHECKIN"):
            sender.send(OutboundMessage("whatsapp", RESIDENT, "", key="k", template="checkin"))
    finally:
        sender.close()
    assert twilio.messages == []


def test_a_template_in_doubt_is_found_at_the_provider(
    twilio: FakeTwilio, sender: WhatsAppSender, clock: FakeClock
) -> None:
    message = OutboundMessage(
        "whatsapp", RESIDENT, "", key="k3", template="checkin", variables=(("1", "Sam"),)
    )
    since = clock.now - timedelta(seconds=5)
    assert sender.find_sent(message, since) is None

    sid = sender.send(message).provider_id

    assert sender.find_sent(message, since) == sid
    assert sender.find_sent(message, since, exclude={sid}) is None


def test_daily_recipient_tier_holds_new_conversations_until_the_next_day(
    twilio: FakeTwilio,
    sender: WhatsAppSender,
    sessions: sessionmaker[Session],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    others = ["+447700900201", "+447700900202"]
    with transaction(sessions) as session:
        for number in [RESIDENT, *others]:
            enqueue_text(
                session,
                Recipient("whatsapp", number),
                "Your alert",
                now=clock.now,
                opening=opening("coordinator", "Ana", "an alert"),
            )
    worker = Worker(
        sessions,
        {"whatsapp": sender},
        clock=clock,
        sleep=clock.sleep,
        limits=RateLimits.unlimited(),
        whatsapp_daily_recipients=2,
    )

    first = worker.run_once()

    assert first.sent == 2
    assert len(twilio.messages) == 2
    assert "WhatsApp daily limit reached: 2 people" in caplog.text
    assert "GROUNDSWELL_WHATSAPP_DAILY_RECIPIENTS=2" in caplog.text
    with transaction(sessions, readonly=True) as session:
        waiting = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "template", OutboxItem.status == "queued")
        ).one()
        assert waiting.not_before > clock.now + timedelta(hours=23)
        assert waiting.attempts == 0

    clock.advance(24 * 3600 + 1)
    assert worker.run_once().sent == 1
    assert len(twilio.messages) == 3


def test_a_template_sent_before_a_crash_is_recovered_not_sent_again(
    twilio: FakeTwilio,
    sender: WhatsAppSender,
    sessions: sessionmaker[Session],
    clock: FakeClock,
) -> None:
    with transaction(sessions) as session:
        enqueue_text(
            session,
            Recipient("whatsapp", RESIDENT),
            "Your alert",
            now=clock.now,
            opening=opening("coordinator", "Ana", "an alert"),
        )
    with transaction(sessions) as session:
        [item] = outbox.claim(session, "doomed", clock.now, limit=1, lease=timedelta(seconds=60))
        assert item.kind == "template"
        invite = outbox.template_of(item.body)
    sender.send(
        OutboundMessage(
            "whatsapp",
            RESIDENT,
            "",
            key=item.idempotency_key,
            template=invite.template,
            variables=invite.variables,
        )
    )
    clock.advance(61)
    worker = Worker(sessions, {"whatsapp": sender}, clock=clock, sleep=clock.sleep)

    report = worker.run_once()

    assert report == DrainReport(recovered=1)
    assert len(twilio.messages) == 1


def test_whatsapp_settings_and_sender_come_from_the_environment() -> None:
    environ = {
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": "whatsapp:" + WA_FROM,
        "TWILIO_WHATSAPP_TEMPLATE_CHECKIN": CHECKIN_TEMPLATE,
        "TWILIO_WHATSAPP_QUICK_REPLY_2": "HX" + "2" * 32,
    }
    settings = TwilioSettings.from_env(environ)
    assert settings.whatsapp_from == WA_FROM  # the prefix is ours to add
    assert settings.whatsapp_templates == {"checkin": CHECKIN_TEMPLATE}
    assert settings.whatsapp_quick_replies == {2: "HX" + "2" * 32}
    assert DEFAULT_AUTH_TOKEN not in repr(settings)

    senders = senders_from_env(environ)
    try:
        assert set(senders) == {"whatsapp", "sim"}  # no TWILIO_FROM: no SMS
    finally:
        for each in senders.values():
            each.close()
    with pytest.raises(SettingsError, match="WhatsApp is partly configured"):
        senders_from_env({"TWILIO_WHATSAPP_FROM": WA_FROM})
