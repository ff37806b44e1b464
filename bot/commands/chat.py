"""`groundswell chat FLOW`: talk to the real engine in the terminal, as SMS would show it."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from bot.channels.rendering import plain_text
from survey_flows.checks.folder import FlowLibrary, flow_for_author
from survey_flows.checks.problems import FlowError
from survey_flows.engine import advance, new_conversation
from survey_flows.engine_values import Outcome, Participant, Reply, Start


@click.command()
@click.argument("flow")
@click.option("--name", default="there", show_default=True, help="The participant's name.")
@click.option("--lang", "language", default=None, help="The participant's language code, e.g. cy.")
def chat(flow: str, name: str, language: str | None) -> None:
    """Hold a check-in conversation with FLOW (a flow id or a YAML file).

    Type replies line by line; input can be piped:
    printf '3\\n6\\n5\\n8\\nyes\\n2\\nskip\\n' | groundswell chat weekly-wellbeing
    """
    try:
        loaded = flow_for_author(FlowLibrary(), flow)
    except FlowError as error:
        for line in error.lines():
            click.echo(line, err=True)
        sys.exit(1)
    participant = Participant(id="P-CHAT", name=name, language=language)
    outcome = advance(loaded, new_conversation(loaded), Start(), participant, _now())
    _show(outcome)
    asked = _last_question(outcome, None)
    interactive = sys.stdin.isatty()
    while outcome.state.open:
        if interactive:
            click.echo("you> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            break
        outcome = advance(loaded, outcome.state, Reply(line.rstrip("\r\n")), participant, _now())
        _show(outcome)
        asked = _last_question(outcome, asked)
        if outcome.opted_out:
            break
    if outcome.state.open and not interactive:
        # Piped replies ran out mid-way: say so, or the output just stops with no reason.
        click.echo(
            "Input ended before the check-in finished; the last question was: "
            f"{asked or outcome.state.waiting_for}\n"
            "Give one reply per line for every question (see the flow with "
            f"`groundswell flows graph {loaded.id}`).",
            err=True,
        )
    if interactive:
        click.echo(f"(conversation {outcome.state.status})")


def _show(outcome: Outcome) -> None:
    for message in outcome.messages:
        click.echo(plain_text(message))
    for alert in outcome.alerts:
        click.echo(f"[alert to coordinators: {alert.condition}]", err=True)


def _last_question(outcome: Outcome, before: str | None) -> str | None:
    """The text of the question this outcome asked, else the one asked before it."""
    asked = [m.text for m in outcome.messages if m.kind == "question" and m.step_id]
    return asked[-1] if asked else before


def _now() -> datetime:
    return datetime.now(UTC)
