"""Participants: search (in a POST body) and filter, one person's record and timeline,
reveal a number (logged), enrol, start a flow now, mark a staff test, add one person,
import a CSV roster.

Coordinators may read the people of their groups; changing anything is for staff.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime

from flask import Blueprint, abort, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.checkins.starting import start_checkin
from bot.intake.roster import RosterError, phone_number
from bot.web.context import context
from bot.web.staff import audit, people, roster_upload
from bot.web.staff.access import (
    participant_or_404,
    require_staff,
    viewer,
    visible_groups,
)
from bot.web.staff.flow_files import all_files
from bot.web.staff.masking import channel_name, masked
from bot.web.staff.pages import page, redirect_with
from storage.database import transaction
from storage.models import CHANNELS, ChannelAddress, Enrolment, Group
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow

blueprint = Blueprint("participants", __name__, url_prefix="/participants")


def _flows() -> list[Flow]:
    """The flows that pass the check, to enrol in or start."""
    return [entry.flow for entry in all_files(context().library) if entry.flow is not None]


def _flow(flow_id: str) -> Flow | None:
    try:
        return context().library.resolve(flow_id) if flow_id else None
    except FlowError:
        return None


def _phone_search(text: str) -> str | None:
    """The E.164 number a staff search is for, when it looks like a phone number."""
    digits = [c for c in text if c.isdigit()]
    if len(digits) < 6 or not viewer().is_staff:
        return None
    try:
        return phone_number(text, context().settings.default_region)
    except ValueError:
        return None


@blueprint.get("/")
def index() -> str:
    """The participants the viewer may see, filtered (no search text: see `search`)."""
    return _listing(request.args, search=False)


@blueprint.post("/")
def search() -> str:
    """The same list searched by name, pseudonym or phone number. The search travels in
    the POST body, never in the URL, so no proxy, router or browser history keeps it."""
    return _listing(request.form, search=True)


def _listing(args: Mapping[str, str], *, search: bool) -> str:
    """The page of participants for these filters (and search text, when `search`)."""
    who = viewer()
    filters = people.Filters(
        q=args.get("q", "")[:200] if search else "",
        group=args.get("group", ""),
        channel=args.get("channel", "") if args.get("channel") in CHANNELS else "",
        language=args.get("language", "")[:16],
        status=args.get("status", "") if args.get("status") in ("in", "out", "forgotten") else "",
        page=int(args["page"]) if args.get("page", "").isdigit() else 1,
    )
    phone = _phone_search(filters.q) if filters.q else None
    with transaction(context().sessions, readonly=True) as session:
        found = people.listing(session, who, filters, phone)
        groups = visible_groups(session, who)
        languages = people.languages(session, who)
    return page(
        "participants/index.html",
        found=found,
        filters=filters,
        group_options=([("none", "No group")] if who.is_staff else [])
        + [(g.id, g.name) for g in groups],
        channel_options=[(c, channel_name(c)) for c in CHANNELS],
        language_options=[(code, code) for code in languages],
        phone_search=phone is not None,
    )


def _person_page(
    participant_id: int,
    revealed: dict[int, str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    who = viewer()
    with transaction(context().sessions, readonly=True) as session:
        person = participant_or_404(session, who, participant_id)
        group = session.get(Group, person.group_id) if person.group_id else None
        addresses = people.addresses(session, person.id)
        enrolments = people.enrolments(session, person.id)
        timeline = people.timeline(session, person.id)
    return (
        page(
            "participants/show.html",
            person=person,
            group=group,
            addresses=addresses,
            enrolments=enrolments,
            timeline=timeline,
            revealed=revealed or {},
            masked=masked,
            flows=_flows() if who.is_staff else [],
            flow_titles={flow.id: flow.title for flow in _flows()},
            problem=problem,
        ),
        status,
    )


@blueprint.get("/<int:participant_id>")
def show(participant_id: int) -> tuple[str, int]:
    """One person: details, masked addresses, enrolments, timeline."""
    return _person_page(participant_id)


@blueprint.post("/<int:participant_id>/reveal")
def reveal(participant_id: int) -> tuple[str, int]:
    """Show one address in full, once, and write who saw it in the audit log (staff, or a
    coordinator of the person's group)."""
    address_id = request.form.get("address", "")
    who = viewer()

    def work(session: Session, now: datetime) -> tuple[int, str]:
        person = participant_or_404(session, who, participant_id)
        row = session.get(ChannelAddress, int(address_id)) if address_id.isdigit() else None
        if row is None or row.participant_id != person.id:
            abort(404)
        audit.record(
            session, now, "revealed contact", f"{channel_name(row.channel)} of {person.pseudonym}"
        )
        return row.id, row.address

    shown_id, address = context().write(work)
    return _person_page(participant_id, revealed={shown_id: address})


@blueprint.post("/<int:participant_id>/enrol")
def enrol(participant_id: int) -> Response | tuple[str, int]:
    """Enrol the person in a flow (again, if an earlier enrolment was stopped)."""
    require_staff()
    flow = _flow(request.form.get("flow", ""))
    if flow is None:
        return _person_page(
            participant_id, problem="Choose a flow that passes its check.", status=400
        )
    who = viewer()

    def work(session: Session, now: datetime) -> None:
        person = participant_or_404(session, who, participant_id)
        enrolment = session.scalars(
            select(Enrolment).where(
                Enrolment.participant_id == person.id, Enrolment.flow_id == flow.id
            )
        ).first()
        if enrolment is None:
            session.add(
                Enrolment(
                    participant_id=person.id,
                    group_id=person.group_id,
                    flow_id=flow.id,
                    enrolled_at=now,
                )
            )
        else:
            enrolment.active = True
        audit.record(session, now, "enrolled participant", f"{person.pseudonym} in {flow.id}")

    context().write(work)
    return redirect_with("staff.participants.show", "enrolled", participant_id=participant_id)


@blueprint.post("/<int:participant_id>/enrolments/<int:enrolment_id>/stop")
def stop_enrolment(participant_id: int, enrolment_id: int) -> Response:
    """Stop scheduled check-ins of one flow for this person (their answers stay)."""
    require_staff()
    who = viewer()

    def work(session: Session, now: datetime) -> None:
        person = participant_or_404(session, who, participant_id)
        enrolment = session.get(Enrolment, enrolment_id)
        if enrolment is None or enrolment.participant_id != person.id:
            abort(404)
        enrolment.active = False
        audit.record(
            session, now, "stopped enrolment", f"{person.pseudonym} in {enrolment.flow_id}"
        )

    context().write(work)
    return redirect_with(
        "staff.participants.show", "enrolment-stopped", participant_id=participant_id
    )


@blueprint.post("/<int:participant_id>/start")
def start(participant_id: int) -> Response | tuple[str, int]:
    """Start a check-in of a flow now (held until quiet hours end, at night)."""
    require_staff()
    flow = _flow(request.form.get("flow", ""))
    if flow is None:
        return _person_page(
            participant_id, problem="Choose a flow that passes its check.", status=400
        )
    ctx = context()
    who = viewer()

    def work(session: Session, now: datetime) -> bool:
        person = participant_or_404(session, who, participant_id)
        checkin = start_checkin(session, person, flow, now, ctx.settings)
        if checkin is not None:
            audit.record(session, now, "started check-in", f"{flow.id} for {person.pseudonym}")
        return checkin is not None

    started = ctx.write(work)
    return redirect_with(
        "staff.participants.show",
        "started" if started else "not-started",
        participant_id=participant_id,
    )


@blueprint.post("/<int:participant_id>/test")
def mark_test(participant_id: int) -> Response:
    """Mark the person as a staff test (or, with ``undo``, as a resident again): reports,
    summaries, charts and stories never count a test participant (audited)."""
    require_staff()
    undo = request.form.get("undo") == "1"
    who = viewer()

    def work(session: Session, now: datetime) -> None:
        person = participant_or_404(session, who, participant_id)
        person.is_test = not undo
        action = "unmarked test participant" if undo else "marked test participant"
        audit.record(session, now, action, person.pseudonym)

    context().write(work)
    return redirect_with(
        "staff.participants.show",
        "test-unmarked" if undo else "test-marked",
        participant_id=participant_id,
    )


FORM_FIELDS = ("name", "phone", "whatsapp", "telegram", "language", "timezone", "group")


def _new_page(values: dict[str, str], problems: list[str], status: int = 200) -> tuple[str, int]:
    with transaction(context().sessions, readonly=True) as session:
        groups = [g.name for g in visible_groups(session, viewer())]
    return (
        page(
            "participants/new.html",
            values=values,
            problems=problems,
            groups=groups,
            flows=_flows(),
            zone=context().settings.default_timezone,
        ),
        status,
    )


@blueprint.get("/new")
def new() -> tuple[str, int]:
    """The form to add and enrol one person."""
    require_staff()
    return _new_page({"flow": request.args.get("flow", "")}, [])


@blueprint.post("/new")
def create() -> Response | tuple[str, int]:
    """Add one person with the roster's rules; every problem shown at once."""
    require_staff()
    ctx = context()
    values = {name: request.form.get(name, "")[:300] for name in (*FORM_FIELDS, "flow")}
    flow = _flow(values["flow"])
    if flow is None:
        return _new_page(values, ["Choose the flow to enrol them in."], 400)
    try:
        roster_upload.import_one(
            ctx.sessions, values, flow, ctx.settings, ctx.clock(), viewer().email
        )
    except RosterError as error:
        return _new_page(values, [p.message for p in error.problems], 422)
    return redirect(_added(values), code=303)


def _added(values: dict[str, str]) -> str:
    """The new person's page (found by the address just stored), else the list."""
    ctx = context()
    wanted = []
    for channel, field in (("sms", "phone"), ("whatsapp", "whatsapp")):
        if values.get(field, "").strip():
            with contextlib.suppress(ValueError):
                number = phone_number(values[field], ctx.settings.default_region)
                wanted.append((channel, number))
    if values.get("telegram", "").strip():
        wanted.append(("telegram", values["telegram"].strip()))
    with transaction(ctx.sessions, readonly=True) as session:
        for channel, address in wanted:
            pid = session.scalar(
                select(ChannelAddress.participant_id).where(
                    ChannelAddress.channel == channel, ChannelAddress.address == address
                )
            )
            if pid is not None:
                return url_for(
                    "staff.participants.show", participant_id=pid, notice="participant-added"
                )
    return url_for("staff.participants.index", notice="participant-added")


@blueprint.get("/import")
def import_form() -> tuple[str, int]:
    """The CSV import form, with the columns explained."""
    require_staff()
    return (
        page(
            "participants/import.html",
            flows=_flows(),
            problems=[],
            result=None,
            chosen=request.args.get("flow", ""),
        ),
        200,
    )


@blueprint.post("/import")
def import_post() -> tuple[str, int]:
    """Import every row or none; problems listed by line."""
    require_staff()
    request.max_content_length = roster_upload.MAX_UPLOAD
    ctx = context()
    chosen = request.form.get("flow", "")
    flow = _flow(chosen)
    upload = request.files.get("file")
    problems: list[str] = []
    if flow is None:
        problems.append("Choose the flow to enrol everyone in.")
    if upload is None or not upload.filename:
        problems.append("Choose the CSV file to import.")
    if problems or flow is None or upload is None:
        return (
            page(
                "participants/import.html",
                flows=_flows(),
                problems=problems,
                result=None,
                chosen=chosen,
            ),
            400,
        )
    try:
        result = roster_upload.import_bytes(
            ctx.sessions,
            upload.read(),
            upload.filename or "upload.csv",
            flow,
            ctx.settings,
            ctx.clock(),
            viewer().email,
        )
    except RosterError as error:
        listed = [f"Line {p.line}: {p.message}" for p in error.problems]
        return (
            page(
                "participants/import.html",
                flows=_flows(),
                problems=listed,
                result=None,
                chosen=chosen,
            ),
            422,
        )
    return (
        page("participants/import.html", flows=_flows(), problems=[], result=result, chosen=chosen),
        200,
    )
