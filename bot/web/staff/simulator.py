"""The simulator: a phone-like chat panel that talks to the real engine and storage.

Each member of staff has their own test participant (`external_ref` "simulator:<user
id>", channel "sim"), so two people testing at once never share a conversation. Replies
go through `bot.checkins.receiving.receive` exactly as an SMS would; what Groundswell answers is
queued in the outbox like any message (the worker's simulator sender marks it sent), and
the panel shows queued and sent messages alike.

Answers given here are stored like a resident's, but the test participant is marked
`is_test`, so no report, summary, chart or story ever counts them. Starting a flow again,
or "Clear test conversation", deletes the test participant's earlier check-ins, answers,
alerts and messages.

The page can also play a coordinator (`sim_coordinator`): a second test phone that gets a
group's alerts and its weekly summary through the outbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, abort, request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.channels.base import InboundMessage
from bot.checkins.receiving import receive
from bot.checkins.starting import start_checkin
from bot.delivery.outbox import Recipient
from bot.schedule.summaries import send_now
from bot.web.context import context
from bot.web.staff.access import group_or_404, require_staff, viewer
from bot.web.staff.answer_words import button_words
from bot.web.staff.flow_files import all_files
from bot.web.staff.pages import page, redirect_with
from bot.web.staff.sim_coordinator import (
    coordinator_address,
    coordinator_panel,
    forget_phone,
    play,
    played,
    stop,
)
from bot.web.staff.waiting import reasons
from bot.web.staff.web_sessions import Viewer
from storage.database import transaction
from storage.models import (
    Alert,
    Answer,
    ChannelAddress,
    Checkin,
    Enrolment,
    Message,
    OutboxItem,
    Participant,
)
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow

blueprint = Blueprint("simulator", __name__, url_prefix="/simulator")

CHANNEL = "sim"
MAX_TEXT = 1600  # about ten SMS
SHOWN = 200
STATUS_WORDS = {"queued": "queued", "sending": "sending", "sent": "sent", "delivered": "sent"}


@blueprint.before_request
def _staff_only() -> None:
    require_staff()


def address_of(who: Viewer) -> str:
    """The test phone's address for this member of staff."""
    return f"staff-{who.user_id}"


def _reference(who: Viewer) -> str:
    return f"simulator:{who.user_id}"


def _tester(session: Session, who: Viewer, now: datetime) -> Participant:
    """This user's test participant, created on first use."""
    person = session.scalars(
        select(Participant).where(Participant.external_ref == _reference(who))
    ).first()
    if person is None:
        name = who.email.split("@")[0].split(".")[0].capitalize() or "Tester"
        person = Participant(
            name=name, external_ref=_reference(who), opted_out=False, created_at=now, is_test=True
        )
        session.add(person)
        session.flush()
        session.add(
            ChannelAddress(participant_id=person.id, channel=CHANNEL, address=address_of(who))
        )
        session.flush()
    return person


def clear(session: Session, person: Participant, address: str) -> None:
    """Delete the test participant's check-ins, answers, alerts, messages and outbox rows.

    The person opted back in, so STOP in one test does not block the next.
    """
    message_ids = select(Message.id).where(Message.participant_id == person.id)
    session.execute(delete(Answer).where(Answer.participant_id == person.id))
    session.execute(delete(Alert).where(Alert.participant_id == person.id))
    session.execute(delete(OutboxItem).where(OutboxItem.message_id.in_(message_ids)))
    session.execute(delete(Message).where(Message.id.in_(message_ids)))
    forget_phone(session, address)
    session.execute(delete(Checkin).where(Checkin.participant_id == person.id))
    session.execute(delete(Enrolment).where(Enrolment.participant_id == person.id))
    person.opted_out = False
    person.opted_out_at = None


def _flows() -> list[Flow]:
    return [e.flow for e in all_files(context().library) if e.flow is not None]


