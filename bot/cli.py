"""The `groundswell` command: one entry point, one small module per command group.

Command modules are imported only when their command runs, and `--help` lists the commands
from a table here, so `groundswell --help`, `chat` and `flows check` start in a moment
instead of loading the statistics, web and channel libraries they do not need.
"""

from __future__ import annotations

import importlib

import click

# name: (module:attribute, the one-line summary `groundswell --help` lists without importing
# the module; tests/cli checks each summary is the command's own first line)
COMMANDS: dict[str, tuple[str, str]] = {
    "flows": (
        "bot.commands.flows:flows",
        "Check, store, export and review survey flows (YAML).",
    ),
    "chat": (
        "bot.commands.chat:chat",
        "Hold a check-in conversation with FLOW (a flow id or a YAML file).",
    ),
    "clock": (
        "bot.commands.clock:clock",
        "Start due check-ins, send reminders and summaries, close expired check-ins.",
    ),
    "coordinators": (
        "bot.commands.coordinators:coordinators",
        "Add, list and remove coordinators (alerts at once, a summary every week).",
    ),
    "participants": (
        "bot.commands.participants:participants",
        "Import participants from a CSV file; export, forget or mark-test one participant.",
    ),
    "groups": (
        "bot.commands.groups:groups",
        "Add and list groups of participants.",
    ),
    "worker": (
        "bot.commands.worker:worker",
        "Send queued messages until stopped (SIGTERM or Ctrl-C finishes the current send).",
    ),
    "db": (
        "bot.commands.db:db",
        "Bring the database schema up to date, or show where it is.",
    ),
    "serve": (
        "bot.commands.serve:serve",
        "Serve the webhooks, the web app and /healthz (not the outbox worker or the clock).",
    ),
    "run": (
        "bot.commands.run:run",
        "Run Groundswell in one process: web app, outbox worker and scheduler.",
    ),
    "start": (
        "bot.commands.start:start",
        "Start FLOW now for a group or one participant.",
    ),
    "telegram-poll": (
        "bot.commands.telegram_poll:telegram_poll",
        "Fetch Telegram updates by long polling until stopped (Ctrl-C or SIGTERM).",
    ),
    "report": (
        "bot.commands.report:report",
        "Summarise how answers to FLOW changed: who answered, each measure, stories.",
    ),
    "export": (
        "bot.commands.export:export",
        "Export raw data (pseudonymous) for checking figures or further analysis.",
    ),
    "answers": (
        "bot.commands.answers:answers",
        "Import answers collected before Groundswell (on paper, in another tool).",
    ),
    "demo": (
        "bot.commands.demo:demo",
        "Write a made-up cohort into the database, so a report has something to show.",
    ),
    "users": (
        "bot.commands.users:users",
        "Add, list and remove the people who sign in to the web app.",
    ),
    "audit": (
        "bot.commands.audit:audit_log",
        "The audit log of sensitive actions (sign-ins, reveals, exports, forgets...).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see COMMANDS), and whose help
    lists them from COMMANDS, so `--help` imports none of them (nor scipy, Flask, ...)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS and name not in self.commands:
            module, _, attribute = COMMANDS[name][0].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, laid out as click would, without importing."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands:
                summary = self.commands[name].get_short_help_str(limit)
            else:
                # a stand-in with the same help, shortened exactly as the command's own would be
                stand_in = click.Command(name, help=COMMANDS[name][1])
                summary = stand_in.get_short_help_str(limit)
            rows.append((name, summary))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


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
