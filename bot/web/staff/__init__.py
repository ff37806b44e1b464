"""The staff and coordinator web app: one parent blueprint that guards every page.

Every page of the app is a child of `blueprint`, so the checks here run for all of them
and for nothing else (webhooks and /healthz keep their own): the session is read from its
cookie, anyone not signed in is sent to the sign-in page, every form that changes
something must carry the session's CSRF token, and responses get security headers and
are never cached. Pages find out who may see what through `access`.

One module per page or concern (`participants`, `transcripts`, `alerts`, `flows`,
`reports`, `simulator`, `accounts`, ...). Imports: `bot.web.context`, the other wings of
`bot` (never `bot.commands`), `storage`, `reports`, `survey_flows`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns

from bot.web.context import context
from bot.web.staff import (
    alerts,
    audit_log,
    auth,
    csrf,
    flows,
    group_start,
    groups,
    guide,
    health,
    home,
    participants,
    reports,
    roster_upload,
    simulator,
    summaries,
    team,
    transcripts,
    web_sessions,
)
from bot.web.staff.access import group_filter
from bot.web.staff.cookies import cookie, lifetime
from bot.web.staff.masking import channel_name
from storage.database import transaction
from storage.models import Alert
from survey_flows.wording import count_words

blueprint = Blueprint("staff", __name__)
for child in (
    auth.blueprint,
    home.blueprint,
    flows.blueprint,
    participants.blueprint,
    transcripts.blueprint,
    reports.blueprint,
    summaries.blueprint,
    team.blueprint,
    guide.blueprint,
    group_start.blueprint,
    groups.blueprint,
    alerts.blueprint,
    simulator.blueprint,
    health.blueprint,
    audit_log.blueprint,
):
    blueprint.register_blueprint(child)

#: Pages anyone may open: the sign-in page and a one-time set-password link (and forms).
PUBLIC = frozenset(
    {
        "staff.auth.sign_in",
        "staff.auth.sign_in_post",
        "staff.team.set_password",
        "staff.team.set_password_post",
    }
)

#: Forms that may be bigger than the webhooks' 64 KiB limit: the roster upload.
LARGE_BODIES = {"staff.participants.import_post": roster_upload.MAX_UPLOAD}

#: Scripts and styles only from this site (no CDN, no inline script); Mermaid draws
#: inline SVG styles, hence 'unsafe-inline' for styles only; charts are data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def register(app: Flask) -> None:
    """Add the web app's pages to `app` (the webhook app from `bot.web.create_app`)."""
    app.register_blueprint(blueprint)


@blueprint.before_request
def _guard() -> BaseResponse | None:
    """Who is this? Sign-in required everywhere but the sign-in page; CSRF on every form.

    Reading the session writes nothing (but, every few minutes, the idle clock of a
    signed-in session): an anonymous visitor leaves no row behind.
    """
    ctx = context()
    token = request.cookies.get(cookie(web_sessions.COOKIE))
    limits = lifetime()
    with transaction(ctx.sessions, readonly=True) as session:
        current = web_sessions.load(session, token, ctx.clock(), limits)
    g.current = current
    g.viewer = current.viewer if current else None
    if current is not None and current.needs_touch:
        ctx.write(lambda session, now: web_sessions.touch(session, current.id, now, limits))
    if request.endpoint not in PUBLIC and g.viewer is None:
        if request.method in csrf.SAFE_METHODS:
            wanted = request.full_path.rstrip("?")
            return redirect(url_for("staff.auth.sign_in", next=wanted), code=303)
        return redirect(url_for("staff.auth.sign_in"), code=303)
    if request.endpoint in LARGE_BODIES:
        request.max_content_length = LARGE_BODIES[request.endpoint]
    if request.endpoint in ("staff.auth.sign_in_post", "staff.team.set_password_post"):
        csrf.check(request.cookies.get(cookie(web_sessions.SIGN_IN_COOKIE)))
    else:
        csrf.check(current.csrf_token if current else None)
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    """New or ended cookies; security headers; nothing cached (personal data)."""
    secure = context().settings.secure
    for base, value in (
        (web_sessions.COOKIE, g.get("set_cookie")),
        (web_sessions.SIGN_IN_COOKIE, g.get("set_sign_in_cookie")),
    ):
        if value is not None:
            response.set_cookie(
                cookie(base), value, httponly=True, secure=secure, samesite="Lax", path="/"
            )
    for base, flag in (
        (web_sessions.COOKIE, "clear_cookie"),
        (web_sessions.SIGN_IN_COOKIE, "clear_sign_in_cookie"),
    ):
        if g.get(flag):
            response.delete_cookie(
                cookie(base), httponly=True, secure=secure, samesite="Lax", path="/"
            )
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@blueprint.errorhandler(HTTPException)
def _error_page(error: HTTPException) -> BaseResponse | tuple[str, int]:
    """Errors on our pages are pages too: what happened and where to go next."""
    status = error.code or 500
    if status == 401:
        return redirect(url_for("staff.auth.sign_in"), code=303)
    if isinstance(error, csrf.CsrfError) and request.endpoint == "staff.auth.sign_in":
        return auth.sign_in_page(problem=error.description, status=status)
    return render_template("error.html", status=status, error=error), status


@blueprint.context_processor
def _layout() -> dict[str, Any]:
    """What every page needs: who is signed in, the CSRF token, open alerts to count, and
    `channel_name` to say a channel ("WhatsApp") and `count_words` to say a number with its
    unit ("1 minute") the one way."""
    viewer = g.get("viewer")
    current = g.get("current")
    open_alerts = 0
    if viewer is not None:
        with transaction(context().sessions, readonly=True) as session:
            open_alerts = (
                session.scalar(
                    select(func.count())
                    .select_from(Alert)
                    .where(Alert.handled_at.is_(None), group_filter(viewer, Alert.group_id))
                )
                or 0
            )
    return {
        "viewer": viewer,
        "csrf_token": g.get("csrf_override") or (current.csrf_token if current else ""),
        "open_alerts": open_alerts,
        "flow_pairs": _flow_pairs,
        "channel_name": channel_name,
        "count_words": count_words,
    }


def _flow_pairs(flows: list[Any]) -> list[tuple[str, str]]:
    """(id, "Title (id)") for a flow select."""
    return [(flow.id, f"{flow.title} ({flow.id})") for flow in flows]