def _panel_context(session: Session, who: Viewer) -> dict[str, object]:
    """The transcript of this user's test phone, and the buttons of the last question."""
    address = address_of(who)
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.channel == CHANNEL, Message.address == address)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(SHOWN)
        )
    )
    messages.reverse()
    buttons: list[dict[str, str]] = []
    person = session.scalars(
        select(Participant).where(Participant.external_ref == _reference(who))
    ).first()
    active = latest = None
    if person is not None:
        latest = session.scalars(
            select(Checkin)
            .where(Checkin.participant_id == person.id)
            .order_by(Checkin.id.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.status == "active":
            active = latest
    last_out = next((m for m in reversed(messages) if m.direction == "out"), None)
    if active is not None and last_out is not None:
        row = session.scalars(
            select(OutboxItem).where(OutboxItem.message_id == last_out.id)
        ).first()
        buttons = list(row.buttons or []) if row is not None else []
    coordinator = coordinator_panel(session, who)
    shown = [m.id for m in [*messages, *coordinator["coordinator_messages"]]]
    return {
        "messages": messages,
        "buttons": buttons,
        "active": active,
        # "idle": no check-in was ever started on this phone (or the test was cleared), so
        # nothing can have finished: the panel says to start a flow instead.
        "phone_state": "running" if active else ("finished" if latest else "idle"),
        "status_words": STATUS_WORDS,
        "pressed": button_words(session, messages),
        "address": address,
        "waiting": reasons(session, shown, context().clock(), context()),
        **coordinator,
    }


@blueprint.get("/")
def index() -> str:
    """The panel, with the flows to try."""
    who = viewer()
    with transaction(context().sessions, readonly=True) as session:
        panel = _panel_context(session, who)
    flows = _flows()
    wanted = request.args.get("flow", "")
    chosen = (
        wanted
        if any(f.id == wanted for f in flows)
        else (
            "weekly-wellbeing"
            if any(f.id == "weekly-wellbeing" for f in flows)
            else (flows[0].id if flows else "")
        )
    )
    return page("simulator/index.html", flows=flows, chosen=chosen, **panel)


@blueprint.post("/start")
def start() -> Response | tuple[str, int]:
    """Clear the last test and start the chosen flow on the test phone at once."""
    ctx = context()
    who = viewer()
    try:
        flow = (
            ctx.library.resolve(request.form.get("flow", "")) if request.form.get("flow") else None
        )
    except FlowError:
        flow = None
    if flow is None:
        with transaction(ctx.sessions, readonly=True) as session:
            panel = _panel_context(session, who)
        return page(
            "simulator/index.html",
            flows=_flows(),
            chosen="",
            problem="Choose a flow that passes its check.",
            **panel,
        ), 400

    def work(session: Session, now: datetime) -> None:
        person = _tester(session, who, now)
        clear(session, person, address_of(who))
        start_checkin(
            session,
            person,
            flow,
            now,
            ctx.settings,
            hold_for_quiet_hours=False,
            recipient=Recipient(CHANNEL, address_of(who), person.id),
        )

    ctx.write(work)
    return redirect_with("staff.simulator.index", None, flow=flow.id)


@blueprint.post("/reply")
def reply() -> Response | str:
    """Send the test phone's reply (typed text or a pressed button) through the engine."""
    ctx = context()
    who = viewer()
    text = request.form.get("text", "")[:MAX_TEXT]
    button = request.form.get("button") or None
    if text.strip() or button:

        def work(session: Session, now: datetime) -> None:
            _tester(session, who, now)
            inbound = InboundMessage(
                channel=CHANNEL,
                address=address_of(who),
                text=text if not button else "",
                provider_id=f"web-{uuid.uuid4().hex}",
                button=button,
            )
            receive(session, inbound, now, ctx.library, ctx.settings)

        ctx.write(work)
    if request.headers.get("X-Requested-With") == "fetch":
        with transaction(ctx.sessions, readonly=True) as session:
            panel = _panel_context(session, who)
        return page("simulator/_phones.html", **panel)
    return redirect_with("staff.simulator.index", None, flow=request.form.get("flow", ""))


@blueprint.post("/clear")
def clear_test() -> Response:
    """Delete this user's test conversation (nothing of anyone else's)."""
    who = viewer()

    def work(session: Session, now: datetime) -> None:
        clear(session, _tester(session, who, now), address_of(who))
        forget_phone(session, coordinator_address(who))

    context().write(work)
    return redirect_with("staff.simulator.index", "sim-cleared")


@blueprint.post("/coordinator")
def play_coordinator() -> Response:
    """Play a coordinator of the chosen group: its alerts and summaries reach the
    coordinator's test phone on this page."""
    who = viewer()
    raw = request.form.get("group", "")
    if not raw.isdigit():
        abort(404)

    def work(session: Session, now: datetime) -> None:
        group = group_or_404(session, who, int(raw))
        play(session, who, group, _tester(session, who, now), now)

    context().write(work)
    return redirect_with("staff.simulator.index", "sim-coordinator")


@blueprint.post("/coordinator/summary")
def send_summary() -> Response:
    """Queue this week's summary to the coordinator's test phone now (the clock's text)."""
    ctx = context()
    who = viewer()
    with transaction(ctx.sessions, readonly=True) as session:
        coordinator = played(session, who)
        coordinator_id = coordinator.id if coordinator else None
    if coordinator_id is None:
        return redirect_with("staff.simulator.index", "sim-no-coordinator")
    send_now(ctx.sessions, ctx.library, ctx.settings, coordinator_id, ctx.clock())
    return redirect_with("staff.simulator.index", "sim-summary-sent")


@blueprint.post("/coordinator/stop")
def stop_coordinator() -> Response:
    """Stop playing the coordinator; its test phone is cleared."""
    who = viewer()

    def work(session: Session, now: datetime) -> None:
        stop(session, who, _tester(session, who, now))

    context().write(work)
    return redirect_with("staff.simulator.index", "sim-coordinator-stopped")
