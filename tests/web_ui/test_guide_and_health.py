"""The footer's staff guide is served by the app; Health says which channel messages wait
for when it is not set up, and what to do."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.outbox import Recipient, enqueue_text
from bot.web.staff.guide import to_html
from storage.database import transaction
from tests.web_ui.conftest import COORDINATOR, NOON, STAFF, World, sign_in


def test_the_footer_links_to_the_guide_which_the_app_serves(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, COORDINATOR)
    page = client.get("/alerts/").get_data(as_text=True)
    assert 'href="/guide"' in page and "docs/staff-guide.md" not in page
    guide = client.get("/guide").get_data(as_text=True)
    assert "<h2" in guide and "For coordinators" in guide


def test_the_guide_converter_escapes_everything() -> None:
    html = str(to_html("# Hi <b>\n\nSay `<script>` and **bold** [x](https://e.org)"))
    assert "<script>" not in html and "&lt;script&gt;" in html and "<strong>bold</strong>" in html


def test_health_names_the_channel_messages_wait_for(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        enqueue_text(session, Recipient("sms", "+447700900999"), "hello", now=NOON)
        enqueue_text(session, Recipient("telegram", "5551"), "hello", now=NOON)
    sign_in(client, STAFF)
    page = client.get("/health/").get_data(as_text=True)
    assert "1 message(s) wait for SMS, which is not set up: set TWILIO_" in page
    assert "1 message(s) wait for Telegram, which is not set up: set TELEGRAM_BOT_TOKEN" in page
