"""WhatsApp shows as a channel wherever SMS and Telegram do: adding a person, the list and
its filter, a person's record and conversation, the phone search, Health and Summaries."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.delivery.outbox import Recipient, enqueue_text
from bot.delivery.whatsapp_window import record_inbound
from bot.settings import Settings
from bot.web import create_app
from storage.database import transaction
from storage.models import ChannelAddress, Message, User
from survey_flows.checks.folder import FlowLibrary
from tests.web_ui.conftest import COORDINATOR, NOON, STAFF, Clock, World, post_form, sign_in


def _add_whatsapp_person(client: FlaskClient) -> str:
    """Add Wyn (WhatsApp only) through the form; the page it lands on."""
    added = post_form(
        client,
        "/participants/new",
        "/participants/new",
        {"name": "Wyn", "whatsapp": "07911 123456", "group": "Elm Street",
         "flow": "weekly-wellbeing"},
    )  # fmt: skip
    assert added.status_code == 303, added.get_data(as_text=True)
    assert "/participants/" in added.headers["Location"]  # their own page, found by number
    return client.get(added.headers["Location"]).get_data(as_text=True)


def test_a_whatsapp_participant_shows_as_whatsapp(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    form = client.get("/participants/new").get_data(as_text=True)
    assert 'name="whatsapp"' in form
    bad = post_form(
        client,
        "/participants/new",
        "/participants/new",
        {"name": "Al", "whatsapp": "0791", "flow": "weekly-wellbeing"},
    )
    assert bad.status_code == 422
    assert "whatsapp &#39;0791&#39; is not a valid GB phone number" in bad.get_data(as_text=True)
    record = _add_whatsapp_person(client)
    assert "Participant added" in record
    assert "WhatsApp number ending 456" in record
    with transaction(sessions, readonly=True) as session:
        address = session.scalars(
            select(ChannelAddress).where(ChannelAddress.channel == "whatsapp")
        ).one()
    assert address.address == "+447911123456"

    listing = client.get("/participants/").get_data(as_text=True)
    assert '<option value="whatsapp">WhatsApp</option>' in listing  # the channel filter
    only = client.get("/participants/?channel=whatsapp").get_data(as_text=True)
    assert "1 participant" in only and "Wyn" in only and "Sam" not in only
    assert "<td>WhatsApp</td>" in only
    by_number = post_form(client, "/participants/", "/participants/", {"q": "+44 7911 123456"})
    assert "Wyn" in by_number.get_data(as_text=True)

    shown = post_form(
        client,
        f"/participants/{address.participant_id}",
        f"/participants/{address.participant_id}/reveal",
        {"address": str(address.id)},
    )
    assert "WhatsApp: +447911123456" in shown.get_data(as_text=True)


def test_the_conversation_says_which_channel_each_message_came_by(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        session.add(
            Message(
                participant_id=world.elm_person,
                direction="in",
                channel="whatsapp",
                address="+447700900123",
                body="Hello from WhatsApp",
                created_at=NOON,
            )
        )
    sign_in(client, STAFF)
    page = client.get(f"/conversations/{world.elm_person}").get_data(as_text=True)
    assert ", by WhatsApp</span>" in page and "Hello from WhatsApp" in page


def _health(
    settings: Settings,
    sessions: sessionmaker[Session],
    library: FlowLibrary,
    clock: Clock,
    twilio: TwilioSettings,
) -> str:
    app = create_app(
        settings,
        sessions=sessions,
        library=library,
        clock=clock,
        twilio=twilio,
        telegram=TelegramSettings(),
    )
    with app.test_client() as client:
        sign_in(client, STAFF)
        return client.get("/health/").get_data(as_text=True)


def test_health_says_whether_whatsapp_is_set_up(
    settings: Settings,
    sessions: sessionmaker[Session],
    library: FlowLibrary,
    clock: Clock,
    world: World,
) -> None:
    with transaction(sessions) as session:
        record_inbound(session, "+447911123456", NOON)  # they wrote: free-form may go
        enqueue_text(session, Recipient("whatsapp", "+447911123456"), "hello", now=NOON)
    account = {"account_sid": "AC123", "auth_token": "SECRET-TOKEN-42"}
    nothing = _health(settings, sessions, library, clock, TwilioSettings())
    assert (
        '<strong>WhatsApp (Twilio)</strong>: <span class="status status-bad">not set up: set '
        "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM</span>" in nothing
    )
    assert (
        "1 message(s) wait for WhatsApp, which is not set up: set TWILIO_ACCOUNT_SID, "
        "TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM and restart; they are sent then." in nothing
    )
    sms_only = _health(
        settings, sessions, library, clock, TwilioSettings(**account, from_number="+15005550006")
    )
    assert "not set up: set TWILIO_WHATSAPP_FROM</span>" in sms_only
    assert "SECRET-TOKEN-42" not in sms_only
    no_template = _health(
        settings, sessions, library, clock, TwilioSettings(**account, whatsapp_from="+15005550006")
    )
    assert "set up, but no check-in template: set TWILIO_WHATSAPP_TEMPLATE_CHECKIN" in no_template
    assert "wait for WhatsApp" not in no_template
    checkin_only = _health(
        settings,
        sessions,
        library,
        clock,
        TwilioSettings(
            **account, whatsapp_from="+15005550006", whatsapp_templates={"checkin": "HX1"}
        ),
    )
    assert (
        "set up; TWILIO_WHATSAPP_TEMPLATE_REMINDER and TWILIO_WHATSAPP_TEMPLATE_COORDINATOR not "
        "set, so the check-in template stands in (set them for wording of their own)"
    ) in checkin_only
    ready = _health(
        settings,
        sessions,
        library,
        clock,
        TwilioSettings(
            **account,
            whatsapp_from="+15005550006",
            whatsapp_templates={"checkin": "HX1", "reminder": "HX2", "coordinator": "HX3"},
        ),
    )
    assert '<strong>WhatsApp (Twilio)</strong>: <span class="status status-ok">set up</span>' in (
        ready
    )


def test_summaries_show_the_whatsapp_text_and_who_gets_it_by_whatsapp(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        me = session.scalars(select(User).where(User.email == COORDINATOR)).one()
        me.channel, me.address = "whatsapp", "+447911123456"
        enqueue_text(
            session,
            Recipient("whatsapp", "+447911123456"),
            "Groundswell weekly summary, Elm Street, over the last 12 weeks, to Sunday 2 March.",
            now=NOON,
        )
    sign_in(client, COORDINATOR)
    page = client.get("/summaries/").get_data(as_text=True)
    assert "By WhatsApp</figcaption>" in page
    assert '<p class="bubble whatsapp-text">Groundswell weekly summary, Elm Street' in page
    assert "by WhatsApp, Mondays at 09:00" in page
    assert "UTC</td><td>WhatsApp</td>" in page  # the summary already sent
