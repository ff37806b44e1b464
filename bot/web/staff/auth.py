"""Sign in and sign out.

Sign-in checks the rate limit and counts the attempt as a failure *before* checking the
password (so parallel guesses are all counted), then, when the password is right, clears
that count and starts a brand-new session: the token the browser had before is dropped,
so nobody who planted or saw it can ride on the sign-in.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.web.context import context
from bot.web.staff import accounts, throttle, web_sessions
from bot.web.staff.pages import page, redirect_with
from storage.database import transaction
from storage.models import AuditEntry

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never `//other.site` or `https://...`): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc or "\\" in target else target


def sign_in_page(problem: str | None = None, status: int = 200, email: str = "") -> tuple[str, int]:
    """The sign-in form, with a session of its own for the form's CSRF token."""
    ctx = context()
    current = g.get("current")
    if current is None or current.viewer is not None:
        token, row = ctx.write(lambda session, now: web_sessions.start(session, None, now))
        g.set_cookie = token
        g.csrf_override = row.csrf_token
    with transaction(ctx.sessions, readonly=True) as session:
        users = accounts.user_count(session)
    return (
        page(
            "sign_in.html",
            problem=problem,
            email=email,
            no_users=users == 0,
            next=_safe_next(request.values.get("next")),
        ),
        status,
    )


@blueprint.get("/sign-in")
def sign_in() -> Response | tuple[str, int]:
    """The sign-in form (straight to the app when already signed in)."""
    if g.get("viewer") is not None:
        return redirect(_safe_next(request.args.get("next")) or url_for("staff.home.home"))
    return sign_in_page()


@blueprint.post("/sign-in")
def sign_in_post() -> Response | tuple[str, int]:
    """Check the rate limit, then the password; on success a new session and cookie."""
    ctx = context()
    email = accounts.normalise_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")
    client = (request.remote_addr or "unknown")[:64]
    if not email or not password:
        return sign_in_page("Enter your email address and your password.", 400, email)

    def count_attempt(session: Session, now: datetime) -> int:
        wait = throttle.wait_minutes(session, email, client, now)
        if not wait:
            throttle.record_failure(session, email, client, now)
        return wait

    wait = ctx.write(count_attempt)
    if wait:
        minutes = "a minute" if wait == 1 else f"{wait} minutes"
        return sign_in_page(
            "Too many failed sign-ins for this account or from this network. "
            f"Wait {minutes} and try again, or ask staff to set a new password.",
            429,
            email,
        )
    with transaction(ctx.sessions, readonly=True) as session:
        user = accounts.authenticate(session, email, password)
        user_id = user.id if user is not None else None
    if user_id is None:
        return sign_in_page(
            "That email and password do not match an account. Check both and try again.",
            401,
            email,
        )
    previous = g.get("current")

    def start(session: Session, now: datetime) -> str:
        throttle.clear(session, email)
        if previous is not None:
            web_sessions.end(session, previous.id)
        token, _row = web_sessions.start(session, user_id, now)
        session.add(AuditEntry(at=now, actor=email, action="signed in", subject=None))
        return token

    g.set_cookie = ctx.write(start)
    return redirect(_safe_next(request.form.get("next")) or url_for("staff.home.home"), 303)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    """End this session everywhere (the row goes) and forget the cookie."""
    current = g.current
    context().write(lambda session, _now: web_sessions.end(session, current.id))
    g.clear_cookie = True
    return redirect_with("staff.auth.sign_in", "signed-out")
