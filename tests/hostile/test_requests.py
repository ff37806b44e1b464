"""Forged, replayed, oversize and malformed webhook requests.

- A valid Twilio signature replayed with any change to the request (a field changed,
  added or removed; another path; another public URL; another account's token) is 403,
  and stores nothing.
- The identical signed request replayed (one after another, or at once from many
  threads) is handled exactly once: one inbound message, one answer, one reply queued.
- Telegram secrets that are almost ours are 403; an update replayed is handled once.
- Bodies over 64 KiB are 413 before anything is read into the database; malformed JSON and
  form data are 400 or 403; other methods are 405. Never a 500 or a traceback.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from tests.fakes import telegram_text_update, twilio_inbound_params
from tests.hostile.test_webhook_fuzz import (
    SECRET_HEADER,
    SMS_PATH,
    STATUS_PATH,
    TELEGRAM_PATH,
    assert_plain_answer,
)
from tests.web.conftest import (
    AUTH_TOKEN,
    CHAT_ID,
    OUR_NUMBER,
    PUBLIC_URL,
    RESIDENT,
    SMS_URL,
    TELEGRAM_SECRET,
    answers,
    counts,
    sign,
)

LIMIT = 64 * 1024


def _signed(params: dict[str, str], url: str = SMS_URL) -> dict[str, str]:
    return {"X-Twilio-Signature": sign(params, url)}


def _answer_sms(body: str = "7", sid: str = "SM" + "a" * 32) -> dict[str, str]:
    return twilio_inbound_params(RESIDENT, OUR_NUMBER, body, message_sid=sid)


# --- Twilio: a valid signature on anything else -----------------------------------------


def _tampered() -> list[tuple[str, Any]]:
    """(name, how to change the signed params) for a replay with a changed request."""
    return [
        ("body changed", lambda p: {**p, "Body": "8"}),
        ("sender changed", lambda p: {**p, "From": "+447700900999"}),
        ("sid changed", lambda p: {**p, "MessageSid": "SM" + "b" * 32}),
        ("field added", lambda p: {**p, "Extra": "1"}),
        ("field removed", lambda p: {k: v for k, v in p.items() if k != "NumMedia"}),
        ("body with a space", lambda p: {**p, "Body": p["Body"] + " "}),
        ("field emptied", lambda p: {**p, "Body": ""}),
    ]


def test_a_signature_replayed_on_a_changed_request_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    params = _answer_sms()
    signature = sign(params)
    before = counts(sessions)

    for name, change in _tampered():
        response = client.post(
            SMS_PATH, data=change(params), headers={"X-Twilio-Signature": signature}
        )
        assert_plain_answer(response, {403}, name)

    assert counts(sessions) == before


_ELSEWHERE = [
    ("the status path", PUBLIC_URL + STATUS_PATH, AUTH_TOKEN),
    ("http instead of https", SMS_URL.replace("https://", "http://"), AUTH_TOKEN),
    ("another host", SMS_URL.replace("groundswell", "evil"), AUTH_TOKEN),
    ("a trailing slash", SMS_URL + "/", AUTH_TOKEN),
    ("a query string", SMS_URL + "?x=1", AUTH_TOKEN),
    ("an explicit port", SMS_URL.replace(".org/", ".org:443/"), "x" + AUTH_TOKEN[1:]),
    ("another account's token", SMS_URL, AUTH_TOKEN[::-1]),
    ("an empty token", SMS_URL, ""),
]


def test_a_signature_for_another_url_or_token_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    params = _answer_sms()
    before = counts(sessions)

    for where, url, token in _ELSEWHERE:
        signature = RequestValidator(token).compute_signature(url, params)
        response = client.post(SMS_PATH, data=params, headers={"X-Twilio-Signature": signature})
        assert_plain_answer(response, {403}, where)

    assert counts(sessions) == before


_MANGLED = {
    "leading space": lambda s: " " + s,
    "padding": lambda s: s + "=",
    "lower case": lambda s: s.lower(),
    "truncated": lambda s: s[:-2],
    "hex": lambda s: s.encode().hex(),
    "empty": lambda s: "",
}


def test_a_mangled_signature_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    params = _answer_sms()
    before = counts(sessions)

    for name, mangle in _MANGLED.items():
        response = client.post(
            SMS_PATH, data=params, headers={"X-Twilio-Signature": mangle(sign(params))}
        )
        assert_plain_answer(response, {403}, name)

    assert counts(sessions) == before


# --- replays of the identical request -------------------------------------------------------


def test_an_identical_signed_request_replayed_is_handled_once(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    sms_resident, _ = residents
    params = _answer_sms("7")
    before = counts(sessions)

    statuses = [
        client.post(SMS_PATH, data=params, headers=_signed(params)).status_code for _ in range(5)
    ]

    after = counts(sessions)
    assert statuses == [200] * 5
    assert answers(sessions, sms_resident) == {"life_satisfaction": 7}
    assert after["messages"] == before["messages"] + 2  # the message and the next question
    assert after["outbox"] == before["outbox"] + 1


def test_an_identical_signed_request_sent_at_once_from_many_threads_is_handled_once(
    app: Flask, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    sms_resident, _ = residents
    params = _answer_sms("6")
    before = counts(sessions)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def deliver() -> None:
        with app.test_client() as own:
            start.wait()
            statuses.append(own.post(SMS_PATH, data=params, headers=_signed(params)).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    after = counts(sessions)
    assert statuses == [200] * 8
    assert answers(sessions, sms_resident) == {"life_satisfaction": 6}
    assert after["messages"] == before["messages"] + 2
    assert after["outbox"] == before["outbox"] + 1


def test_a_telegram_update_replayed_is_handled_once(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    _, telegram_resident = residents
    update = telegram_text_update(4711, CHAT_ID, "9")
    before = counts(sessions)

    statuses = [
        client.post(
            TELEGRAM_PATH, data=json.dumps(update), headers={SECRET_HEADER: TELEGRAM_SECRET}
        ).status_code
        for _ in range(4)
    ]

    assert statuses == [200] * 4
    assert answers(sessions, telegram_resident) == {"life_satisfaction": 9}
    assert counts(sessions)["messages"] == before["messages"] + 2


# --- Telegram: secrets that are almost ours -------------------------------------------------


_ALMOST = [
    TELEGRAM_SECRET.upper(),
    TELEGRAM_SECRET[:-1],
    TELEGRAM_SECRET + "x",
    " " + TELEGRAM_SECRET,
    TELEGRAM_SECRET + " ",
    TELEGRAM_SECRET.replace("e", "е"),  # a Cyrillic e
    "",
    f"{TELEGRAM_SECRET}, {TELEGRAM_SECRET}",
]


def test_a_secret_that_is_almost_ours_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    before = counts(sessions)

    for secret in _ALMOST:
        response = client.post(
            TELEGRAM_PATH,
            data=json.dumps(telegram_text_update(77, CHAT_ID, "5")),
            headers={SECRET_HEADER: secret.encode("utf-8").decode("latin-1")},
        )
        assert_plain_answer(response, {403}, repr(secret))

    assert counts(sessions) == before


# --- oversize, malformed, wrong methods -------------------------------------------------------


def test_bodies_over_64_kib_are_refused_before_anything_is_stored(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    before = counts(sessions)

    for path in (SMS_PATH, STATUS_PATH, TELEGRAM_PATH):
        for credentials in (False, True):
            if path == TELEGRAM_PATH:
                body = json.dumps(telegram_text_update(5, CHAT_ID, "x" * LIMIT)).encode()
                headers = {"Content-Type": "application/json"}
                if credentials:
                    headers[SECRET_HEADER] = TELEGRAM_SECRET
            else:
                params = _answer_sms("x" * LIMIT)
                body = "&".join(f"{k}={v}" for k, v in params.items()).encode()
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                if credentials:
                    headers.update(_signed(params, PUBLIC_URL + path))
            response = client.post(path, data=body, headers=headers)
            # Without credentials, Telegram's secret is checked before the body is read.
            allowed = {413} if credentials or path != TELEGRAM_PATH else {403, 413}
            assert_plain_answer(response, allowed, f"{path} credentials={credentials}")

    assert counts(sessions) == before


def test_many_small_fields_within_the_limit_are_refused_or_handled(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    params = {**_answer_sms(), **{f"f{n}": "x" for n in range(4000)}}

    signed = client.post(SMS_PATH, data=params, headers=_signed(params))
    unsigned = client.post(SMS_PATH, data=params)
    multipart = client.post(
        SMS_PATH, data=params, headers=_signed(params), content_type="multipart/form-data"
    )

    assert_plain_answer(signed, {200, 413})
    assert_plain_answer(unsigned, {403, 413})
    assert_plain_answer(multipart, {200, 413})


_MALFORMED_JSON = [
    b"{",
    b'{"update_id": 1, "message": ',
    b"[1, 2",
    b"NaN",
    b"1e999",
    b'{"update_id": 1e400}',
    b'"just a string"',
    b"\xff\xfe\x00{",
    b'{"update_id": 1, "message": {"chat": {"id": 1e400}}}',
    b'{"update_id": 1, "message": {"chat": "nope", "text": 5}}',
    b'{"update_id": 1, "callback_query": {"data": ["x"], "id": {}}}',
    b'{"update_id": true, "message": {}}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}',
]


def test_malformed_json_with_our_secret_is_refused_or_ignored(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    before = counts(sessions)

    for body in _MALFORMED_JSON:
        response = client.post(TELEGRAM_PATH, data=body, headers={SECRET_HEADER: TELEGRAM_SECRET})
        assert_plain_answer(response, {200, 400}, repr(body[:40]))

    assert counts(sessions)["messages"] == before["messages"]


@pytest.mark.parametrize(
    "body", [b"[" * 30000, b'{"a":' * 6000 + b"1" + b"}" * 6000], ids=["lists", "objects"]
)
def test_deeply_nested_json_with_our_secret_is_refused_not_a_500(
    client: FlaskClient, body: bytes
) -> None:
    response = client.post(TELEGRAM_PATH, data=body, headers={SECRET_HEADER: TELEGRAM_SECRET})

    assert_plain_answer(response, {400})


_MALFORMED_FORMS = [
    b"a=%ff%fe&b=%zz&=&&c",
    b"Body=%E2%82&From=%2B447700900123",
    b"\x00\x01\x02",
    b"MessageSid=SM1&MessageSid=SM2&From=+1&Body=x",
    b"=" * 5000,
    b"%" * 5000,
]


def test_malformed_forms_are_refused(
    client: FlaskClient, sessions: sessionmaker[Session], residents: tuple[int, int]
) -> None:
    before = counts(sessions)

    for body in _MALFORMED_FORMS:
        for path in (SMS_PATH, STATUS_PATH):
            for signature in (None, "bogus"):
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                if signature:
                    headers["X-Twilio-Signature"] = signature
                response = client.post(path, data=body, headers=headers)
                assert_plain_answer(response, {400, 403}, f"{path} {body[:20]!r}")

    assert counts(sessions) == before


def test_other_methods_are_405(client: FlaskClient) -> None:
    for path in (SMS_PATH, STATUS_PATH, TELEGRAM_PATH):
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            response = client.open(path, method=method, data=b"x")
            assert_plain_answer(response, {405}, f"{method} {path}")


# --- U+0000 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["sms body", "sms sender", "telegram text"])
def test_a_nul_character_in_a_message_is_not_a_500(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    residents: tuple[int, int],
    db_backend: str,
    request: pytest.FixtureRequest,
    where: str,
) -> None:
    if where == "telegram text":
        update = telegram_text_update(991, CHAT_ID, "7\x00")
        response = client.post(
            TELEGRAM_PATH, data=json.dumps(update), headers={SECRET_HEADER: TELEGRAM_SECRET}
        )
    else:
        params = _answer_sms("7\x00") if where == "sms body" else _answer_sms()
        if where == "sms sender":
            params["From"] = RESIDENT + "\x00"
        response = client.post(SMS_PATH, data=params, headers=_signed(params))

    assert_plain_answer(response, {200, 400})
