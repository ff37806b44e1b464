"""The fake Twilio's WhatsApp side, through the real client: the window it keeps, template
sends and their errors, and the inbound webhook form of a button press."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.fakes import FakeTwilio, whatsapp_inbound_params

US = "whatsapp:+15557650000"
THEM = "whatsapp:+447700900123"
TEMPLATE = "HX" + "a" * 32


def _create(fake: FakeTwilio, **kwargs: str) -> str:
    return str(fake.client(timeout=5).messages.create(to=THEM, from_=US, **kwargs).sid)


def _error(fake: FakeTwilio, **kwargs: str) -> int:
    with pytest.raises(TwilioRestException) as raised:
        _create(fake, **kwargs)
    return int(raised.value.code)


def test_free_form_goes_only_inside_the_window() -> None:
    with FakeTwilio() as fake:
        assert _error(fake, body="Hello") == 63016
        fake.resident_wrote(THEM)
        sid = _create(fake, body="Hello")
        fake.close_window(THEM)
        assert _error(fake, body="Hello again") == 63016
        assert [m["sid"] for m in fake.messages] == [sid]


def test_templates_go_any_time_filled_in_but_never_with_an_empty_variable() -> None:
    with FakeTwilio() as fake:
        fake.add_template(TEMPLATE, "Hi {{1}}, your {{2}} is ready.")
        sid = _create(
            fake, content_sid=TEMPLATE, content_variables=json.dumps({"1": "Sam", "2": "check-in"})
        )
        assert fake.message(sid)["body"] == "Hi Sam, your check-in is ready."
        assert _error(fake, content_sid=TEMPLATE, content_variables='{"1": "", "2": "x"}') == 63013
        assert _error(fake, content_sid="HX" + "0" * 32, content_variables="{}") == 21655
        assert len(fake.messages) == 1


def test_a_sender_without_the_whatsapp_prefix_is_refused() -> None:
    with FakeTwilio() as fake:
        fake.resident_wrote(THEM)
        with pytest.raises(TwilioRestException) as raised:
            fake.client(timeout=5).messages.create(to=THEM, from_="+15557650000", body="Hi")
        assert raised.value.code == 63007


def test_inbound_button_press_form() -> None:
    params = whatsapp_inbound_params(
        "+447700900123", "+15557650000", "", button_payload="yes", button_text="Yes"
    )
    assert params["From"] == THEM and params["To"] == US
    assert (params["MessageType"], params["ButtonPayload"], params["Body"]) == (
        "button",
        "yes",
        "Yes",
    )
    assert params["WaId"] == "447700900123"
