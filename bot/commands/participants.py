"""`groundswell participants ...`: import a roster, export or forget one person, mark a
test participant."""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.commands.common import database, refuse_import, settings
from bot.commands.progress import ProgressBar
from bot.intake.roster import RosterError, import_participants
from bot.people.privacy import UnknownParticipant, export_participant, find_participant
from bot.people.privacy import forget_participant as forget_person
from storage.database import transaction
from storage.flow_versions import FlowStore
from storage.models import AuditEntry
from storage.private_files import write_private
from survey_flows.checks.problems import FlowError
from survey_flows.model import Flow

LONG_FILE = 100  # rows from which the import shows a progress bar


def actor() -> str:
    """Who is running the command, for the audit log."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (OSError, KeyError):
        return "command line"


def _now() -> datetime:
    return datetime.now(UTC)


def resolve_flow(name: str) -> Flow:
    """The stored flow with this id; prints the problem and exits 1 when there is none."""
    try:
        return FlowStore(database()).resolve(name)
    except FlowError as error:
        for line in error.lines():
            click.echo(line, err=True)
        sys.exit(1)


@click.group()
def participants() -> None:
    """Import participants from a CSV file; export, forget or mark-test one participant."""


@participants.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--flow", "flow_name", required=True, help="Flow id (or .yaml file) to enrol them in."
)
def import_command(file: Path, flow_name: str) -> None:
    """Create participants from FILE (CSV) and enrol them in a flow.

    The first line must be the header, with these columns in any order:
    name,phone,whatsapp,telegram,language,timezone,group. Each row needs a phone (SMS),
    a whatsapp number or a telegram chat id, and may have more than one. Every row is
    checked first; if any row is bad, nothing is imported.
    """
    flow = resolve_flow(flow_name)
    config = settings()
    sessions = database(config)
    try:
        with ExitStack() as stack:
            result = import_participants(
                sessions,
                file,
                flow,
                config,
                _now(),
                progress=ProgressBar(stack, "Importing participants", LONG_FILE),
                actor=actor(),
            )
    except RosterError as error:
        refuse_import(error)
    groups = ", ".join(result.groups_created) or "none"
    click.echo(
        f"Imported {result.created} participant(s) into flow {result.flow_id}. "
        f"New groups: {groups}. The scheduler sets when each first check-in is due."
    )


def _unknown(error: UnknownParticipant) -> click.ClickException:
    return click.ClickException(str(error))


@participants.command("export")
@click.argument("ref", metavar="ID")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the JSON to this file."
)
def export_command(ref: str, out: Path | None) -> None:
    """Print everything held about participant ID (pseudonym or number) as JSON.

    The export holds personal data (phone numbers, messages): keep it safe and delete it
    once it has been handed over.
    """
    sessions = database()
    try:
        with transaction(sessions) as session:
            data = export_participant(session, ref)
            pseudonym = data["participant"]["pseudonym"]
            session.add(
                AuditEntry(
                    at=_now(), actor=actor(), action="exported participant", subject=pseudonym
                )
            )
    except UnknownParticipant as error:
        raise _unknown(error) from None
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        write_private(out, text)
    except OSError as error:
        raise click.ClickException(
            f"cannot write {out}: {error.strerror or error}; choose another file or folder"
        ) from None
    click.echo(
        f"Wrote everything held about {pseudonym} to {out}. It is personal data: keep it safe."
    )


@participants.command("forget")
@click.argument("ref", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget_command(ref: str, yes: bool) -> None:
    """Erase participant ID's personal data (name, phone, Telegram id, message texts).

    Nothing will be sent to them again. Whether their anonymous answers are kept for
    statistics is set by GROUNDSWELL_FORGET_KEEPS_ANSWERS (yes by default). Cannot be undone.
    """
    config = settings()
    sessions = database(config)
    try:
        with transaction(sessions, readonly=True) as session:
            pseudonym = find_participant(session, ref).pseudonym
    except UnknownParticipant as error:
        raise _unknown(error) from None
    keep = config.forget_keeps_answers
    what = "keeping their anonymous answers" if keep else "deleting their answers too"
    if not yes:
        click.confirm(f"Forget {pseudonym}, {what}? This cannot be undone.", abort=True, err=True)
    with transaction(sessions) as session:
        result = forget_person(session, pseudonym, keep_answers=keep, now=_now(), actor=actor())
    click.echo(
        f"Forgot {pseudonym}: erased their name, {result.addresses_deleted} address(es) and "
        f"{result.messages_erased} message(s); cancelled {result.outbox_cancelled} queued "
        "message(s). Nothing will be sent to them again."
    )
    setting = "GROUNDSWELL_FORGET_KEEPS_ANSWERS"
    if keep:
        click.echo(
            f"Anonymous answers were kept ({result.answers_kept}; {result.free_text_erased} "
            f"free-text answer(s) erased), as {setting} is yes."
        )
    else:
        click.echo(
            f"Answers were deleted too ({result.answers_deleted} answer(s), "
            f"{result.checkins_deleted} check-in(s), {result.alerts_deleted} alert(s)), "
            f"as {setting} is no."
        )


@participants.command("mark-test")
@click.argument("ref", metavar="ID")
@click.option("--undo", is_flag=True, help="Count this participant in reports again.")
def mark_test_command(ref: str, undo: bool) -> None:
    """Mark participant ID (pseudonym or number) as a staff test, so no report, summary,
    chart or story counts them and exports leave them out (unless --include-tests).

    The Simulator's test phones are marked already. Use --undo if a real resident was
    marked by mistake.
    """
    sessions = database()
    try:
        with transaction(sessions) as session:
            person = find_participant(session, ref)
            person.is_test = not undo
            pseudonym = person.pseudonym
            action = "unmarked test participant" if undo else "marked test participant"
            session.add(AuditEntry(at=_now(), actor=actor(), action=action, subject=pseudonym))
    except UnknownParticipant as error:
        raise _unknown(error) from None
    if undo:
        click.echo(f"{pseudonym} counts in reports again.")
    else:
        click.echo(
            f"{pseudonym} is marked as a test: reports and summaries leave them out, and "
            "exports too unless --include-tests is given."
        )
