"""Prove the fake provider servers work with the REAL client libraries.

twilio 9.x (``twilio.rest.Client`` over ``requests``) and python-telegram-bot 22.x (``Bot`` over
``httpx``) talk to the fakes over real sockets on 127.0.0.1; every injected fault must surface
as the exception the application will see in production. PTB is asyncio: tests drive it with
``asyncio.run`` (no pytest-asyncio). Nothing here sleeps: waits use the fakes' conditions and
hang tests use short client timeouts.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.telegram_api import (
    FakeTelegram,
    telegram_callback_update,
    telegram_text_update,
)
from tests.fakes.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    FakeTwilio,
    sms_segments,
    twilio_inbound_params,
    twilio_status_callback_params,
)

RESIDENT = "+15551230001"
OUR_NUMBER = "+15557650000"
SID_PATTERN = re.compile(r"^SM[0-9a-f]{32}$")


# --------------------------------------------------------------------------- Twilio


@pytest.fixture
def twilio_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(account_sid=DEFAULT_ACCOUNT_SID, auth_token=DEFAULT_AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
def twilio_client(twilio_fake: FakeTwilio) -> Client:
    """A real client pointed at the fake the documented way (hang tests use shorter timeouts)."""
    from twilio.http.http_client import TwilioHttpClient

    client = Client(
        DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, http_client=TwilioHttpClient(timeout=2)
    )
    client.api.base_url = twilio_fake.base_url
    return client


def _send(client: Client, body: str = "How was your week? Reply 1-5", to: str = RESIDENT) -> Any:
    return client.messages.create(
        to=to,
        from_=OUR_NUMBER,
        body=body,
        status_callback="https://example.org/twilio/status",
    )


def test_twilio_create_lands_in_fake_messages(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    message = _send(twilio_client)

    assert SID_PATTERN.match(message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.num_segments) == (RESIDENT, OUR_NUMBER, "1")
    assert message.account_sid == DEFAULT_ACCOUNT_SID
    assert message.direction == "outbound-api"
    assert message.date_sent is None
    assert abs(message.date_created - datetime.now(UTC)) < timedelta(seconds=5)
    (stored,) = twilio_fake.messages
    assert stored["sid"] == message.sid
    assert stored["body"] == "How was your week? Reply 1-5"
    assert stored["status_callback"] == "https://example.org/twilio/status"
    assert parsedate_to_datetime(stored["date_created"]).tzinfo is not None
    assert stored["uri"].endswith(f"/Messages/{message.sid}.json")


def test_twilio_messaging_service_send_is_accepted_without_from(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    message = twilio_client.messages.create(
        to=RESIDENT, messaging_service_sid="MG" + "1" * 32, body="Hi"
    )
    assert message.status == "accepted"
    assert message.from_ is None
    assert twilio_fake.messages[0]["messaging_service_sid"] == "MG" + "1" * 32


def test_twilio_segments_follow_gsm7_and_ucs2_rules(twilio_client: Client) -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("é" * 160) == 1  # é is in the GSM-7 alphabet
    assert sms_segments("[" * 80) == 1  # extension characters cost two septets
    assert sms_segments("[" * 81) == 2
    assert sms_segments("a" * 69 + "🙂") == 2  # an emoji takes two UTF-16 units
    assert _send(twilio_client, body="ł" * 71).num_segments == "2"


def test_twilio_wrong_credentials_get_401_with_twilio_error(twilio_fake: FakeTwilio) -> None:
    client = Client(DEFAULT_ACCOUNT_SID, "wrong-token")
    client.api.base_url = twilio_fake.base_url
    with pytest.raises(TwilioRestException) as caught:
        _send(client)
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert twilio_fake.messages == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": "", "from_": OUR_NUMBER, "body": "x"}, 21604),
        ({"to": RESIDENT, "body": "x"}, 21603),
        ({"to": RESIDENT, "from_": OUR_NUMBER}, 21602),
        ({"to": RESIDENT, "from_": OUR_NUMBER, "body": "x" * 1601}, 21617),
        ({"to": "555-1234", "from_": OUR_NUMBER, "body": "x"}, 21211),
    ],
)
def test_twilio_validation_errors_use_twilio_codes(
    twilio_client: Client, kwargs: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages.create(**kwargs)
    assert (caught.value.status, caught.value.code) == (400, code)


def test_twilio_fetch_and_list_show_what_was_sent(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    first = _send(twilio_client, body="one")
    _send(twilio_client, body="other resident", to="+15551230002")
    for body in ("two", "three"):
        _send(twilio_client, body=body)

    assert twilio_client.messages(first.sid).fetch().body == "one"
    listed = twilio_client.messages.list(to=RESIDENT, page_size=2)  # follows next_page_uri
    assert [m.body for m in listed] == ["three", "two", "one"]  # newest first
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_twilio_date_sent_filter_sees_only_messages_that_left_the_queue(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    queued = _send(twilio_client, body="queued")
    sent = _send(twilio_client, body="sent")
    twilio_fake.set_status(sent.sid, "delivered")
    since = datetime.now(UTC) - timedelta(minutes=5)

    listed = twilio_client.messages.list(to=RESIDENT, date_sent_after=since)

    assert [m.sid for m in listed] == [sent.sid]
    assert twilio_client.messages(sent.sid).fetch().date_sent is not None
    assert twilio_client.messages(queued.sid).fetch().status == "queued"
    assert twilio_client.messages.list(to=RESIDENT, date_sent_before=since) == []


def test_twilio_fail_next_gives_status_and_code_then_recovers(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    twilio_fake.fail_next(1, status=500)
    twilio_fake.fail_next(1, status=503)
    for status, code in ((500, 20500), (503, 20503)):
        with pytest.raises(TwilioRestException) as caught:
            _send(twilio_client)
        assert (caught.value.status, caught.value.code) == (status, code)
    assert twilio_fake.messages == []

    _send(twilio_client)  # faults are consumed: the next request goes through
    assert len(twilio_fake.messages) == 1
    assert [r.fault for r in twilio_fake.requests] == ["fail", "fail", None]


def test_twilio_rate_limit_has_retry_after_header_and_code_20429(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    twilio_fake.rate_limit_next(1, retry_after=7)
    with pytest.raises(TwilioRestException) as caught:
        _send(twilio_client)
    assert (caught.value.status, caught.value.code) == (429, 20429)
    last = twilio_client.http_client._test_only_last_response  # the raw response
    assert last is not None and last.headers["Retry-After"] == "7"


def test_twilio_opted_out_number_gets_21610(twilio_fake: FakeTwilio, twilio_client: Client) -> None:
    twilio_fake.opted_out(RESIDENT)
    with pytest.raises(TwilioRestException) as caught:
        _send(twilio_client)
    error = caught.value
    assert (error.status, error.code) == (400, 21610)
    assert "unsubscribed recipient" in error.msg
    assert twilio_fake.messages == []
    _send(twilio_client, to="+15551230002")  # others still get through


def test_twilio_drop_closes_connection_without_answer(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    twilio_fake.drop_next(1)
    twilio_fake.drop_next(1, accepted=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        _send(twilio_client, body="lost")
    assert twilio_fake.messages == []
    with pytest.raises(requests.exceptions.ConnectionError):
        _send(twilio_client, body="sent but unanswered")
    assert [m["body"] for m in twilio_fake.messages] == ["sent but unanswered"]


def test_twilio_hang_times_the_client_out_but_the_message_was_sent(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    impatient = twilio_fake.client(timeout=0.2)
    twilio_fake.hang_next(1, seconds=5)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _send(impatient, body="did it go?")
    assert time.monotonic() - started < 1.5
    # The sender can find out what really happened before retrying.
    assert [m.body for m in twilio_client.messages.list(to=RESIDENT)] == ["did it go?"]


def test_twilio_faults_can_target_one_operation(
    twilio_fake: FakeTwilio, twilio_client: Client
) -> None:
    twilio_fake.fail_next(1, status=500, only="create")
    assert twilio_client.messages.list(to=RESIDENT) == []  # a GET does not consume it
    with pytest.raises(TwilioRestException):
        _send(twilio_client)
    assert twilio_fake.pending_faults == []


def test_twilio_close_releases_a_hung_request_promptly() -> None:
    fake = FakeTwilio().start()
    client = fake.client(timeout=10)
    fake.hang_next(1, seconds=30)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            _send(client)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=send)
    worker.start()
    fake.wait_for_requests(1, operation="create")
    started = time.monotonic()
    fake.close()
    worker.join(timeout=5)
    assert time.monotonic() - started < 1.5
    assert not worker.is_alive()
    assert isinstance(errors[0], requests.exceptions.ConnectionError)


def test_twilio_wait_for_messages_wakes_on_send_and_times_out_loudly(
    twilio_fake: FakeTwilio,
) -> None:
    client = twilio_fake.client()
    workers = [threading.Thread(target=_send, args=(client, f"#{i}")) for i in range(8)]
    for worker in workers:
        worker.start()
    messages = twilio_fake.wait_for_messages(8)
    for worker in workers:
        worker.join()
    assert len({m["sid"] for m in messages}) == 8
    with pytest.raises(AssertionError, match="9 accepted message"):
        twilio_fake.wait_for_messages(9, timeout=0.05)


def test_twilio_inbound_params_are_complete_and_signable() -> None:
    params = twilio_inbound_params(RESIDENT, OUR_NUMBER, "3", account_sid=DEFAULT_ACCOUNT_SID)
    for name in (
        "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "From", "To", "Body",
        "NumMedia", "NumSegments", "SmsStatus", "ApiVersion", "FromCity", "FromState",
        "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry",
    ):  # fmt: skip
        assert isinstance(params[name], str), name
    assert SID_PATTERN.match(params["MessageSid"])
    assert params["MessageSid"] == params["SmsSid"]
    assert (params["SmsStatus"], params["FromCountry"], params["NumSegments"]) == (
        "received",
        "US",
        "1",
    )
    assert "MessagingServiceSid" not in params
    with_service = twilio_inbound_params(
        "+447700900123", OUR_NUMBER, "STOP", "SM" + "a" * 32, messaging_service_sid="MG1"
    )
    assert (with_service["MessagingServiceSid"], with_service["FromCountry"]) == ("MG1", "GB")

    url = "https://groundswell.example.org/webhooks/twilio/sms"
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    signature = validator.compute_signature(url, params)
    assert validator.validate(url, params, signature)

    callback = twilio_status_callback_params(
        params["MessageSid"], "undelivered", from_=OUR_NUMBER, to=RESIDENT, error_code=30003
    )
    assert (callback["MessageStatus"], callback["ErrorCode"]) == ("undelivered", "30003")


# --------------------------------------------------------------------------- Telegram

TOKEN = "123:ABC"
CHAT = 4242


@pytest.fixture
def tg_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        yield fake


def _bot(fake: FakeTelegram, read_timeout: float = 2.0) -> Bot:
    """A real Bot pointed at the fake the documented way (hang tests pass a short timeout)."""
    from telegram.request import HTTPXRequest

    return Bot(
        TOKEN,
        base_url=fake.base_url + "/bot",
        request=HTTPXRequest(read_timeout=read_timeout),
        get_updates_request=HTTPXRequest(read_timeout=read_timeout),
    )


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 deprecates the int form; accept either
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def test_telegram_initialize_calls_get_me(tg_fake: FakeTelegram) -> None:
    async def main() -> Bot:
        async with _bot(tg_fake) as bot:
            return bot

    bot = asyncio.run(main())
    assert (bot.id, bot.username) == (123, "groundswell_test_bot")
    assert [r.operation for r in tg_fake.requests] == ["getMe"]


def test_telegram_wrong_token_is_invalid_token(tg_fake: FakeTelegram) -> None:
    async def main() -> None:
        async with Bot("999:WRONG", base_url=tg_fake.bot_base_url):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(main())


def test_telegram_send_message_with_inline_keyboard(tg_fake: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Better", callback_data="q1:up")],
         [InlineKeyboardButton("Worse", callback_data="q1:down")]]
    )  # fmt: skip

    async def main() -> list[Any]:
        async with _bot(tg_fake) as bot:
            return [
                await bot.send_message(CHAT, "How is the street lighting?", reply_markup=keyboard),
                await bot.send_message(CHAT, "Thanks!"),
                await bot.send_message(777, "Other chat"),
            ]

    first, second, other = asyncio.run(main())
    assert first.reply_markup == keyboard
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.from_user is not None and first.from_user.is_bot
    assert first.chat.id == CHAT and first.chat.type == "private"
    sent = tg_fake.wait_for_sent(3)
    assert sent[0]["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "Better", "callback_data": "q1:up"}],
            [{"text": "Worse", "callback_data": "q1:down"}],
        ]
    }
    assert isinstance(sent[0]["params"]["reply_markup"], str)  # arrived as a JSON string
    assert (sent[0]["chat_id"], sent[0]["text"]) == (CHAT, "How is the street lighting?")
    assert sent[1]["reply_markup"] is None


def test_telegram_reply_keyboard_is_recorded_but_not_echoed(tg_fake: FakeTelegram) -> None:
    async def main() -> Any:
        async with _bot(tg_fake) as bot:
            markup = ReplyKeyboardMarkup([["1", "2", "3"]], one_time_keyboard=True)
            return await bot.send_message(CHAT, "Rate 1-3", reply_markup=markup)

    message = asyncio.run(main())
    assert message.reply_markup is None
    assert tg_fake.sent[0]["reply_markup"]["keyboard"] == [[{"text": t} for t in "123"]]


def test_telegram_text_limit_is_4096(tg_fake: FakeTelegram) -> None:
    async def main() -> None:
        async with _bot(tg_fake) as bot:
            await bot.send_message(CHAT, "x" * 4096)
            await bot.send_message(CHAT, "x" * 4097)

    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        asyncio.run(main())
    assert len(tg_fake.sent) == 1


def test_telegram_send_photo_multipart(tg_fake: FakeTelegram) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))

    async def main() -> Any:
        async with _bot(tg_fake) as bot:
            return await bot.send_photo(CHAT, photo=png, caption="Your street this month")

    message = asyncio.run(main())
    assert message.caption == "Your street this month"
    assert message.photo and message.photo[-1].width == 1280
    (record,) = tg_fake.sent
    assert (record["method"], record["photo"]) == ("sendPhoto", png)


def test_telegram_json_body_is_accepted_too(tg_fake: FakeTelegram) -> None:
    payload = {
        "chat_id": CHAT,
        "text": "json",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    }
    request = urllib.request.Request(
        f"{tg_fake.bot_base_url}{TOKEN}/sendMessage",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        answer = json.load(response)
    assert answer["ok"] is True
    assert answer["result"]["reply_markup"] == payload["reply_markup"]
    assert tg_fake.sent[0]["reply_markup"] == payload["reply_markup"]


def test_telegram_answer_callback_query_and_edit(tg_fake: FakeTelegram) -> None:
    async def main() -> None:
        async with _bot(tg_fake) as bot:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
            sent = await bot.send_message(CHAT, "Still there?", reply_markup=keyboard)
            assert await bot.answer_callback_query("cbq-1", text="Noted")
            edited = await bot.edit_message_text("Still there? Yes", CHAT, sent.message_id)
            assert edited.text == "Still there? Yes" and edited.reply_markup is None
            with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
                await bot.edit_message_text("Still there? Yes", CHAT, sent.message_id)

    asyncio.run(main())
    (answer,) = tg_fake.wait_for_callback_answers(1)
    assert (answer["callback_query_id"], answer["text"]) == ("cbq-1", "Noted")
    assert tg_fake.edits[0]["method"] == "editMessageText"


def test_telegram_webhook_life_cycle(tg_fake: FakeTelegram) -> None:
    async def main() -> None:
        async with _bot(tg_fake) as bot:
            with pytest.raises(BadRequest, match=r"(?i)https url"):
                await bot.set_webhook("http://insecure.example.org/hook")
            assert await bot.set_webhook(
                "https://groundswell.example.org/webhooks/telegram", secret_token="s3cret_-X"
            )
            info = await bot.get_webhook_info()
            assert info.url == "https://groundswell.example.org/webhooks/telegram"
            with pytest.raises(Conflict):
                await bot.get_updates()
            assert await bot.delete_webhook()
            assert (await bot.get_webhook_info()).url == ""

    tg_fake.push_update(telegram_text_update(1, CHAT, "hi"))
    asyncio.run(main())
    assert tg_fake.webhook is None


def test_telegram_get_updates_honours_offset(tg_fake: FakeTelegram) -> None:
    tg_fake.push_update(telegram_text_update(10, CHAT, "/start abc123"))
    tg_fake.push_update(telegram_callback_update(11, CHAT, "q1:up", message_id=1))

    async def main() -> tuple[tuple[Update, ...], ...]:
        async with _bot(tg_fake) as bot:
            first = await bot.get_updates(timeout=0)
            again = await bot.get_updates(offset=11, timeout=0)
            drained = await bot.get_updates(offset=12, timeout=0)
            return first, again, drained

    first, again, drained = asyncio.run(main())
    assert [u.update_id for u in first] == [10, 11]
    assert first[0].message is not None and first[0].message.text == "/start abc123"
    assert first[1].callback_query is not None and first[1].callback_query.data == "q1:up"
    assert [u.update_id for u in again] == [11]
    assert drained == ()
    assert tg_fake.pending_updates == []


def test_telegram_long_poll_wakes_when_an_update_is_pushed(tg_fake: FakeTelegram) -> None:
    async def main() -> tuple[tuple[Update, ...], float]:
        async with _bot(tg_fake) as bot:
            started = time.monotonic()
            poll = asyncio.create_task(bot.get_updates(timeout=5))
            await asyncio.to_thread(tg_fake.wait_for_pollers, 1)
            tg_fake.push_update(telegram_text_update(1, CHAT, "3"))
            updates = await poll
            return updates, time.monotonic() - started

    updates, elapsed = asyncio.run(main())
    assert [u.message.text for u in updates if u.message] == ["3"]
    assert elapsed < 1.5


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_telegram_rate_limit_raises_retry_after(tg_fake: FakeTelegram) -> None:
    tg_fake.rate_limit_next(1, retry_after=3, only="sendMessage")

    async def main() -> None:
        async with _bot(tg_fake) as bot:  # getMe is not rate limited: only= targets sends
            await bot.send_message(CHAT, "hi")

    with pytest.raises(RetryAfter) as caught:
        asyncio.run(main())
    assert _retry_after_seconds(caught.value) == 3
    assert tg_fake.requests[-1].status == 429


def test_telegram_server_error_is_network_error(tg_fake: FakeTelegram) -> None:
    tg_fake.fail_next(1, status=500, only="sendMessage")

    async def main() -> Any:
        async with _bot(tg_fake) as bot:
            with pytest.raises(NetworkError) as caught:
                await bot.send_message(CHAT, "hi")
            assert not isinstance(caught.value, TimedOut)
            return await bot.send_message(CHAT, "again")  # the fault was consumed

    assert asyncio.run(main()).text == "again"
    assert [s["text"] for s in tg_fake.sent] == ["again"]


@pytest.mark.parametrize(
    ("mark", "description"),
    [
        ("blocked", "Forbidden: bot was blocked by the user"),
        ("deactivated", "Forbidden: user is deactivated"),
    ],
)
def test_telegram_blocked_and_deactivated_are_forbidden(
    tg_fake: FakeTelegram, mark: str, description: str
) -> None:
    getattr(tg_fake, mark)(CHAT)

    async def main() -> None:
        async with _bot(tg_fake) as bot:
            await bot.send_message(777, "others are fine")
            await bot.send_message(CHAT, "hi")

    with pytest.raises(Forbidden) as caught:
        asyncio.run(main())
    assert caught.value.message == description
    assert [s["chat_id"] for s in tg_fake.sent] == [777]


def test_telegram_drop_is_network_error(tg_fake: FakeTelegram) -> None:
    tg_fake.drop_next(1, only="sendMessage")

    async def main() -> None:
        async with _bot(tg_fake) as bot:
            await bot.send_message(CHAT, "hi")

    with pytest.raises(NetworkError) as caught:
        asyncio.run(main())
    assert not isinstance(caught.value, TimedOut)
    assert tg_fake.sent == []


def test_telegram_hang_is_timed_out_but_the_message_was_sent(tg_fake: FakeTelegram) -> None:
    tg_fake.hang_next(1, seconds=5, only="sendMessage")

    async def main() -> None:
        async with _bot(tg_fake, read_timeout=0.2) as bot:
            await bot.send_message(CHAT, "did it go?")

    started = time.monotonic()
    with pytest.raises(TimedOut):
        asyncio.run(main())
    assert time.monotonic() - started < 1.5
    assert [s["text"] for s in tg_fake.sent] == ["did it go?"]


def test_telegram_update_helpers_parse_with_ptb() -> None:
    bot = Bot(TOKEN)
    text = Update.de_json(telegram_text_update(5, CHAT, "/start CODE42", first_name="Ana"), bot)
    assert text.message is not None and text.effective_user is not None
    assert text.effective_user.first_name == "Ana" and text.effective_chat.id == CHAT
    assert text.message.entities[0].type == "bot_command"
    assert text.message.parse_entities(["bot_command"]) != {}

    press = Update.de_json(telegram_callback_update(6, CHAT, "q2:3", message_id=9), bot)
    query = press.callback_query
    assert query is not None and query.data == "q2:3"
    assert query.message is not None and query.message.message_id == 9
    assert query.message.from_user is not None and query.message.from_user.id == 123
    with pytest.raises(ValueError):
        telegram_callback_update(7, CHAT, "x" * 65, message_id=1)
