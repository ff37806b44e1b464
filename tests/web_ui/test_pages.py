"""What staff and coordinators do on each page, end to end through the Flask test client."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from bot.web import create_app
from storage.database import transaction
from storage.models import (
    Alert,
    Answer,
    AuditEntry,
    ChannelAddress,
    Checkin,
    Enrolment,
    OutboxItem,
    Participant,
)
from survey_flows.checks.folder import FlowLibrary
from tests.survey_flows.test_multiple_choice import FLOW
from tests.web_ui.conftest import (
    COORDINATOR,
    STAFF,
    Clock,
    World,
    csrf_token,
    post_form,
    sign_in,
    simulator_reply,
)

BROKEN = (
    "flow: weekly-wellbeing\ntitle: Broken\nsteps:\n  - id: q1\n    ask: Hello?\n    type: scael\n"
)


def test_sign_in_page_explains_the_first_account(client: FlaskClient) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    assert "groundswell users add you@example.org --role staff" in page
    assert '<label for="f-email">Email address</label>' in page
    assert ">Sign in</button>" in page


def test_staff_land_on_the_simulator_on_a_fresh_install(client: FlaskClient, world: World) -> None:
    sign_in(client, STAFF)
    assert client.get("/").headers["Location"] == "/simulator/"


def test_coordinators_land_on_their_open_alerts(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    assert client.get("/").headers["Location"] == "/alerts/"


# --- flows -------------------------------------------------------------------------------


def test_flows_list_shows_check_status_and_schedule(
    client: FlaskClient, world: World, flows_folder: Path
) -> None:
    (flows_folder / "broken.yaml").write_text(BROKEN.replace("weekly-wellbeing", "broken"))
    sign_in(client, STAFF)
    page = client.get("/flows/").get_data(as_text=True)
    assert "No problems" in page
    assert "every Friday at 18:00, residents&#39; local time" in page
    assert "1 problem" in page and "Line 6:" in page


def test_flow_page_has_diagram_schedule_and_versions(
    client: FlaskClient, world: World, sessions: sessionmaker[Session], app: Flask
) -> None:
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "weekly-wellbeing"})
    page = client.get("/flows/weekly-wellbeing.yaml").get_data(as_text=True)
    assert '<pre class="mermaid"' in page and "flowchart TD" in page
    assert "mermaid.min.js" in page
    assert "reminders after 4 hours and 24 hours" in page
    assert "This is the text now" in page


def test_a_flow_with_an_error_is_not_saved_and_the_error_names_its_line(
    client: FlaskClient, world: World, flows_folder: Path, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    path = flows_folder / "weekly-wellbeing.yaml"
    before = path.read_text()
    editor = client.get("/flows/weekly-wellbeing.yaml/edit")
    base = editor.get_data(as_text=True).split('name="base" value="')[1].split('"')[0]
    response = client.post(
        "/flows/weekly-wellbeing.yaml/edit",
        data={"source": BROKEN, "base": base, "csrf_token": csrf_token(editor)},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not saved" in page and 'data-line="6"' in page and "Line 6</a>: " in page
    assert "did you mean `scale`" in page
    assert "title: Broken" in page  # the text stays in the editor
    assert path.read_text() == before
    fixed = before.replace("title: Weekly wellbeing check-in", "title: Weekly check-in")
    saved = client.post(
        "/flows/weekly-wellbeing.yaml/edit",
        data={
            "source": fixed.replace("\n", "\r\n"),
            "base": base,
            "csrf_token": csrf_token(editor),
        },
    )
    assert saved.status_code == 303
    assert path.read_text() == fixed
    assert "Flow saved" in client.get(saved.headers["Location"]).get_data(as_text=True)
    with transaction(sessions, readonly=True) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "edited flow")).one()
    assert entry.actor == STAFF and "weekly-wellbeing.yaml" in (entry.subject or "")


def test_a_save_never_overwrites_someone_elses_newer_save(
    client: FlaskClient, world: World, flows_folder: Path
) -> None:
    sign_in(client, STAFF)
    editor = client.get("/flows/welcome.yaml/edit")
    text = editor.get_data(as_text=True)
    base = text.split('name="base" value="')[1].split('"')[0]
    path = flows_folder / "welcome.yaml"
    theirs = path.read_text() + "# someone else's change\n"
    path.write_text(theirs)
    response = client.post(
        "/flows/welcome.yaml/edit",
        data={
            "source": path.read_text().replace("# someone else's change\n", ""),
            "base": base,
            "csrf_token": csrf_token(editor),
        },
    )
    assert response.status_code == 422
    assert "someone else saved this flow" in response.get_data(as_text=True)
    assert path.read_text() == theirs


def test_writing_a_new_flow(client: FlaskClient, world: World, flows_folder: Path) -> None:
    sign_in(client, STAFF)
    form = client.get("/flows/new")
    source = form.get_data(as_text=True).split('name="source"')[1].split(">", 1)[1]
    source = source.split("</textarea>")[0].lstrip("\n")
    source = source.replace("&#34;", '"').replace("&#39;", "'").replace("&quot;", '"')
    bad = client.post(
        "/flows/new", data={"name": "../evil", "source": source, "csrf_token": csrf_token(form)}
    )
    assert bad.status_code == 422 and "will not do" in bad.get_data(as_text=True)
    clash = client.post(
        "/flows/new",
        data={
            "name": "mine",
            "source": source.replace("street-survey", "weekly-wellbeing"),
            "csrf_token": csrf_token(form),
        },
    )
    assert "already used by weekly-wellbeing.yaml" in clash.get_data(as_text=True)
    made = client.post(
        "/flows/new",
        data={"name": "street-survey", "source": source, "csrf_token": csrf_token(form)},
    )
    assert made.status_code == 303, made.get_data(as_text=True)
    assert (flows_folder / "street-survey.yaml").exists()
    assert not list(flows_folder.glob(".saving-*"))


# --- participants --------------------------------------------------------------------------


def test_search_and_filters(client: FlaskClient, world: World) -> None:
    sign_in(client, STAFF)
    found = post_form(client, "/participants/", "/participants/", {"q": "sam"})
    assert "Riya" not in found.get_data(as_text=True)
    by_phone = post_form(client, "/participants/", "/participants/", {"q": "07700 900456"})
    assert "Riya" in by_phone.get_data(as_text=True) and "Sam" not in by_phone.get_data(
        as_text=True
    )
    ignored = client.get("/participants/?q=sam").get_data(as_text=True)  # never from a URL
    assert "2 participants" in ignored
    grouped = client.get(f"/participants/?group={world.riverside}").get_data(as_text=True)
    assert "Riya" in grouped and "Sam" not in grouped
    assert "0 participants" in client.get("/participants/?status=out").get_data(as_text=True)
    assert "2 participants" in client.get("/participants/?channel=sms").get_data(as_text=True)


def test_adding_one_participant_uses_the_roster_rules(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    bad = post_form(
        client,
        "/participants/new",
        "/participants/new",
        {"name": "Al", "phone": "12", "flow": "weekly-wellbeing"},
    )
    assert bad.status_code == 422 and "Not added" in bad.get_data(as_text=True)
    good = post_form(
        client,
        "/participants/new",
        "/participants/new",
        {"name": "Al", "phone": "07700 900777", "group": "Elm Street", "flow": "weekly-wellbeing"},
    )
    assert good.status_code == 303
    page = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "Participant added" in page and "weekly-wellbeing" in page
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Enrolment)) == 1


def test_csv_import_shows_problems_by_line_and_stores_nothing(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    form = client.get("/participants/import")
    csv = b"name,phone,group\nAnn,07700900701,Elm Street\nBob,not a phone,Elm Street\n"
    response = client.post(
        "/participants/import",
        data={
            "csrf_token": csrf_token(form),
            "flow": "weekly-wellbeing",
            "file": (io.BytesIO(csv), "roster.csv"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Line 3:" in page and "Nothing was imported" in page
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Participant)) == 2
    good = client.post(
        "/participants/import",
        data={
            "csrf_token": csrf_token(form),
            "flow": "weekly-wellbeing",
            "file": (io.BytesIO(csv.replace(b"not a phone", b"07700900702")), "roster.csv"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 200 and "Imported 2 participants" in good.get_data(as_text=True)
    with transaction(sessions, readonly=True) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "imported participants")
        ).one()
    assert entry.actor.startswith(STAFF)


def test_a_roster_bigger_than_a_webhook_is_accepted(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:  # free the two numbers the world's people have
        session.execute(delete(ChannelAddress))
    sign_in(client, STAFF)
    form = client.get("/participants/import")
    rows = "".join(
        f"{'Resident with a long name ' * 3}{n},+447700900{n:03d}\n" for n in range(1000)
    )
    csv = ("name,phone\n" + rows).encode()
    assert len(csv) > 64 * 1024
    response = client.post(
        "/participants/import",
        data={
            "csrf_token": csrf_token(form),
            "flow": "weekly-wellbeing",
            "file": (io.BytesIO(csv), "big.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "Imported 1000 participants" in response.get_data(as_text=True)


def test_start_a_flow_now_and_enrol(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    page = f"/participants/{world.elm_person}"
    started = post_form(client, page, f"{page}/start", {"flow": "weekly-wellbeing"})
    assert "Check-in started" in client.get(started.headers["Location"]).get_data(as_text=True)
    enrolled = post_form(client, page, f"{page}/enrol", {"flow": "neighbourhood"})
    assert enrolled.status_code == 303
    timeline = client.get(page).get_data(as_text=True)
    assert "weekly-wellbeing" in timeline and "neighbourhood" in timeline
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert (session.scalar(select(func.count()).select_from(OutboxItem)) or 0) >= 1
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"started check-in", "enrolled participant"} <= actions


# --- simulator ---------------------------------------------------------------------------


def test_the_simulator_runs_the_weekly_flow_through_the_real_engine(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "weekly-wellbeing"})
    page = client.get("/simulator/").get_data(as_text=True)
    assert "how satisfied are you with your life" in page
    for answer in ("3", "6", "7", "9"):
        simulator_reply(client, text=answer)
    panel = simulator_reply(client, text="yes")  # life satisfaction 3 asks about a call back
    assert "Some of the time" in panel  # the loneliness question's buttons
    panel = simulator_reply(client, button="some")
    panel = simulator_reply(client, text="The new bench <b>is</b> lovely")
    assert "The new bench &lt;b&gt;is&lt;/b&gt; lovely" in panel
    assert "You gave life satisfaction 3 today" in panel
    with transaction(sessions, readonly=True) as session:
        values = dict(session.execute(select(Answer.step_id, Answer.value)).all())
        alerts = session.scalar(select(func.count()).select_from(Alert))
    assert values["life_satisfaction"] == 3 and values["lonely"] == "some"
    assert alerts == 3  # the world's two and the simulator's call-back request
    post_form(client, "/simulator/", "/simulator/clear", {})
    with transaction(sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Answer)) == 0
        assert session.scalar(select(func.count()).select_from(Alert)) == 2


def test_simulator_without_script_posts_and_redirects(client: FlaskClient, world: World) -> None:
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "welcome"})
    response = post_form(client, "/simulator/", "/simulator/reply", {"text": "hello"})
    assert response.status_code == 303
    assert "hello" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_simulator_ticks_multiple_choices_and_done_answers(
    client: FlaskClient, world: World, flows_folder: Path, sessions: sessionmaker[Session]
) -> None:
    (flows_folder / "helped.yaml").write_text(FLOW, encoding="utf-8")
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "helped"})
    page = client.get("/simulator/").get_data(as_text=True)
    assert "(Press each that applies, then Done.)" in page
    panel = simulator_reply(client, button="bins")
    assert "Chosen so far: Bins and litter. Press more, or Done." in panel
    assert "✓ Bins and litter" in panel
    panel = simulator_reply(client, button="traffic")
    panel = simulator_reply(client, button="#done")
    assert "Tell us more about the traffic." in panel
    with transaction(sessions, readonly=True) as session:
        rows = session.execute(
            select(Answer.part, Answer.value).where(Answer.step_id == "why").order_by(Answer.part)
        ).all()
    assert [tuple(r) for r in rows] == [(1, "traffic"), (2, "bins")]


def test_the_idle_simulator_says_to_start_a_flow_and_never_that_one_finished(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, STAFF)
    page = client.get("/simulator/").get_data(as_text=True)
    assert "Start a flow first" in page
    assert "has finished" not in page
    panel = simulator_reply(client, text="hello")  # before any flow started
    assert "hello" in panel
    assert "Nothing answered: no flow is running on this test phone." in panel
    assert "Start a flow first" in panel
    assert "has finished" not in panel
    post_form(client, "/simulator/", "/simulator/start", {"flow": "welcome"})
    page = client.get("/simulator/").get_data(as_text=True)
    assert "Start a flow first" not in page
    post_form(client, "/simulator/", "/simulator/clear", {})
    assert "Start a flow first" in client.get("/simulator/").get_data(as_text=True)


def test_the_simulator_says_a_check_in_finished_only_after_one_did(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, STAFF)
    post_form(client, "/simulator/", "/simulator/start", {"flow": "weekly-wellbeing"})
    for answer in ("8", "8", "8", "2", "never"):
        assert "has finished" not in simulator_reply(client, text=answer)
    panel = simulator_reply(client, text="skip")
    assert "This check-in has finished." in panel
    assert "Start a flow first" not in panel


# --- alerts, reports, health ---------------------------------------------------------------


def test_handling_an_alert_names_the_user(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    response = post_form(
        client, "/alerts/", f"/alerts/{world.elm_alert}/handle", {"note": "Called back, all fine"}
    )
    assert "Alert marked as handled" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    handled = client.get("/alerts/?show=handled").get_data(as_text=True)
    assert f"Handled by {COORDINATOR}" in handled and "Called back, all fine" in handled
    with transaction(sessions, readonly=True) as session:
        alert = session.get_one(Alert, world.elm_alert)
    assert alert.handled_by == COORDINATOR and alert.handled_at is not None


def test_report_page_and_downloads(
    client: FlaskClient, world: World, sessions: sessionmaker[Session], app: Flask, clock: Clock
) -> None:
    from bot.demo.seeding import make_demo

    make_demo(
        sessions, app.extensions["groundswell"].library, clock(), people=150, weeks=4, force=True
    )
    sign_in(client, STAFF)
    page = client.get("/reports/?flow=weekly-wellbeing&group=all").get_data(as_text=True)
    assert "Weekly wellbeing check-in: change summary" in page
    assert "How these figures were made" in page
    assert "Life satisfaction" in page
    assert 'src="data:image/png;base64,' in page and 'alt="' in page
    for fmt, kind in (("csv", "text/csv"), ("json", "application/json"), ("html", "text/html")):
        response = client.get(f"/reports/download?flow=weekly-wellbeing&group=all&format={fmt}")
        assert response.status_code == 200, fmt
        assert response.mimetype == kind
        assert "attachment" in response.headers["Content-Disposition"]
    # Verdicts, withdrawals and a fixed follow-up reach the page and the downloads.
    assert "Verdict:" in page and "withdrew (STOP or blocked)" in page
    page = client.get("/reports/?flow=weekly-wellbeing&group=all&follow_up=2").get_data(
        as_text=True
    )
    assert "nearest 2 weeks after the baseline" in page
    assert 'name="follow_up" type="text" value="2"' in page
    data = client.get(
        "/reports/download?flow=weekly-wellbeing&group=all&format=json&follow_up=2"
    ).get_json()
    assert data["follow_up"]["weeks"] == 2
    page = client.get("/reports/?flow=weekly-wellbeing&group=all&follow_up=soon").get_data(
        as_text=True
    )
    assert "soon&#39; is not a number of weeks" in page


def test_coordinators_report_defaults_to_their_group(client: FlaskClient, world: World) -> None:
    sign_in(client, COORDINATOR)
    page = client.get("/reports/?flow=weekly-wellbeing").get_data(as_text=True)
    assert "Elm Street" in page and "All groups" not in page
    assert "Riverside" not in page


def test_health_shows_counts_and_no_secrets(
    settings: Settings,
    sessions: sessionmaker[Session],
    library: FlowLibrary,
    clock: Clock,
    world: World,
) -> None:
    app = create_app(
        settings,
        sessions=sessions,
        library=library,
        clock=clock,
        twilio=TwilioSettings(account_sid="AC123", auth_token="SECRET-TOKEN-42"),
    )
    with app.test_client() as client:
        sign_in(client, STAFF)
        page = client.get("/health/").get_data(as_text=True)
    assert "SECRET-TOKEN-42" not in page
    assert "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID" in page
    assert "The clock has never ticked here" in page


def test_staff_mark_a_participant_as_a_test_and_back(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, STAFF)
    page = f"/participants/{world.elm_person}"
    marked = post_form(client, page, f"{page}/test", {})
    assert marked.status_code == 303
    shown = client.get(marked.headers["Location"]).get_data(as_text=True)
    assert "Marked as a staff test" in shown and "Count this person in reports again" in shown
    with transaction(sessions, readonly=True) as session:
        assert session.get(Participant, world.elm_person).is_test  # type: ignore[union-attr]
    undone = post_form(client, page, f"{page}/test", {"undo": "1"})
    assert "counts in reports and summaries again" in client.get(
        undone.headers["Location"]
    ).get_data(as_text=True)
    with transaction(sessions, readonly=True) as session:
        assert not session.get(Participant, world.elm_person).is_test  # type: ignore[union-attr]
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["marked test participant", "unmarked test participant"]


def test_a_coordinator_cannot_mark_a_test_participant(
    client: FlaskClient, world: World, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, COORDINATOR)
    page = f"/participants/{world.elm_person}"
    assert "Mark as a staff test" not in client.get(page).get_data(as_text=True)
    assert post_form(client, page, f"{page}/test", {}).status_code == 403
    with transaction(sessions, readonly=True) as session:
        assert not session.get(Participant, world.elm_person).is_test  # type: ignore[union-attr]
