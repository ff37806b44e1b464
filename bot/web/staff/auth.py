"""Sign in and sign out.

Sign-in counts the attempt as a failure under the limits' locks *before* checking the
password (so parallel guesses are all counted, see `throttle`), then, when the password is
right, clears that count and starts a brand-new session: the token the browser had before
is dropped, so nobody who planted or saw it can ride on the sign-in.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.web.context import context
from bot.web.staff import accounts, throttle, web_sessions
from bot.web.staff.cookies import cookie, lifetime
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
    """The sign-in form. Its CSRF token is a cookie of its own (the form echoes it), so
    showing the form writes nothing to the database."""
    ctx = context()
    sent = request.cookies.get(cookie(web_sessions.SIGN_IN_COOKIE), "")
    token = sent if 32 <= len(sent) <= 64 else secrets.token_urlsafe(32)
    g.set_sign_in_cookie = token
    g.csrf_override = token
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


def client_address() -> str:
    """The client's address: the connection's, or (with GROUNDSWELL_TRUSTED_PROXIES) the
    one the trusted proxies put in X-Forwarded-For (ProxyFix rewrites remote_addr)."""
    return (request.remote_addr or "unknown")[:64]


@blueprint.post("/sign-in")
def sign_in_post() -> Response | tuple[str, int]:
    """Count the attempt under the limits, then check the password; on success a new
    session and cookie. Failures and successes are audited."""
    ctx = context()
    email = accounts.normalise_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")
    client = client_address()
    if not email or not password:
        return sign_in_page("Enter your email address and your password.", 400, email)
    wait = ctx.write(lambda session, now: throttle.attempt(session, email, client, now))
    if wait:
        return sign_in_page(
            "Too many failed sign-ins for this account or from this network. "
            f"Wait {throttle.describe_wait(wait)} and try again, or ask staff to set a new "
            "password.",
            429,
            email,
        )
    with transaction(ctx.sessions, readonly=True) as session:
        user = accounts.authenticate(session, email, password)
        user_id = user.id if user is not None else None
        stale = user is not None and accounts.needs_rehash(user.password_hash)
    if user_id is None:

        def failed(session: Session, now: datetime) -> None:
            session.add(AuditEntry(at=now, actor=email, action="sign-in failed", subject=client))

        ctx.write(failed)
        return sign_in_page(
            "That email and password do not match an account. Check both and try again.",
            401,
            email,
        )
    previous = g.get("current")
    limits = lifetime()

    def start(session: Session, now: datetime) -> str:
        throttle.clear(session, email)
        if stale:  # hashed at an older cost: rehash now that we have the password
            accounts.rehash(session, user_id, password)
        if previous is not None:
            web_sessions.end(session, previous.id)
        token, _row = web_sessions.start(session, user_id, now, limits)
        session.add(AuditEntry(at=now, actor=email, action="signed in", subject=client))
        return token

    g.set_cookie = ctx.write(start)
    g.clear_sign_in_cookie = True
    return redirect(_safe_next(request.form.get("next")) or url_for("staff.home.home"), 303)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    """End this session everywhere (the row goes) and forget the cookie."""
    current = g.current
    context().write(lambda session, _now: web_sessions.end(session, current.id))
    g.clear_cookie = True
    return redirect_with("staff.auth.sign_in", "signed-out")
