"""The `groundswell` command: one entry point, one small module per command group.

Command modules are imported only when their command runs, so `groundswell chat` starts
in a moment instead of loading the statistics and web stacks it does not need.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "flows": "bot.commands.flows:flows",
    "chat": "bot.commands.chat:chat",
    "clock": "bot.commands.clock:clock",
    "coordinators": "bot.commands.coordinators:coordinators",
    "participants": "bot.commands.participants:participants",
    "groups": "bot.commands.groups:groups",
    "worker": "bot.commands.worker:worker",
    "db": "bot.commands.db:db",
    "serve": "bot.commands.serve:serve",
    "run": "bot.commands.run:run",
    "start": "bot.commands.start:start",
    "telegram-poll": "bot.commands.telegram_poll:telegram_poll",
    "report": "bot.commands.report:report",
    "export": "bot.commands.export:export",
    "answers": "bot.commands.answers:answers",
    "demo": "bot.commands.demo:demo",
    "users": "bot.commands.users:users",
    "audit": "bot.commands.audit:audit_log",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS and name not in self.commands:
            module, _, attribute = COMMANDS[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="groundswell")
def main() -> None:
    """Groundswell: short check-ins by SMS and Telegram, turned into change summaries.

    New here? `groundswell run` starts everything on this computer (open the web address
    it prints); `groundswell chat weekly-wellbeing` tries a flow in the terminal;
    `groundswell flows check` checks the flows folder.
    """


if __name__ == "__main__":
    main()
