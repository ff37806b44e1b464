"""Group pages, Health, the staff guide and the Simulator playing a coordinator, in a real
browser: staff start a flow for a group (count, confirm, messages queued), read Health and
the guide from the footer, watch an alert and a summary reach the coordinator's test
phone; a coordinator sees their own group's page only (another group's answers 404)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import COORDINATOR, STAFF, Site, sign_in

COUNT = re.compile(r"(\d+) (?:person|people) will be messaged")


def test_staff_start_a_flow_for_a_group_from_its_page(page: Any) -> None:
    sign_in(page, STAFF)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()
    page.get_by_role("link", name="Riverside").click()
    expect(page.get_by_role("heading", name="Riverside", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Coordinators")).to_be_visible()
    shown = page.locator(".start-count").inner_text()
    found = COUNT.search(shown)
    assert found and int(found.group(1)) > 0, shown
    count = int(found.group(1))
    page.get_by_label("Flow to start").select_option("weekly-wellbeing")
    page.get_by_role("button", name="Next: check and confirm").click()
    expect(page.locator(".start-count")).to_contain_text(found.group(0))
    page.get_by_role(
        "button", name=re.compile(rf"^Start Weekly wellbeing check-in for {count} ")
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Started: the first question is queued")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Health").click()
    queued = page.get_by_role("row", name=re.compile("^Queued"))
    value = int(queued.locator("td.num").inner_text())
    assert value >= count  # the intro and first question of each, waiting for the worker
    expect(page.locator("main")).to_contain_text("SMS (Twilio)")
    expect(page.locator("main")).to_contain_text("not set up: set TWILIO_")


def test_the_footer_opens_the_staff_guide(page: Any) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("contentinfo").get_by_role("link", name="the staff guide").click()
    expect(page).to_have_url(re.compile(r"/guide$"))
    expect(page.get_by_role("heading", name=re.compile("coordinator", re.I)).first).to_be_visible()
    expect(page.locator("main")).to_contain_text("Simulator")


def test_the_simulator_plays_a_coordinator(page: Any) -> None:
    sign_in(page, STAFF)
    page.goto("/simulator/")
    page.get_by_label("Play a coordinator of").select_option(label="Elm Street")
    page.get_by_role("button", name="Play this coordinator").click()
    expect(page.get_by_role("status")).to_contain_text("You are playing a coordinator")
    coordinator = page.get_by_label("Messages on the coordinator's test phone")
    expect(coordinator).to_contain_text("Nothing yet")
    page.get_by_label("Flow to try").select_option("weekly-wellbeing")
    page.get_by_role("button", name="Start this flow").click()
    phone = page.get_by_label("Conversation on the test phone")
    expect(phone).to_contain_text("how satisfied are you with your life nowadays")
    for answer, next_question in (
        ("3", "worthwhile"),
        ("6", "how happy did you feel yesterday"),
        ("7", "how anxious did you feel yesterday"),
        ("9", "Would you like someone from the project to call you"),
    ):
        page.get_by_label("Your reply").fill(answer)
        page.get_by_role("button", name="Send reply").click()
        expect(phone).to_contain_text(next_question)
    page.get_by_label("Your reply").fill("yes")
    page.get_by_role("button", name="Send reply").click()
    expect(phone).to_contain_text("How often do you feel lonely")
    # The alert arrives on the coordinator's phone without a reload.
    expect(coordinator).to_contain_text("Groundswell alert")
    expect(coordinator).to_contain_text("(Elm Street)")
    expect(coordinator).to_contain_text("see Health: is the worker running?")  # no worker
    page.get_by_role("button", name="Send this week's summary now").click()
    expect(page.get_by_role("status")).to_contain_text("summary is queued", timeout=60_000)
    expect(coordinator).to_contain_text("Groundswell weekly summary, Elm Street")
    page.get_by_role("button", name="Stop playing the coordinator").click()
    expect(page.get_by_role("button", name="Play this coordinator")).to_be_visible()


def test_a_coordinator_sees_their_own_group_only(page: Any, site: Site) -> None:
    sign_in(page, COORDINATOR)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()
    main = page.locator("main")
    expect(main).to_contain_text("Elm Street")
    expect(main).not_to_contain_text("Riverside")
    page.get_by_role("link", name="Elm Street").click()
    expect(page.get_by_role("heading", name="Coordinators")).to_be_visible()
    expect(page.get_by_text("will be messaged")).to_have_count(0)
    for path in (
        f"/groups/{site.groups['Riverside']}",
        f"/summaries/?group={site.groups['Riverside']}",
        f"/start/?group={site.groups['Elm Street']}",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == (403 if path.startswith("/start/") else 404), path
