"""`groundswell worker --once` drains what is due and prints a one-line summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from tests.fakes import FakeTwilio
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.worker.conftest import FROM_NUMBER, outbox_rows, queue

PHONE = "+15551230001"


def test_worker_once_sends_and_summarises(
    database_url: str, sessions: sessionmaker[Session], twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    queue(sessions, "sms", PHONE, ["one", "two"], now)
    queue(sessions, "sim", "sim-1", ["three"], now)
    queue(sessions, "telegram", "4242", ["no bot configured"], now)
    env = {
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
        "TWILIO_FROM": FROM_NUMBER,
        "TWILIO_API_URL": twilio.base_url,
        "TELEGRAM_BOT_TOKEN": "",
        "GROUNDSWELL_RATE_SMS": "0",
    }

    result = CliRunner().invoke(main, ["worker", "--once"], env=env)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "sent 3, retried 0, failed 0, opted out 0, recovered 0; 1 still waiting"
    )
    assert [m["body"] for m in twilio.messages] == ["one", "two"]
    statuses = sorted(r.status for r in outbox_rows(sessions).values())
    assert statuses == ["queued", "sent", "sent", "sent"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GROUNDSWELL_RATE_SMS", "fast", "GROUNDSWELL_RATE_SMS"),
        ("TWILIO_ACCOUNT_SID", "AC123", "TWILIO_AUTH_TOKEN"),
    ],
)
def test_worker_rejects_bad_settings(
    database_url: str, name: str, value: str, message: str
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": "",
        "TWILIO_AUTH_TOKEN": "",
        "TWILIO_FROM": "",
        "TELEGRAM_BOT_TOKEN": "",
        name: value,
    }
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 1
    assert message in result.output
