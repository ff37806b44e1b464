"""`groundswell groups ...`: add groups (with a join code residents can text) and list them."""

from __future__ import annotations

import re

import click
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.commands.common import database
from bot.commands.participants import resolve_flow
from storage.database import transaction
from storage.models import Group, Participant

# What `survey_flows.keywords.join_code` can read back from "JOIN CODE" or /start CODE.
JOIN_CODE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
MAX_NAME = 200


def normalise_join_code(code: str) -> str:
    """The join code in upper case; ClickException saying what to write if it cannot be used."""
    normal = code.strip().upper()
    if not (3 <= len(normal) <= 32 and JOIN_CODE.fullmatch(normal)):
        raise click.ClickException(
            f"join code {code!r} cannot be used; use 3 to 32 letters and digits, with single "
            "dashes between them if you like, e.g. ELM-STREET (no spaces)"
        )
    return normal


@click.group()
def groups() -> None:
    """Add and list groups of participants."""


@groups.command("add")
@click.argument("name")
@click.option("--join-code", help="Code residents text (JOIN CODE) to join, e.g. ELM-STREET.")
@click.option("--flow", "flow_name", help="Flow id (or .yaml file) people who join start on.")
def add(name: str, join_code: str | None, flow_name: str | None) -> None:
    """Add a group called NAME."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise click.ClickException(f"give the group a name of 1 to {MAX_NAME} characters")
    code = normalise_join_code(join_code) if join_code is not None else None
    flow_id = resolve_flow(flow_name).id if flow_name is not None else None
    try:
        with transaction(database()) as session:
            same_name = session.scalars(
                select(Group).where(func.lower(Group.name) == name.lower())
            ).first()
            if same_name is not None:
                raise click.ClickException(
                    f"there is already a group called {same_name.name!r}; choose another name"
                )
            taken = (
                session.scalars(select(Group).where(Group.join_code == code)).first()
                if code is not None
                else None
            )
            if taken is not None:
                raise click.ClickException(
                    f"join code {code} is already used by group {taken.name!r}; choose another"
                )
            session.add(Group(name=name, join_code=code, default_flow=flow_id))
    except IntegrityError:  # added by someone else at the same moment
        raise click.ClickException(
            f"a group called {name!r} or with join code {code} was added just now; "
            "run `groundswell groups list` and choose another"
        ) from None
    details = [f"join code {code}" if code else "no join code"]
    details.append(f"flow {flow_id}" if flow_id else "no default flow")
    click.echo(f"Added group {name!r} ({', '.join(details)}).")


@groups.command("list")
def list_groups() -> None:
    """List the groups: name, join code, default flow and number of participants."""
    sessions = database()
    with transaction(sessions, readonly=True) as session:
        rows = session.execute(
            select(Group.name, Group.join_code, Group.default_flow, func.count(Participant.id))
            .outerjoin(
                Participant,
                (Participant.group_id == Group.id) & Participant.forgotten_at.is_(None),
            )
            .group_by(Group.id, Group.name, Group.join_code, Group.default_flow)
            .order_by(Group.name)
        ).all()
    if not rows:
        click.echo("No groups yet. Add one with `groundswell groups add NAME`.")
        return
    table = [("NAME", "JOIN CODE", "FLOW", "PARTICIPANTS")]
    table += [(name, code or "-", flow or "-", str(count)) for name, code, flow, count in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*padded, row[3]]))
