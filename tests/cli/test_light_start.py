"""The commands staff run most start light: `groundswell --help`, `chat` and `flows check`
import none of the statistics, charting or channel libraries (each costs seconds to load)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bot.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("scipy", "matplotlib", "numpy", "twilio", "telegram")

# Runs the command in a fresh interpreter, then prints which heavy libraries it loaded.
PROBE = """\
import json, sys
from bot.cli import main
try:
    main(sys.argv[1:], prog_name="groundswell")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(%r))))
"""


def loaded_heavy(*args: str, stdin: str = "") -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("--help",), ""),
        ((), ""),
        (("chat", "--help"), ""),
        (("chat", "weekly-wellbeing"), "7\n6\n"),
        (("flows", "check"), ""),
    ],
)
def test_the_light_commands_import_no_heavy_library(args: tuple[str, ...], stdin: str) -> None:
    assert loaded_heavy(*args, stdin=stdin) == []


def test_the_probe_would_see_a_heavy_import() -> None:
    """`report --help` loads the statistics stack, so an empty list above means something."""
    assert "numpy" in loaded_heavy("report", "--help")


def test_each_listed_summary_is_the_commands_own_first_line() -> None:
    """`--help` lists COMMANDS' summaries without importing; they must not drift."""
    context = click.Context(main)
    for name, (_, summary) in COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None, name
        own = command.get_short_help_str(limit=10_000)
        assert own == summary, f"update COMMANDS[{name!r}] in bot/cli.py to {own!r}"
