"""The Telegram adapter against FakeTelegram with the real python-telegram-bot client:
sending, inline keyboards, long texts and photos, error mapping, and parsing updates."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels import telegram as tg
from bot.channels.base import BadWebhook, OutboundMessage, Sender, SendError
from bot.channels.telegram import (
    TelegramSender,
    TelegramSettings,
    button_value,
    callback_data,
    parse_update,
    secret_ok,
)
from survey_flows.engine_values import Option
from tests.fakes import FakeTelegram, telegram_callback_update, telegram_text_update

# PTB 22 itself warns, when it builds a RetryAfter, that retry_after will become a timedelta;
# the adapter handles both types.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

CHAT = 4242
CHOICES = (Option("better", "Better"), Option("same", "Same"), Option("worse", "Worse"))


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def settings_for(fake: FakeTelegram, token: str | None = None) -> TelegramSettings:
    return TelegramSettings(
        token=token or fake.token, webhook_secret="s3cret", api_url=fake.base_url
    )


@pytest.fixture
def sender(fake: FakeTelegram) -> Iterator[TelegramSender]:
    with TelegramSender(settings_for(fake), timeout=5) as sender:
        yield sender


@pytest.fixture
def impatient(fake: FakeTelegram) -> Iterator[TelegramSender]:
    """A sender whose requests time out after 0.2 s (for hung requests)."""
    with TelegramSender(settings_for(fake), timeout=0.2) as sender:
        yield sender


def tg_message(body: str = "How was your week?", **changes: Any) -> OutboundMessage:
    return OutboundMessage(channel="telegram", address=str(CHAT), body=body, key="k1", **changes)


def keyboard_data(record: dict[str, Any]) -> list[list[str]]:
    markup = record["reply_markup"]
    return [[button["callback_data"] for button in row] for row in markup["inline_keyboard"]]


# --- settings and secrets ----------------------------------------------------------------


def test_settings_from_env_hide_secrets() -> None:
    settings = TelegramSettings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "999:SECRET-TOKEN",
            "TELEGRAM_WEBHOOK_SECRET": "hook-secret",
            "TELEGRAM_API_URL": "http://127.0.0.1:9",
        }
    )
    assert settings.configured
    assert settings.api_url == "http://127.0.0.1:9"
    assert "SECRET-TOKEN" not in repr(settings) and "hook-secret" not in repr(settings)
    assert not TelegramSettings.from_env({}).configured
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        TelegramSender(TelegramSettings())


def test_secret_ok() -> None:
    assert secret_ok("s3cret", "s3cret")
    assert not secret_ok("s3cret", "s3cre")
    assert not secret_ok("s3cret", None)
    assert not secret_ok("", "")  # no secret configured never lets anyone in
    assert not secret_ok(None, "x")


def test_sender_satisfies_the_protocol(sender: TelegramSender) -> None:
    assert isinstance(sender, Sender)
    assert sender.channel == "telegram"
    assert tg.TRAITS.confirms_opt_out is False


# --- sending -----------------------------------------------------------------------


def test_send_text(fake: FakeTelegram, sender: TelegramSender) -> None:
    first = sender.send(tg_message())
    second = sender.send(tg_message("Thanks!"))
    sent = fake.sent
    assert [s["text"] for s in sent] == ["How was your week?", "Thanks!"]
    assert [s["chat_id"] for s in sent] == [CHAT, CHAT]
    assert sent[0]["reply_markup"] is None
    assert first.provider_id == f"{CHAT}:{sent[0]['message']['message_id']}"
    assert second.provider_id != first.provider_id
    assert [r.operation for r in fake.requests].count("getMe") == 1  # initialised once


def test_options_arrive_as_inline_keyboard(fake: FakeTelegram, sender: TelegramSender) -> None:
    sender.send(tg_message("Compared to last week?", options=CHOICES))
    (record,) = fake.sent
    assert record["text"] == "Compared to last week?"  # buttons, not a numbered list
    assert keyboard_data(record) == [["better", "same", "worse"]]
    labels = [b["text"] for row in record["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Better", "Same", "Worse"]


def test_long_or_awkward_values_are_sent_by_position(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    long_value = "é" * 40  # 80 bytes of UTF-8: over Telegram's 64
    options = (
        Option("ok", "Fine"),
        Option(long_value, "A much longer label for the second option"),
        Option("#1", "Hash"),
        Option("", "Empty"),
    )
    sender.send(tg_message("Pick", options=options))
    (record,) = fake.sent
    data = keyboard_data(record)
    assert data == [["ok"], ["#2"], ["#3"], ["#4"]]  # one per row: long labels
    assert [button_value(options, d) for (d,) in data] == ["ok", long_value, "#1", ""]
    assert callback_data(options) == [d for (d,) in data]


def test_button_value_leaves_unknown_data_alone() -> None:
    assert button_value(CHOICES, "worse") == "worse"
    assert button_value(CHOICES, "#2") == "same"
    assert button_value(CHOICES, "#9") == "#9"
    assert button_value(CHOICES, "#0") == "#0"
    assert button_value((), "#1") == "#1"


def test_ten_thousand_characters_are_split(fake: FakeTelegram, sender: TelegramSender) -> None:
    lines = [f"Line {i}: " + " ".join(["some words"] * 5) for i in range(200)]
    body = "\n".join(lines)[:10_000]
    result = sender.send(tg_message(body, options=CHOICES[:2]))
    sent = fake.sent
    assert len(sent) == 3
    assert all(len(s["text"]) <= 4096 for s in sent)
    assert "\n".join(s["text"] for s in sent) == body  # cut at line breaks only
    assert [s["reply_markup"] is not None for s in sent] == [False, False, True]
    assert result.provider_id == f"{CHAT}:{sent[0]['message']['message_id']}"


def test_emoji_count_double_toward_the_limit(fake: FakeTelegram, sender: TelegramSender) -> None:
    body = "🌱" * 3000  # 6,000 UTF-16 units, no spaces to cut at
    sender.send(tg_message(body))
    sent = fake.sent
    assert len(sent) == 2
    assert "".join(s["text"] for s in sent) == body


def test_photo_with_caption_and_buttons(fake: FakeTelegram, sender: TelegramSender) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    sender.send(tg_message("Your week in a chart", photo=png, options=CHOICES[:2]))
    (record,) = fake.sent
    assert record["method"] == "sendPhoto"
    assert record["photo"] == png
    assert record["caption"] == "Your week in a chart"
    assert keyboard_data(record) == [["better", "same"]]


def test_long_caption_continues_in_a_message(fake: FakeTelegram, sender: TelegramSender) -> None:
    body = " ".join(f"w{i}" for i in range(1500))  # about 7,800 characters
    result = sender.send(tg_message(body, photo=b"img", options=CHOICES))
    photo, *rest = fake.sent
    assert photo["method"] == "sendPhoto" and 1000 < len(photo["caption"]) <= 1024
    assert [r["method"] for r in rest] == ["sendMessage", "sendMessage"]
    assert [r["reply_markup"] is not None for r in (photo, *rest)] == [False, False, True]
    assert " ".join([photo["caption"], *(r["text"] for r in rest)]) == body
    assert result.provider_id == f"{CHAT}:{photo['message']['message_id']}"


def test_empty_text_is_permanent_without_a_request(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    with pytest.raises(SendError) as caught:
        sender.send(tg_message(" \n "))
    assert not caught.value.retryable
    assert fake.requests == []


def test_find_sent_cannot_tell(fake: FakeTelegram, sender: TelegramSender) -> None:
    sender.send(tg_message())
    assert sender.find_sent(tg_message(), datetime(2020, 1, 1, tzinfo=UTC)) is None


def test_answer_callback(fake: FakeTelegram, sender: TelegramSender) -> None:
    sender.answer_callback("cbq-1")
    (answer,) = fake.wait_for_callback_answers(1)
    assert answer["callback_query_id"] == "cbq-1"


def test_token_never_reaches_the_logs(
    fake: FakeTelegram, sender: TelegramSender, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        sender.send(tg_message())
    assert "api.telegram.org" not in caplog.text
    assert "sendMessage" in caplog.text  # httpx did log the request...
    assert fake.token not in caplog.text  # ...without the token


def test_closed_sender_refuses_work(fake: FakeTelegram) -> None:
    sender = TelegramSender(settings_for(fake))
    sender.send(tg_message())
    sender.close()
    sender.close()
    with pytest.raises(RuntimeError):
        sender.send(tg_message())


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors_are_retryable(
    fake: FakeTelegram, sender: TelegramSender, status: int
) -> None:
    fake.fail_next(1, status, only="sendMessage")
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    assert caught.value.retryable and not caught.value.opted_out
    assert caught.value.code == str(status)
    sender.send(tg_message())
    assert len(fake.sent) == 1


def test_flood_control_is_retryable_after_the_given_time(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    fake.rate_limit_next(1, retry_after=7, only="sendMessage")
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    assert caught.value.retryable
    assert caught.value.retry_after == 7


def test_hung_request_times_out_as_retryable(fake: FakeTelegram, impatient: TelegramSender) -> None:
    impatient.send(tg_message("warm up"))  # getMe done: only sendMessage hangs
    fake.hang_next(1, 5, accepted=True, only="sendMessage")
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        impatient.send(tg_message())
    assert time.monotonic() - started < 2
    assert caught.value.retryable
    assert impatient.find_sent(tg_message(), datetime.now(UTC)) is None  # cannot tell


def test_dropped_connection_is_retryable(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.drop_next(1, only="sendMessage")
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    assert caught.value.retryable


def test_failed_initialisation_is_retryable_and_retried(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    fake.fail_next(1, 500, only="getMe")
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    assert caught.value.retryable
    sender.send(tg_message())
    assert len(fake.sent) == 1


@pytest.mark.parametrize("block", ["blocked", "deactivated"])
def test_blocked_or_deleted_user_is_opted_out(
    fake: FakeTelegram, sender: TelegramSender, block: str
) -> None:
    getattr(fake, block)(CHAT)
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    error = caught.value
    assert error.opted_out and not error.retryable
    assert error.code == "403"


def test_other_forbidden_is_permanent(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.fail_next(1, 403, message="Forbidden: bot can't initiate conversation with a user")
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    assert not caught.value.opted_out and not caught.value.retryable


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        (lambda fake: fake.chat_not_found(CHAT), "400"),
        (
            lambda fake: fake.fail_next(1, 400, message="Bad Request: wrong", only="sendMessage"),
            "400",
        ),
        (lambda fake: fake.fail_next(1, 413, only="sendMessage"), "413"),
    ],
)
def test_client_errors_are_permanent(
    fake: FakeTelegram, sender: TelegramSender, arrange: Any, code: str
) -> None:
    arrange(fake)
    with pytest.raises(SendError) as caught:
        sender.send(tg_message())
    error = caught.value
    assert not error.retryable and not error.opted_out
    assert error.code == code


def test_wrong_token_is_permanent(fake: FakeTelegram) -> None:
    with (
        TelegramSender(settings_for(fake, token="999:WRONG")) as sender,
        pytest.raises(SendError) as caught,
    ):
        sender.send(tg_message())
    assert caught.value.code == "401" and not caught.value.retryable


def test_bad_address_is_permanent(sender: TelegramSender) -> None:
    with pytest.raises(SendError) as caught:
        sender.send(OutboundMessage("telegram", "+15551230001", "Hi"))
    assert not caught.value.retryable


def test_retry_resumes_a_split_message_after_the_parts_already_sent(
    fake: FakeTelegram, sender: TelegramSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "\n".join(f"Line {i} " + "x" * 50 for i in range(200))  # three parts
    real_post = sender._post
    calls = []

    def post(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            fake.rate_limit_next(1, retry_after=3, only="sendMessage")
        return real_post(*args)

    monkeypatch.setattr(sender, "_post", post)
    with pytest.raises(SendError) as caught:
        sender.send(tg_message(body, options=CHOICES))
    first = f"{CHAT}:{fake.sent[0]['message']['message_id']}"
    assert caught.value.retryable and caught.value.retry_after == 3
    assert caught.value.partial_id == first
    assert sender.send(tg_message(body, options=CHOICES)).provider_id == first
    texts = [s["text"] for s in fake.sent]
    assert len(texts) == 3 == len(set(texts))
    assert "\n".join(texts) == body


# --- parsing updates ---------------------------------------------------------------


def test_parse_text_update() -> None:
    inbound = parse_update(telegram_text_update(1001, CHAT, "3 🙂", first_name="Ana"))
    assert inbound is not None
    assert (inbound.channel, inbound.address, inbound.text) == ("telegram", str(CHAT), "3 🙂")
    assert inbound.provider_id == "1001"
    assert inbound.display_name == "Ana"
    assert inbound.button is None and inbound.callback_query_id is None


def test_parse_start_command_keeps_its_text() -> None:
    inbound = parse_update(telegram_text_update(1002, CHAT, "/start JOIN42"))
    assert inbound is not None and inbound.text == "/start JOIN42"


def test_parse_callback_update() -> None:
    update = telegram_callback_update(1003, CHAT, "#2", 17, callback_id="cbq-9", first_name="Ana")
    inbound = parse_update(update)
    assert inbound is not None
    assert inbound.address == str(CHAT)
    assert inbound.text == ""
    assert inbound.button == "#2"
    assert inbound.callback_query_id == "cbq-9"
    assert inbound.callback_message_id == 17
    assert inbound.provider_id == "1003"
    assert inbound.display_name == "Ana"


def _message(chat: dict[str, Any], **content: Any) -> dict[str, Any]:
    return {"message_id": 5, "date": 1_700_000_000, "chat": chat, **content}


PRIVATE = {"id": CHAT, "type": "private", "first_name": "Ana"}
USER = {"id": CHAT, "is_bot": False, "first_name": "Ana"}


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "edited_message": {**_message(PRIVATE, text="4"), "edit_date": 1}},
        {
            "update_id": 2,
            "message": _message(
                PRIVATE,
                **{"from": USER},
                sticker={
                    "file_id": "CAAC",
                    "file_unique_id": "AgAD",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            ),
        },
        {
            "update_id": 3,
            "channel_post": _message(
                {"id": -1001234, "type": "channel", "title": "News"}, text="hello"
            ),
        },
        {
            "update_id": 4,
            "message": _message(
                {"id": -555, "type": "group", "title": "Residents"}, **{"from": USER}, text="3"
            ),
        },
        {
            "update_id": 5,
            "my_chat_member": {
                "chat": PRIVATE,
                "from": USER,
                "date": 1_700_000_000,
                "old_chat_member": {"status": "member", "user": USER},
                "new_chat_member": {"status": "kicked", "user": USER, "until_date": 0},
            },
        },
        {"update_id": 6},
    ],
    ids=["edited", "sticker", "channel_post", "group", "my_chat_member", "empty"],
)
def test_updates_we_ignore(update: dict[str, Any]) -> None:
    assert parse_update(update) is None


@pytest.mark.parametrize(
    "update",
    [
        [],
        "garbage",
        {},
        {"update_id": "7"},
        {"update_id": True},
        {"update_id": 8, "message": "x"},
        {"update_id": 9, "message": {"text": "hi"}},
        {"update_id": 10, "message": _message({"id": "abc", "type": "private"}, text="hi")},
        {"update_id": 11, "message": _message(PRIVATE, text=5)},
        {"update_id": 12, "message": _message(7, text="hi")},
        {"update_id": 13, "callback_query": {"id": "1"}},
    ],
)
def test_malformed_updates_are_bad_webhooks(update: Any) -> None:
    with pytest.raises(BadWebhook):
        parse_update(update)
