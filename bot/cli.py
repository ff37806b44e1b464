"""The `groundswell` command: one entry point, one small module per command group."""

from __future__ import annotations

import click

from bot.commands.answers import answers
from bot.commands.chat import chat
from bot.commands.clock import clock
from bot.commands.demo import demo
from bot.commands.flows import flows
from bot.commands.groups import groups
from bot.commands.participants import participants


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="groundswell")
def main() -> None:
    """Groundswell: short check-ins by SMS and Telegram, turned into change summaries.

    Start with `groundswell chat weekly-wellbeing` to try a flow in the terminal,
    or `groundswell flows check` to check the flows folder.
    """


main.add_command(flows)
main.add_command(chat)
main.add_command(clock)
main.add_command(participants)
main.add_command(groups)
main.add_command(answers)
main.add_command(demo)
