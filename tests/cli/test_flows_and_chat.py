"""`groundswell flows check|graph` and `groundswell chat`, as staff would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed command itself, so piping works exactly as in a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_every_command_has_help() -> None:
    runner = CliRunner()
    names = main.list_commands(click.Context(main))
    assert {"flows", "chat", "clock", "coordinators"} <= set(names)
    for name in names:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Usage:" in result.output


def test_the_shipped_flows_pass_check() -> None:
    result = CliRunner().invoke(main, ["flows", "check"])
    assert result.exit_code == 0
    assert "3 flow file(s) OK." in result.output


def test_check_lists_every_problem_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "flow: bad\ntitle: Bad\nsteps:\n  - id: a\n    ask: 'q'\n    type: scale\n"
        "    min: 0\n    colour: red\n  - id: a\n    say: 'again'\n",
        encoding="utf-8",
    )
    good = tmp_path / "good.yaml"
    good.write_text("flow: good\ntitle: Good\nsteps:\n  - id: a\n    say: 'hi'\n", "utf-8")
    result = CliRunner().invoke(main, ["flows", "check", str(bad), str(good)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(bad))]
    assert len(lines) >= 3
    assert any(f"{bad}:6:" in line and "min" in line and "max" in line for line in lines)
    assert any(f"{bad}:8:" in line and "colour" in line for line in lines)
    assert any(":9:" in line and "'a'" in line for line in lines)
    assert "good.yaml" not in "\n".join(lines)


def test_check_refuses_an_undeclared_measure_and_a_value_no_answer_can_take(
    tmp_path: Path,
) -> None:
    flow = tmp_path / "warm.yaml"
    flow.write_text(
        "flow: warm\ntitle: Warm\nsteps:\n"
        "  - id: warm\n    ask: Warm enough?\n    type: choice\n    measure: warmth\n"
        "    choices:\n      - {value: always, label: Always, score: 2}\n"
        "      - {value: never, label: Never, score: 0}\n"
        "  - id: help\n    when: \"answers.warm == 'nevr'\"\n    say: We can help.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["flows", "check", str(flow)])
    assert result.exit_code == 1
    assert f"{flow}:7: step 'warm': measure 'warmth' is not declared;" in result.output
    assert (
        f"{flow}:12: step 'help': `when`: 'nevr' is not one of the choices of step 'warm'; "
        "did you mean 'never'?"
    ) in result.output


def test_check_never_shows_a_traceback_for_a_binary_or_missing_file(tmp_path: Path) -> None:
    binary = tmp_path / "photo.yaml"
    binary.write_bytes(b"\x89PNG\x00\x01")
    result = CliRunner().invoke(main, ["flows", "check", str(binary), str(tmp_path / "no.yaml")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{binary}:1:" in result.output
    assert "no.yaml:1: there is no such file" in result.output


def test_graph_prints_mermaid() -> None:
    result = CliRunner().invoke(main, ["flows", "graph", "weekly-wellbeing"])
    assert result.exit_code == 0
    assert result.output.startswith("flowchart TD")
    assert "callback" in result.output


def test_graph_of_an_unknown_flow_lists_the_known_ones() -> None:
    result = CliRunner().invoke(main, ["flows", "graph", "no-such-flow"])
    assert result.exit_code == 1
    assert "weekly-wellbeing" in result.output


def test_piped_chat_runs_the_whole_weekly_flow() -> None:
    done = run(
        "chat", "weekly-wellbeing", "--name", "Ana",
        stdin="7\n8\n9\n2\nrarely\nThe bench got fixed\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Hi Ana, time for your 2-minute check-in. Reply STOP to stop."
    assert "1) Often or always 2) Some of the time 3) Occasionally 4) Hardly ever 5) Never" in lines
    assert lines[-1] == "Thank you Ana. You gave life satisfaction 7 today; see you next week."


def test_chat_exits_cleanly_when_input_runs_out_and_reads_welsh() -> None:
    done = run("chat", "weekly-wellbeing", "--name", "Dai", "--lang", "cy", stdin="7\n")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0].startswith("Helo Dai")


@pytest.mark.parametrize("reply", ["x" * 10_000, "🌍🌍🌍", "\x00\x07", "", "مرحبا"])
def test_chat_answers_hostile_input_with_a_clear_message(reply: str) -> None:
    done = run("chat", "weekly-wellbeing", stdin=reply + "\n")
    assert done.returncode == 0
    assert "Traceback" not in done.stderr
    assert "Please reply with a whole number from 0 to 10." in done.stdout


def test_chat_alert_is_shown_on_stderr() -> None:
    done = run("chat", "weekly-wellbeing", stdin="2\n5\n5\n5\nyes\n")
    assert "[alert to coordinators: answers.callback]" in done.stderr


def test_chat_with_a_flow_file_path(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(
        "flow: mini\ntitle: Mini\nsteps:\n  - id: ok\n    ask: 'All OK?'\n    type: yes_no\n"
        "outro: 'Bye {{ answers.ok }}'\n",
        encoding="utf-8",
    )
    done = run("chat", str(path), stdin="yep\n")
    assert done.stdout.splitlines() == ["All OK?", "Bye yes"]


def test_piped_chat_that_ends_early_says_why_it_stopped() -> None:
    done = run("chat", "weekly-wellbeing", stdin="7\nyes\n")
    assert done.returncode == 0
    assert "Please reply with a whole number from 0 to 10." in done.stdout
    assert (
        "Input ended before the check-in finished; the last question was: Overall, to what "
        "extent do you feel the things you do in your life are worthwhile?"
    ) in done.stderr


def test_a_finished_piped_chat_says_nothing_about_input_ending() -> None:
    done = run("chat", "weekly-wellbeing", stdin="3\n6\n5\n8\nyes\n2\nThe bus came\n")
    assert done.returncode == 0
    assert "Input ended" not in done.stderr
    assert done.stdout.splitlines()[-1].startswith("Thank you there.")


def test_chat_with_an_unknown_flow_lists_the_flows_plainly() -> None:
    done = run("chat", "nosuchflow")
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("There is no flow called 'nosuchflow'.")
    assert "  weekly-wellbeing" in lines
    assert ":1:" not in done.stderr
    assert "Traceback" not in done.stderr
