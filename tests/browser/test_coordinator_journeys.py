"""What a coordinator and staff do for coordinators, in a real browser: act on an alert
(question in words, contact revealed, handled), read this week's summary, open a report on
"What changed" (no statistics jargon), manage the team and one's own account; another
group's summary, alert or report answers 404."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import COORDINATOR, STAFF, Site, sign_in

JARGON = ("d_z", "dz", "Wilcoxon", "p <", "95% CI")


def test_a_coordinator_acts_on_an_alert(page: Any) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("Alerts")
    ).click()
    card = page.locator("article.alert-card").first
    expect(card.locator(".alert-question")).to_contain_text("Would you like someone")
    expect(card).not_to_contain_text("weekly-wellbeing, callback")
    expect(card).to_contain_text("Elm Street")
    card.get_by_role("button", name=re.compile(r"Show the full .* \(logged\)")).first.click()
    revealed = page.locator("strong.revealed").first
    expect(revealed).to_be_visible()
    shown = revealed.inner_text()  # the whole address, e.g. "Simulator: demo-jrzbvg"
    assert ": " in shown and "ending" not in shown
    expect(page.locator("main")).to_contain_text("this was written in the audit log")
    card = page.locator("article.alert-card").first
    card.get_by_label("Note (optional)").fill("Phoned, all fine")
    card.get_by_role("button", name=re.compile(r"^Mark alert for P-\w+ as handled$")).click()
    expect(page.get_by_role("status")).to_contain_text("Alert marked as handled")
    page.get_by_role("link", name="Handled", exact=True).click()
    expect(page.locator("main")).to_contain_text(f"Handled by {COORDINATOR}")


def test_a_coordinator_reads_this_weeks_summary(page: Any, site: Site) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Summaries").click()
    expect(page.get_by_role("heading", name="Elm Street")).to_be_visible(timeout=60_000)
    sms = page.locator(".sms-text").first
    expect(sms).to_contain_text(
        "Groundswell weekly summary, Elm Street, over the last 12 weeks, to"
    )
    expect(page.locator(".telegram-text").first).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Riverside")
    response = page.goto(f"/summaries/?group={site.groups['Riverside']}")
    assert response is not None and response.status == 404


def test_the_report_opens_on_what_changed_in_plain_words(page: Any) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    section = page.locator("section.headline")
    expect(section.get_by_role("heading", name="What changed")).to_be_visible(timeout=60_000)
    text = section.inner_text()
    assert re.search(r"(Better|Worse|No clear change|Not enough data yet|Not shown):", text)
    assert not any(word in text for word in JARGON), text
    expect(page.get_by_text("What the words below mean")).to_be_visible()


def test_staff_report_what_changed_has_no_jargon(page: Any) -> None:
    sign_in(page, STAFF)
    page.goto("/reports/?flow=weekly-wellbeing&group=all")
    section = page.locator("section.headline")
    expect(section).to_be_visible(timeout=60_000)
    text = section.inner_text()
    assert not any(word in text for word in JARGON), text
    # The demo's one real change, in Riverside, is headlined (and first).
    first = section.get_by_role("listitem").first
    expect(first).to_contain_text("Better: Life satisfaction in Riverside rose by")


def test_staff_add_a_coordinator_on_the_team_page(page: Any) -> None:
    sign_in(page, STAFF)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.locator("#new-email").fill("new.coordinator@example.org")
    page.locator("#new-name").fill("Nia")
    page.get_by_label("Role").select_option("coordinator")
    page.locator("form[action='/team/add']").get_by_label("Riverside").check()
    page.locator("#new-telegram").fill("5551234")
    page.locator("#new-at").fill("16:00")
    page.get_by_role("button", name="Add", exact=True).click()
    link = page.locator("code.password-link")
    expect(link).to_contain_text("/password/")
    expect(page.locator("table")).to_contain_text("new.coordinator@example.org")
    expect(page.locator("table")).to_contain_text("Telegram; summary Mondays at 16:00")


def test_a_coordinator_sets_their_own_contact(page: Any) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("link", name=re.compile(re.escape(COORDINATOR))).click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_label("Telegram chat id").fill("7654321")
    page.get_by_label("Summary time (HH:MM, local)").fill("18:30")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_label("Summary time (HH:MM, local)")).to_have_value("18:30")
    response = page.goto("/team/")
    assert response is not None and response.status == 403
