"""Applying the engine's outcome of one event: the one place a check-in's state is saved.

`apply` writes, inside the caller's transaction, the new state (one statement), the
answers, the alerts, what the outcome says about the person (opted out or in, consent,
name) and the queued messages, so a process that dies half-way leaves nothing half-done.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.checkins.alerts import raise_alerts
from bot.delivery.outbox import Opening, Recipient, enqueue_many, for_channel
from bot.people.enrolment import enrol_in_group_flow
from bot.people.opt_out import opt_in, opt_out
from storage.checkin_rows import OpenCheckin, PersonRow, save_outcome
from storage.flow_versions import Flows
from storage.models import Participant
from survey_flows.engine_values import Outcome
from survey_flows.model import Flow


def apply(
    session: Session,
    checkin: OpenCheckin,
    person: PersonRow,
    flow: Flow,
    outcome: Outcome,
    to: Recipient,
    now: datetime,
    *,
    not_before: datetime,
    library: Flows,
    message_id: int | None = None,
    opening: Opening | None = None,
) -> int:
    """Write the outcome of one event on `checkin`; returns how many messages were queued.

    `checkin` and `person` are the rows read under lock (`storage.checkin_rows`); messages
    go to `to` no earlier than `not_before` (a STOP confirmation goes at once). On
    WhatsApp outside the person's window, `opening` is the template sent instead.
    """
    state = outcome.state
    answers = [
        {
            "checkin_id": checkin.id,
            "participant_id": checkin.participant_id,
            "flow_id": flow.id,
            "flow_version": flow.version,
            "step_id": answer.step_id,
            "part": answer.part,
            "value": answer.value,
            "score": answer.score if answer.measure else None,
            "measure": answer.measure,
            "raw_text": answer.raw_text,
            "answered_at": answer.answered_at,
            "channel": checkin.channel,
            "message_id": message_id,
        }
        for answer in outcome.answers
    ]
    finished = not state.open and checkin.finished_at is None
    saved = {
        "checkin_id": checkin.id,
        "state": state.to_json(),
        "status": state.status if state.status != "new" else checkin.status,
        "reminders_sent": state.reminders_sent,
        "finished_at": now if finished else checkin.finished_at,
        "next_timer_at": outcome.next_timer_at,
    }
    save_outcome(session.connection(), saved, answers)
    raise_alerts(session, person, checkin.id, flow, outcome.alerts, now)
    apply_to_person(session, person, outcome, now, library)
    if outcome.opted_out:
        not_before = now  # the one confirmation goes at once, after the queue was cleared
    enqueue_many(
        session,
        [for_channel(to, message, not_before, checkin.id, opening) for message in outcome.messages],
        now=now,
    )
    return len(outcome.messages)


def apply_to_person(
    session: Session,
    person: PersonRow,
    outcome: Outcome,
    now: datetime,
    library: Flows,
) -> None:
    """What the outcome says about the person: STOP and a refused consent opt them out at
    once (nothing still queued for them is sent), START takes them back, a chosen name is
    kept, and consent enrols them in their group's regular flow."""
    opting_out = outcome.opted_out and not person.opted_out
    opting_in = outcome.opted_in and person.opted_out
    if not (opting_out or opting_in or outcome.consent is not None or outcome.name):
        return
    participant = session.get_one(Participant, person.id)
    if opting_out:
        opt_out(session, participant, now, "participant opted out")
    if opting_in:
        opt_in(participant)
    if outcome.name:
        participant.name = outcome.name
    if outcome.consent is False:
        opt_out(session, participant, now, "consent not given")
    elif outcome.consent:
        enrol_in_group_flow(session, participant, library, now)
