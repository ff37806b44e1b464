"""The SMS adapter against FakeTwilio with the real twilio client: sending, error mapping,
finding a send whose answer was lost, webhook signatures and parsing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot.channels import twilio as sms
from bot.channels.base import BadWebhook, OutboundMessage, Sender, SendError
from bot.channels.rendering import plain_text
from bot.channels.twilio import (
    TwilioSender,
    TwilioSettings,
    parse_inbound,
    parse_status,
    verify_signature,
)
from bot.delivery.outbox import Recipient, for_channel
from survey_flows.engine_values import Option, Outgoing
from tests.fakes import FakeTwilio, twilio_inbound_params, twilio_status_callback_params
from tests.fakes.twilio_api import DEFAULT_AUTH_TOKEN as TOKEN

OURS = "+15557650000"
RESIDENT = "+15551230001"
CALLBACK = "https://groundswell.example.org/webhooks/twilio/status"
WEBHOOK = "https://groundswell.example.org/webhooks/twilio/sms"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def settings_for(fake: FakeTwilio, **changes: str | None) -> TwilioSettings:
    values: dict[str, str | None] = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "from_number": OURS,
        "api_url": fake.base_url,
        "status_callback_url": CALLBACK,
    }
    values.update(changes)
    return TwilioSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def sender(fake: FakeTwilio) -> Iterator[TwilioSender]:
    sender = TwilioSender(settings_for(fake), timeout=5)
    yield sender
    sender.close()


@pytest.fixture
def impatient(fake: FakeTwilio) -> Iterator[TwilioSender]:
    """A sender whose requests time out after 0.2 s (for hung requests)."""
    sender = TwilioSender(settings_for(fake), timeout=0.2)
    yield sender
    sender.close()


def sms_message(body: str = "How was your week?", **changes: object) -> OutboundMessage:
    return OutboundMessage(channel="sms", address=RESIDENT, body=body, key="outbox-1", **changes)  # type: ignore[arg-type]


CHOICES = (Option("better", "Better"), Option("same", "Same"), Option("worse", "Worse"))


# --- settings ------------------------------------------------------------------------


def test_settings_from_env_and_no_token_in_repr() -> None:
    settings = TwilioSettings.from_env(
        {
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "s3cret-token",
            "TWILIO_FROM": OURS,
            "TWILIO_MESSAGING_SERVICE_SID": "",
            "TWILIO_API_URL": "http://127.0.0.1:9",
            "GROUNDSWELL_PUBLIC_URL": "https://gs.example.org/",
        }
    )
    assert settings.configured
    assert settings.messaging_service_sid is None
    assert settings.status_callback_url == "https://gs.example.org/webhooks/twilio/status"
    assert "s3cret-token" not in repr(settings)
    assert not TwilioSettings.from_env({}).configured
    assert TwilioSettings.from_env({}).status_callback_url is None


def test_unconfigured_sender_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN") as caught:
        TwilioSender(TwilioSettings(account_sid="AC1", from_number=OURS))
    assert "TWILIO_FROM" not in str(caught.value)


def test_sender_satisfies_the_protocol(sender: TwilioSender) -> None:
    assert isinstance(sender, Sender)
    assert sender.channel == "sms"
    assert sms.TRAITS.confirms_opt_out is True


# --- sending -------------------------------------------------------------------------


def test_send_plain_message(fake: FakeTwilio, sender: TwilioSender) -> None:
    result = sender.send(sms_message())
    stored = fake.message(result.provider_id)
    assert result.provider_id.startswith("SM")
    assert (stored["to"], stored["from"], stored["body"]) == (RESIDENT, OURS, "How was your week?")
    assert stored["status_callback"] == CALLBACK


def test_send_through_messaging_service(fake: FakeTwilio) -> None:
    sender = TwilioSender(settings_for(fake, from_number=None, messaging_service_sid="MG1"))
    try:
        result = sender.send(sms_message())
    finally:
        sender.close()
    stored = fake.message(result.provider_id)
    assert stored["messaging_service_sid"] == "MG1"
    assert stored["from"] is None


def test_numbered_choices_are_listed_in_the_body(fake: FakeTwilio, sender: TwilioSender) -> None:
    outgoing = Outgoing("Compared to last week?", "question", options=CHOICES, numbered=True)
    row = for_channel(Recipient("sms", RESIDENT), outgoing, datetime.now(UTC))
    assert not row.buttons  # SMS has no buttons: the outbox row carries the list in its body
    result = sender.send(sms_message(row.body, options=CHOICES))
    body = fake.message(result.provider_id)["body"]
    assert body == "Compared to last week?\n1) Better 2) Same 3) Worse"
    # the same text the simulator and golden tests show
    assert body == plain_text(outgoing)


def test_options_without_numbering_leave_the_body_alone(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    result = sender.send(sms_message("Any better?", options=CHOICES[:2]))
    assert fake.message(result.provider_id)["body"] == "Any better?"


def test_emoji_body_goes_out_unchanged(fake: FakeTwilio, sender: TwilioSender) -> None:
    body = "Thanks 🙏 see you next week 🌱"
    result = sender.send(sms_message(body))
    stored = fake.message(result.provider_id)
    assert stored["body"] == body
    assert stored["num_segments"] == "1"  # UCS-2, under 70 units


def test_ten_thousand_characters_are_split_under_twilios_limit(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    body = " ".join(f"word{i}" for i in range(1700))[:10_000]
    result = sender.send(sms_message(body))
    stored = fake.messages
    assert len(stored) == len(sms.render_sms(sms_message(body))) >= 7
    assert all(len(m["body"]) <= 1600 for m in stored)
    assert result.provider_id == stored[0]["sid"]
    assert " ".join(m["body"] for m in stored).split() == body.split()  # cut between words


def test_photo_is_not_attached_but_the_text_goes(fake: FakeTwilio, sender: TwilioSender) -> None:
    result = sender.send(sms_message("Your chart", photo=b"\x89PNG..."))
    assert fake.message(result.provider_id)["body"] == "Your chart"


def test_empty_body_is_permanent_without_a_request(fake: FakeTwilio, sender: TwilioSender) -> None:
    with pytest.raises(SendError) as caught:
        sender.send(sms_message("   "))
    assert not caught.value.retryable and not caught.value.opted_out
    assert fake.requests == []


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retryable(fake: FakeTwilio, sender: TwilioSender, status: int) -> None:
    fake.fail_next(1, status)
    with pytest.raises(SendError) as caught:
        sender.send(sms_message())
    error = caught.value
    assert error.retryable and not error.opted_out
    assert error.code == {500: "20500", 503: "20503"}[status]
    assert fake.messages == []
    assert sender.send(sms_message()).provider_id  # the next try goes through


def test_rate_limit_is_retryable_after_the_header(fake: FakeTwilio, sender: TwilioSender) -> None:
    fake.rate_limit_next(1, retry_after=7)
    with pytest.raises(SendError) as caught:
        sender.send(sms_message())
    assert caught.value.retryable
    assert caught.value.retry_after == 7
    assert caught.value.code == "20429"


def test_retry_after_header_forms() -> None:
    assert sms._parse_retry_after("12") == 12
    assert sms._parse_retry_after(None) is None
    assert sms._parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (sms._parse_retry_after(later) or 0) <= 30
    earlier = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert sms._parse_retry_after(earlier) == 0


def test_hung_request_times_out_as_retryable(fake: FakeTwilio, impatient: TwilioSender) -> None:
    fake.hang_next(1, 5, accepted=False)
    with pytest.raises(SendError) as caught:
        impatient.send(sms_message())
    assert caught.value.retryable
    assert caught.value.code is None


@pytest.mark.parametrize("accepted", [False, True])
def test_dropped_connection_is_retryable(
    fake: FakeTwilio, sender: TwilioSender, accepted: bool
) -> None:
    fake.drop_next(1, accepted=accepted)
    with pytest.raises(SendError) as caught:
        sender.send(sms_message())
    assert caught.value.retryable
    assert len(fake.messages) == (1 if accepted else 0)


def test_unsubscribed_number_is_opted_out(fake: FakeTwilio, sender: TwilioSender) -> None:
    fake.opted_out(RESIDENT)
    with pytest.raises(SendError) as caught:
        sender.send(sms_message())
    error = caught.value
    assert error.opted_out and not error.retryable
    assert error.code == "21610"


@pytest.mark.parametrize(
    ("address", "code"),
    [("12345", "21211"), ("", "21604")],
)
def test_refused_messages_are_permanent(sender: TwilioSender, address: str, code: str) -> None:
    with pytest.raises(SendError) as caught:
        sender.send(OutboundMessage("sms", address, "Hi"))
    error = caught.value
    assert not error.retryable and not error.opted_out
    assert error.code == code
    assert "400" in str(error)


def test_injected_400_is_permanent_with_provider_code(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    fake.fail_next(1, 400, code=21408, message="Permission to send an SMS has not been enabled")
    with pytest.raises(SendError) as caught:
        sender.send(sms_message())
    assert not caught.value.retryable
    assert caught.value.code == "21408"
    assert "Permission to send" in str(caught.value)


def test_wrong_credentials_are_permanent(fake: FakeTwilio) -> None:
    sender = TwilioSender(settings_for(fake, auth_token="wrong" * 6))
    try:
        with pytest.raises(SendError) as caught:
            sender.send(sms_message())
    finally:
        sender.close()
    assert not caught.value.retryable
    assert caught.value.code == "20003"
    assert "wrong" not in str(caught.value)


def test_retry_resumes_a_split_message_after_the_parts_already_sent(
    fake: FakeTwilio, sender: TwilioSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = " ".join(f"word{i}" for i in range(700))  # three parts
    real_create = sender._create
    calls = []

    def create(to: str, text: str) -> str:
        calls.append(text)
        if len(calls) == 2:
            fake.fail_next(1, 500)  # the second part hits a server error
        return real_create(to, text)

    monkeypatch.setattr(sender, "_create", create)
    with pytest.raises(SendError) as caught:
        sender.send(sms_message(body))
    first_sid = fake.messages[0]["sid"]
    assert caught.value.retryable
    assert caught.value.partial_id == first_sid
    result = sender.send(sms_message(body))
    assert result.provider_id == first_sid
    bodies = [m["body"] for m in fake.messages]
    assert bodies == sms.render_sms(sms_message(body))  # each part once, in order
    assert len(bodies) >= 3
    assert " ".join(bodies) == body


# --- finding a send whose answer was lost ---------------------------------------------


def test_find_sent_recovers_a_message_accepted_before_a_timeout(
    fake: FakeTwilio, impatient: TwilioSender
) -> None:
    since = datetime.now(UTC)
    message = sms_message("Compared to last week?\n1) Better 2) Same 3) Worse")
    fake.hang_next(1, 5, accepted=True, only="create")
    with pytest.raises(SendError) as caught:
        impatient.send(message)
    assert caught.value.retryable
    (stored,) = fake.messages
    assert impatient.find_sent(message, since) == stored["sid"]


def test_find_sent_recovers_a_message_whose_connection_dropped(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    since = datetime.now(UTC).replace(tzinfo=None)  # naive means UTC
    sender.send(sms_message("An older one"))
    fake.drop_next(1, accepted=True, only="create")
    with pytest.raises(SendError):
        sender.send(sms_message())
    found = sender.find_sent(sms_message(), since)
    assert found == fake.messages[-1]["sid"]


def test_find_sent_after_a_crash_partway_through_a_split_message_sends_only_the_rest(
    fake: FakeTwilio,
) -> None:
    """The worker died after part 1 of several went out: a fresh worker's sender must neither
    mark the row sent (the other parts would be lost) nor send part 1 again."""
    since = datetime.now(UTC)
    body = " ".join(f"word{i}" for i in range(700))  # over 1,600 characters
    parts = sms.render_sms(sms_message(body))
    assert len(parts) > 2
    crashed = TwilioSender(settings_for(fake), timeout=5)
    crashed._create(RESIDENT, parts[0])  # what got out before the process died
    crashed.close()

    fresh = TwilioSender(settings_for(fake), timeout=5)
    try:
        assert fresh.find_sent(sms_message(body), since) is None
        result = fresh.send(sms_message(body))
        assert [m["body"] for m in fake.messages] == parts  # each part once, in order
        assert result.provider_id == fake.messages[0]["sid"]
        assert fresh.find_sent(sms_message(body), since) == fake.messages[0]["sid"]
    finally:
        fresh.close()


def test_find_sent_is_none_when_nothing_was_sent(fake: FakeTwilio, sender: TwilioSender) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert sender.find_sent(sms_message(), since) is None
    sender.send(sms_message("A different question"))
    sender.send(OutboundMessage("sms", "+15551230002", "How was your week?"))
    assert sender.find_sent(sms_message(), since) is None
    assert [r.operation for r in fake.requests].count("list") == 2


def test_find_sent_ignores_messages_older_than_since(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    sender.send(sms_message())  # last week's identical reminder
    later = datetime.now(UTC) + timedelta(seconds=2)
    assert sender.find_sent(sms_message(), later) is None


def test_find_sent_reports_list_failures_as_send_errors(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    fake.fail_next(1, 500, only="list")
    with pytest.raises(SendError) as caught:
        sender.find_sent(sms_message(), datetime.now(UTC))
    assert caught.value.retryable


# --- webhooks ------------------------------------------------------------------------


def signed(params: dict[str, str], url: str = WEBHOOK) -> str:
    return RequestValidator(TOKEN).compute_signature(url, params)


def test_signature_accepts_what_twilio_signed() -> None:
    params = twilio_inbound_params(RESIDENT, OURS, "3")
    token = TOKEN
    assert verify_signature(token, WEBHOOK, params, signed(params))
    # Flask hands over a MultiDict; repeated names are covered
    multi = MultiDict([*params.items(), ("MediaUrl", "a"), ("MediaUrl", "b")])
    multi_signature = RequestValidator(token).compute_signature(WEBHOOK, multi)
    assert verify_signature(token, WEBHOOK, multi, multi_signature)


def test_signature_rejects_forgeries() -> None:
    token = TOKEN
    params = twilio_inbound_params(RESIDENT, OURS, "3")
    signature = signed(params)
    assert not verify_signature(token, WEBHOOK, {**params, "Body": "STOP"}, signature)
    assert not verify_signature(token, WEBHOOK, {**params, "Extra": "1"}, signature)
    assert not verify_signature(token, WEBHOOK.replace("https://", "http://"), params, signature)
    assert not verify_signature(token, WEBHOOK + "?x=1", params, signature)
    assert not verify_signature("another-token", WEBHOOK, params, signature)
    assert not verify_signature(token, WEBHOOK, params, "")
    assert not verify_signature("", WEBHOOK, params, signature)


def test_parse_inbound() -> None:
    params = twilio_inbound_params(RESIDENT, OURS, "2 😊", message_sid="SM" + "a" * 32)
    inbound = parse_inbound(params)
    assert inbound.channel == "sms"
    assert inbound.address == RESIDENT  # From: the resident
    assert inbound.text == "2 😊"
    assert inbound.provider_id == "SM" + "a" * 32
    assert inbound.button is None


@pytest.mark.parametrize("field", ["MessageSid", "From", "Body"])
def test_parse_inbound_missing_fields(field: str) -> None:
    params = twilio_inbound_params(RESIDENT, OURS, "hi")
    del params[field]
    if field == "MessageSid":
        del params["SmsSid"]
    with pytest.raises(BadWebhook, match=field):
        parse_inbound(params)


def test_parse_status() -> None:
    ok = twilio_status_callback_params("SM1", "delivered", from_=OURS, to=RESIDENT)
    assert parse_status(ok) == ("SM1", "delivered", None)
    failed = twilio_status_callback_params(
        "SM2", "undelivered", from_=OURS, to=RESIDENT, error_code=30003
    )
    assert parse_status(failed) == ("SM2", "undelivered", "30003")
    with pytest.raises(BadWebhook):
        parse_status({"MessageSid": "SM3"})
