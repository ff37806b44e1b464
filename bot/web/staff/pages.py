"""What every page shares: rendering with the layout's context, and one-line notices.

A notice ("Flow saved") travels in the redirect after a form as a key from `NOTICES`, never
as free text in the URL, so a link cannot make the app say anything it would not say.
"""

from __future__ import annotations

from typing import Any

from flask import redirect as _redirect
from flask import render_template, request, url_for
from werkzeug.wrappers import Response

NOTICES = {
    "signed-out": "You are signed out.",
    "flow-saved": "Flow saved and checked: it has no problems.",
    "flow-created": "Flow created and checked: it has no problems.",
    "participant-added": "Participant added and enrolled.",
    "imported": "Participants imported and enrolled.",
    "enrolled": "Enrolled. The scheduler sends the first check-in at the flow's next time.",
    "enrolment-stopped": "Enrolment stopped: no more scheduled check-ins of that flow.",
    "test-marked": "Marked as a staff test: no report, summary, chart or story counts "
    "this person, and exports leave them out unless asked.",
    "test-unmarked": "This person counts in reports and summaries again.",
    "started": "Check-in started: its first message is queued (after quiet hours if it is "
    "night where they live).",
    "not-started": "The check-in could not start: the person has opted out, been forgotten, "
    "or has no address to send to.",
    "alert-handled": "Alert marked as handled.",
    "sim-cleared": "Test conversation cleared.",
    "sim-coordinator": "You are playing a coordinator of this group: its alerts and summaries "
    "arrive on the coordinator's test phone below. Your test resident is in the group too.",
    "sim-coordinator-stopped": "Stopped playing the coordinator; its test phone is cleared.",
    "sim-summary-sent": "This week's summary is queued to the coordinator's test phone.",
    "sim-no-coordinator": "Choose a group to play its coordinator first.",
    "team-changed": "Saved. Alerts and summaries go to the new contact from now on.",
    "team-removed": "Removed: they can no longer sign in and get no alerts or summaries.",
    "account-saved": "Saved. Your next summary comes at the new time.",
    "password-set": "Password set. Sign in with it now.",
    "group-started": "Started: the first question is queued for everyone counted (after quiet "
    "hours for those inside them).",
}


def page(template: str, **context: Any) -> str:
    """Render a page; the layout shows the notice named in `?notice=` if there is one."""
    notice = NOTICES.get(request.args.get("notice", ""))
    return render_template(template, notice=notice, **context)


def redirect_with(endpoint: str, notice: str | None = None, **values: Any) -> Response:
    """303 to `endpoint` (so a reload does not post again), with a notice to show there."""
    if notice is not None:
        assert notice in NOTICES, notice
        values["notice"] = notice
    return _redirect(url_for(endpoint, **values), code=303)
