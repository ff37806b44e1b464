"""WhatsApp in a real browser: staff add a resident by their WhatsApp number and see them
as a WhatsApp participant on their record and in the filtered list; a coordinator chooses
WhatsApp for their alerts on the Account page."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import COORDINATOR, STAFF, sign_in


def test_a_whatsapp_participant_shows_as_whatsapp(page: Any) -> None:
    sign_in(page, STAFF)
    page.goto("/participants/new")
    page.get_by_label("Name (optional)").fill("Wyn Browser")
    page.get_by_label("WhatsApp number (optional)").fill("+44 7911 123461")
    page.get_by_label("Flow to enrol them in").select_option("weekly-wellbeing")
    page.get_by_role("button", name="Add participant").click()
    expect(page.get_by_role("status")).to_contain_text("Participant added")
    expect(page.get_by_text("WhatsApp number ending 461")).to_be_visible()

    page.goto("/participants/")
    page.get_by_label("Channel").select_option(label="WhatsApp")
    page.get_by_role("button", name="Show participants").click()
    expect(page.get_by_role("status")).to_have_text("1 participant.")  # Wyn alone
    row = page.get_by_role("row").filter(has_text="Wyn Browser")
    expect(row.get_by_role("cell", name="WhatsApp", exact=True)).to_be_visible()


def test_a_coordinator_chooses_whatsapp_for_alerts(page: Any) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("link", name=re.compile(re.escape(COORDINATOR))).click()
    page.get_by_label("WhatsApp number").fill("07911 123462")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_label("WhatsApp number")).to_have_value("+447911123462")
