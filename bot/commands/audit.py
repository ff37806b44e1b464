"""`groundswell audit verify`: check that nobody has edited, removed or slipped in an entry
of the audit log (see `storage.audit`)."""

from __future__ import annotations

import sys

import click

from bot.commands.common import database, settings
from storage import audit
from storage.database import transaction


@click.group()
def audit_log() -> None:
    """The audit log of sensitive actions (sign-ins, reveals, exports, forgets...)."""


@audit_log.command()
def verify() -> None:
    """Walk the audit log's hash chain; report the first entry where it breaks.

    Exits 0 when every entry checks out, 1 at the first broken link (an entry changed
    after it was written, or one before it removed, or one slipped in).
    """
    sessions = database(settings())
    with transaction(sessions, readonly=True) as session:
        verdict = audit.verify(session)
    if verdict.broken is None:
        click.echo(f"Audit log OK: {verdict.entries} entries, none changed, removed or added.")
        return
    broken = verdict.broken
    click.echo(
        f"Audit log BROKEN at entry {broken.entry_id} "
        f"({broken.at.strftime('%Y-%m-%d %H:%M:%S')} UTC): {broken.problem}. "
        f"{verdict.entries - 1} entries before it check out. Keep a copy of the database as "
        "it is now and find out who had access to it.",
        err=True,
    )
    sys.exit(1)
