"""Health: is everything running? The outbox by state, the clock's last tick, and which
providers are set up, naming missing settings but never showing a secret."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.channels.twilio import TwilioSettings
from bot.delivery.outbox import counts
from bot.schedule.clock import last_tick
from bot.web.context import context
from bot.web.staff.access import require_staff
from bot.web.staff.pages import page
from bot.web.staff.waiting import unconfigured_waiting, whatsapp_missing
from storage.database import transaction
from storage.models import OutboxItem

blueprint = Blueprint("health", __name__, url_prefix="/health")

STATES = ("queued", "retrying", "sending", "sent", "failed", "cancelled")


@blueprint.before_request
def _staff_only() -> None:
    require_staff()


@blueprint.get("/")
def index() -> str:
    """Outbox counts, the last clock tick, provider set-up."""
    ctx = context()
    now = ctx.clock()
    with transaction(ctx.sessions, readonly=True) as session:
        by_status = counts(session)
        retrying = (
            session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.status == "queued", OutboxItem.attempts > 0)
            )
            or 0
        )
        oldest = session.scalar(
            select(func.min(OutboxItem.created_at)).where(OutboxItem.status == "queued")
        )
        tick = last_tick(session)
        waiting = dict(
            session.execute(
                select(OutboxItem.channel, func.count())
                .where(OutboxItem.status.in_(("queued", "sending")))
                .group_by(OutboxItem.channel)
            ).all()
        )
    outbox = {state: by_status.get(state, 0) for state in STATES}
    outbox["queued"] -= retrying
    outbox["retrying"] = retrying
    twilio, telegram = ctx.twilio, ctx.telegram
    providers = [
        {
            "name": "SMS (Twilio)",
            "ok": twilio.configured,
            "detail": "set up"
            if twilio.configured
            else "not set up: set " + ", ".join(twilio.missing),
        },
        {
            "name": "WhatsApp (Twilio)",
            "ok": twilio.whatsapp_configured,
            "detail": whatsapp_detail(twilio),
        },
        {
            "name": "Telegram",
            "ok": telegram.configured,
            "detail": (
                "set up"
                + (
                    ""
                    if telegram.webhook_secret
                    else "; no TELEGRAM_WEBHOOK_SECRET, so use `groundswell telegram-poll`"
                )
            )
            if telegram.configured
            else "not set up: set TELEGRAM_BOT_TOKEN",
        },
        {
            "name": "Public web address",
            "ok": bool(ctx.settings.public_url),
            "detail": ctx.settings.public_url
            or "not set: set GROUNDSWELL_PUBLIC_URL (SMS webhooks need it)",
        },
        {"name": "Simulator", "ok": True, "detail": "always on"},
    ]
    stuck = unconfigured_waiting(waiting, ctx)
    backend = make_url(ctx.settings.database_url).get_backend_name()
    return page(
        "health/index.html",
        outbox=outbox,
        oldest_age=(now - oldest) if oldest else None,
        tick=tick,
        tick_age=(now - tick.at) if tick else None,
        providers=providers,
        stuck=stuck,
        backend={"sqlite": "SQLite (one machine)", "postgresql": "PostgreSQL"}.get(
            backend, backend
        ),
    )


def whatsapp_detail(twilio: TwilioSettings) -> str:
    """WhatsApp's line on Health: what is missing, including the approved templates a
    check-in needs to open outside the 24-hour window."""
    missing = whatsapp_missing(twilio)
    if missing:
        return "not set up: set " + ", ".join(missing)
    if "checkin" not in twilio.whatsapp_templates:
        return (
            "set up, but no check-in template: set TWILIO_WHATSAPP_TEMPLATE_CHECKIN, or "
            "scheduled check-ins cannot reach people who have not written in the last 24 hours"
        )
    unset = [
        f"TWILIO_WHATSAPP_TEMPLATE_{purpose.upper()}"
        for purpose in ("reminder", "coordinator")
        if purpose not in twilio.whatsapp_templates
    ]
    if unset:
        return (
            f"set up; {' and '.join(unset)} not set, so the check-in template stands in "
            f"(set {'them' if len(unset) > 1 else 'it'} for wording of their own)"
        )
    return "set up"
