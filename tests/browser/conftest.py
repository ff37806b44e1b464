"""Browser tests: Debian's Chromium, headless, driven by Playwright's sync API, against the
real app served from a thread on 127.0.0.1 with a temporary SQLite database holding the
`groundswell demo` cohort, a staff user and an Elm Street coordinator.

No browser is ever downloaded: Playwright drives the Chromium at `GROUNDSWELL_CHROMIUM`
(default /usr/bin/chromium, from Debian's `chromium` package). When Playwright or Chromium
is missing the tests are skipped with the reason, unless GROUNDSWELL_BROWSER_TESTS is
"required" (as in CI), when they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.demo.seeding import make_demo
from bot.settings import Settings
from bot.web import create_app, default_sessions
from bot.web.staff.accounts import add_user
from storage import migrate
from storage.database import transaction
from storage.models import Alert, Group, Participant
from survey_flows.checks.folder import FlowLibrary, default_flows_folder

CHROMIUM = os.environ.get("GROUNDSWELL_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("GROUNDSWELL_BROWSER_TESTS", "").lower() == "required"
#: The flags Chromium needs on a machine with no network beyond loopback and no sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"
STAFF = "staff@example.org"
COORDINATOR = "elm.coordinator@example.org"


def _missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install 'playwright>=1.40,<2')"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set GROUNDSWELL_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def chromium_ready() -> None:
    """Skip (or, when required, fail) when Playwright or Chromium is missing."""
    reason = _missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"browser tests are required (GROUNDSWELL_BROWSER_TESTS=required) but {reason}")
    pytest.skip(f"browser tests skipped: {reason}; set GROUNDSWELL_BROWSER_TESTS=required to fail")


@dataclass(frozen=True)
class Site:
    """The running app: its base URL, flows folder and the demo groups' ids."""

    url: str
    flows: Path
    groups: dict[str, int]


@pytest.fixture(scope="module")
def site(chromium_ready: None) -> Iterator[Site]:
    """The app on 127.0.0.1 (a free port) with demo data, served from a thread."""
    folder = Path(tempfile.mkdtemp(prefix="groundswell-browser-"))
    flows = folder / "flows"
    shutil.copytree(default_flows_folder(), flows)
    url = f"sqlite:///{folder / 'groundswell.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url)
    sessions = default_sessions(url)
    library = FlowLibrary(flows)
    now = datetime.now(UTC)
    make_demo(sessions, library, now, people=150, weeks=4)
    with transaction(sessions) as session:
        add_user(session, STAFF, "staff", PASSWORD, (), now=now, actor="test")
        add_user(
            session, COORDINATOR, "coordinator", PASSWORD, ("Elm Street",), now=now, actor="test"
        )
        groups = {g.name: g.id for g in session.scalars(select(Group))}
        # One open alert in Elm Street, whatever the demo's residents asked for.
        elm_resident = session.scalars(
            select(Participant.id).where(Participant.group_id == groups["Elm Street"])
        ).first()
        session.add(
            Alert(
                participant_id=elm_resident,
                group_id=groups["Elm Street"],
                step_id="callback",
                flow_id="weekly-wellbeing",
                created_at=now,
            )
        )
    app = create_app(
        settings,
        sessions=sessions,
        library=library,
        twilio=TwilioSettings(),
        telegram=TelegramSettings(),
    )
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="web", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", flows, groups)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        sessions.kw["bind"].dispose()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(chromium_ready: None) -> Iterator[Any]:
    """One headless Chromium per module.

    Not per session: Playwright's sync API keeps an asyncio event loop running in this
    thread while it is started, and later tests (the Telegram sender's) call asyncio.run,
    which refuses to run inside a running loop. Stopping Playwright after the module
    leaves the thread as it found it.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page; fails the test on page errors."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    try:
        yield tab
    finally:
        context.close()
    ignored = ("Failed to load resource: the server responded with a status of 4",)
    real = [e for e in errors if not e.startswith(ignored)]
    assert not real, f"errors in the browser console: {real}"


def sign_in(page: Any, email: str, *, go: bool = True) -> None:
    """Sign in through the form, by the fields' visible labels (on the page shown now when
    `go` is false)."""
    if go:
        page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
