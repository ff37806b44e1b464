"""What staff and coordinators do, in a real browser: sign in, write a flow with a
mistake and see it with its line number, answer the weekly flow on the simulator, read a
report, handle an alert; and a coordinator is refused another group's report."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import COORDINATOR, STAFF, Site, sign_in

BROKEN_FLOW = """\
flow: street-survey
title: Street survey
schedule:
  every: week
  on: monday
  at: "18:00"
steps:
  - id: safe
    ask: "How safe do you feel on your street? 0 to 10"
    type: scael
    min: 0
    max: 10
"""


def test_sign_in_lands_a_newcomer_on_the_simulator(page: Any) -> None:
    page.goto("/participants/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    sign_in(page, STAFF, go=False)
    expect(page).to_have_url(re.compile(r"/participants/$"))
    page.goto("/")
    expect(page.get_by_role("heading", name="Simulator", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Skip to main content")).to_be_attached()


def test_wrong_password_says_so(page: Any) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(STAFF)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")


def test_a_flow_with_an_error_shows_the_error_and_its_line(page: Any, site: Site) -> None:
    sign_in(page, STAFF)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Flows").click()
    page.get_by_role("link", name="Write a new flow").click()
    page.get_by_label("File name").fill("street-survey")
    page.get_by_label("Flow text (YAML)").fill(BROKEN_FLOW)
    page.get_by_role("button", name="Check and create flow").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Not saved")
    expect(problems).to_contain_text("did you mean `scale`")
    line = problems.get_by_role("link", name="Line 10")
    expect(line).to_be_visible()
    assert not (site.flows / "street-survey.yaml").exists()
    line.click()  # the script puts the cursor on line 10 of the editor
    selected = page.get_by_label("Flow text (YAML)").evaluate(
        "area => area.value.substring(area.selectionStart, area.selectionEnd)"
    )
    assert selected.strip() == "type: scael"
    page.get_by_label("Flow text (YAML)").fill(BROKEN_FLOW.replace("scael", "scale"))
    page.get_by_role("button", name="Check and create flow").click()
    expect(page.get_by_role("status")).to_contain_text("Flow created")
    assert (site.flows / "street-survey.yaml").exists()
    # The vendored Mermaid draws the diagram (no CDN; the page's CSP allows only this site).
    expect(page.locator(".diagram svg")).to_be_visible()
    expect(page.get_by_text("every Monday at 18:00, residents' local time")).to_be_visible()


def test_the_flow_editor_numbers_its_lines_and_jumps_to_a_problem(page: Any) -> None:
    sign_in(page, STAFF)
    page.goto("/flows/new")
    editor = page.get_by_label("Flow text (YAML)")
    gutter = page.locator("[data-gutter]")
    flow = BROKEN_FLOW.replace("street-survey", "numbered-survey")
    editor.fill(flow.replace("steps:", "# a comment\nsteps:"))
    page.get_by_label("File name").fill("numbered-survey")
    page.get_by_role("button", name="Check and create flow").click()
    expect(page.get_by_role("alert")).to_contain_text("did you mean `scale`")
    numbers = gutter.inner_text().split()
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    assert len(numbers) == editor.input_value().count("\n") + 1
    expect(gutter.locator(".bad-line")).to_have_text(["11"])  # the problem's line is marked
    # The gutter stays level with the text: line 11 of each sits at the same height.
    line_height = editor.evaluate("area => parseFloat(getComputedStyle(area).lineHeight)")
    gutter_top = gutter.locator(".bad-line").bounding_box()["y"]
    area_box = editor.bounding_box()
    padding = editor.evaluate("area => parseFloat(getComputedStyle(area).paddingTop)")
    assert abs((area_box["y"] + 2 + padding + 10 * line_height) - gutter_top) < line_height / 2
    page.get_by_role("link", name="Line 11").click()
    selected = editor.evaluate(
        "area => area.value.substring(area.selectionStart, area.selectionEnd)"
    )
    assert selected.strip() == "type: scael"
    editor.press("End")
    editor.press("Enter")  # typing a line adds a number
    assert len(gutter.inner_text().split()) == len(numbers) + 1


def test_the_flow_editor_works_without_javascript(browser: Any, site: Site) -> None:
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, STAFF)
        page.goto("/flows/new")
        page.get_by_label("File name").fill("plain-survey")
        flow = BROKEN_FLOW.replace("street-survey", "plain-survey")
        page.get_by_label("Flow text (YAML)").fill(flow)
        page.get_by_role("button", name="Check and create flow").click()
        problems = page.get_by_role("alert")
        expect(problems).to_contain_text("did you mean `scale`")
        expect(problems.get_by_role("link", name="Line 10")).to_have_attribute("href", "#f-source")
        expect(page.locator("[data-gutter]")).to_have_count(0)  # a plain textarea, as before
        editor = page.get_by_label("Flow text (YAML)")
        assert "type: scael" in editor.input_value()  # nothing typed is lost
        editor.fill(flow.replace("scael", "scale"))
        page.get_by_role("button", name="Check and create flow").click()
        expect(page.get_by_role("status")).to_contain_text("Flow created")
        assert (site.flows / "plain-survey.yaml").exists()
    finally:
        context.close()


def test_the_simulator_runs_the_weekly_flow(page: Any) -> None:
    sign_in(page, STAFF)
    page.goto("/simulator/")
    page.get_by_label("Flow to try").select_option("weekly-wellbeing")
    page.get_by_role("button", name="Start this flow").click()
    phone = page.get_by_label("Conversation on the test phone")
    expect(phone).to_contain_text("how satisfied are you with your life nowadays")
    for answer, next_question in (
        ("8", "worthwhile"),
        ("7", "how happy did you feel yesterday"),
        ("6", "how anxious did you feel yesterday"),
        ("2", "How often do you feel lonely"),
    ):
        page.get_by_label("Your reply").fill(answer)
        page.get_by_role("button", name="Send reply").click()
        expect(phone).to_contain_text(next_question)
    page.get_by_role("button", name="Hardly ever").click()
    expect(phone).to_contain_text("What is one thing")
    page.get_by_label("Your reply").fill("<b>New</b> benches on the green")
    page.get_by_role("button", name="Send reply").click()
    expect(phone).to_contain_text("You gave life satisfaction 8 today")
    expect(phone).to_contain_text("<b>New</b> benches on the green")  # shown as text


def test_the_idle_simulator_says_to_start_a_flow_first(page: Any) -> None:
    sign_in(page, STAFF)
    page.goto("/simulator/")
    page.get_by_role("button", name="Clear test conversation").click()
    phone = page.get_by_label("Conversation on the test phone")
    expect(phone).to_contain_text("Start a flow first")
    page.get_by_label("Your reply").fill("hello?")
    page.get_by_role("button", name="Send reply").click()
    expect(phone).to_contain_text("hello?")
    expect(phone).to_contain_text("Nothing answered: no flow is running on this test phone.")
    expect(page.get_by_text("This check-in has finished")).to_have_count(0)
    page.get_by_role("button", name="Start this flow").click()
    expect(phone).to_contain_text("how satisfied are you with your life nowadays")
    expect(phone).not_to_contain_text("Start a flow first")


def test_reading_the_report(page: Any) -> None:
    sign_in(page, STAFF)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_label("Flow").select_option("weekly-wellbeing")
    page.get_by_role("button", name="Show report").click()
    expect(
        page.get_by_role("heading", name="Weekly wellbeing check-in: change summary")
    ).to_be_visible(timeout=60_000)
    expect(page.get_by_role("heading", name="Life satisfaction")).to_be_visible()
    expect(page.get_by_role("heading", name="How these figures were made")).to_be_visible()
    chart = page.locator("figure img").first
    expect(chart).to_have_attribute("alt", re.compile(r"^Histogram of the change in Life"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV (for spreadsheets)").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_handling_an_alert(page: Any) -> None:
    sign_in(page, COORDINATOR)
    page.goto("/alerts/")
    first = page.get_by_role("button", name=re.compile(r"^Mark alert for P-\w+ as handled$")).first
    expect(first).to_be_visible()
    name = first.inner_text()
    pseudonym = name.split(" for ")[1].split(" as ")[0]
    first.locator("xpath=..").get_by_label("Note (optional)").fill("Called back, all fine")
    first.click()
    expect(page.get_by_role("status")).to_contain_text("Alert marked as handled")
    page.get_by_role("link", name="Handled", exact=True).click()
    handled = page.get_by_role("article").filter(has_text=pseudonym).first
    expect(handled).to_contain_text(f"Handled by {COORDINATOR}")
    expect(handled).to_contain_text("Called back, all fine")


def test_a_coordinator_is_refused_another_groups_report(page: Any, site: Site) -> None:
    sign_in(page, COORDINATOR)
    page.goto("/reports/")
    options = page.get_by_label("Group").locator("option").all_inner_texts()
    assert options == ["Elm Street"]
    response = page.goto(f"/reports/?flow=weekly-wellbeing&group={site.groups['Riverside']}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name=re.compile("404"))).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Riverside")
    response = page.goto("/flows/")
    assert response is not None and response.status == 403
