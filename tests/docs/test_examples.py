"""Every example in README.md and docs/*.md runs as written (as datasette tests its docs).

Shell examples: each line of a fenced block that starts with `groundswell`, `make`,
`.venv/bin/groundswell` or `printf ... |` runs in bash, in order, block by block, in a
temporary folder with a database of its own (holding a small demo cohort, so reports and
exports have something to show; a block that starts with `groundswell demo` gets an empty
one) and a copy of the shipped flows. It must exit 0 with no traceback; a piped chat must
reach the end of its check-in. The few that cannot run here (servers that run until Ctrl-C,
a bot that needs a Telegram token) are listed in SKIPPED with the reason, and an example
that is neither run nor listed fails the test.

YAML examples in docs/writing-flows.md: a whole flow must pass `flows check`; a fragment
is checked inside a small flow (FRAGMENTS says where it goes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from survey_flows.checks.flow import check_flow
from survey_flows.checks.folder import default_flows_folder

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
GROUNDSWELL = Path(sys.executable).parent / "groundswell"
PASSWORD = "correct horse battery staple"

#: Examples that cannot run in a test, by their command (what precedes any `#` comment).
SKIPPED = {
    "make run": "installs and then serves until Ctrl-C; checked by hand from a fresh clone",
    "make test": "the whole test suite, of which this test is a part",
    "groundswell run": "serves until Ctrl-C",
    "groundswell run --host 0.0.0.0 --port 8080": "serves until Ctrl-C",
    "groundswell telegram-poll": "needs a Telegram bot token and polls until Ctrl-C",
}
#: Commands that ask for a password read it from their piped input.
ASKS_PASSWORD = re.compile(r"groundswell users (add|password) ")

_FENCE = re.compile(r"^```(\w*)\s*$")
_COMMAND = re.compile(r"^(?:\.venv/bin/)?groundswell\b|^printf .*\||^make\b")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it starts, its language tag and its lines."""

    path: Path
    line: int
    language: str
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file."""
    found: list[Block] = []
    inside: tuple[int, str, list[str]] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = _FENCE.match(line)
        if fence and inside is None:
            inside = (number, fence.group(1), [])
        elif line.startswith("```") and inside is not None:
            found.append(Block(path, inside[0], inside[1], tuple(inside[2])))
            inside = None
        elif inside is not None:
            inside[2].append(line)
    return found


def commands(block: Block) -> list[str]:
    """The shell examples of a block, without their trailing comments."""
    if block.language not in ("", "sh", "bash", "shell"):
        return []
    return [_strip_comment(line) for line in block.lines if _COMMAND.match(line.strip())]


def _strip_comment(line: str) -> str:
    """`cmd   # what it does` -> `cmd` (a `#` inside quotes stays)."""
    quote = None
    for index, char in enumerate(line):
        if char in "'\"" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip()
    return line.strip()


SHELL_BLOCKS = [
    pytest.param(block, id=block.where)
    for path in DOCUMENTS
    for block in blocks(path)
    if commands(block)
]


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo cohort, made once and copied for each block."""
    folder = tmp_path_factory.mktemp("docs-demo")
    env = os.environ | {"DATABASE_URL": f"sqlite:///{folder / 'groundswell.db'}"}
    done = subprocess.run(
        [str(GROUNDSWELL), "demo", "--people", "30", "--weeks", "4"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / "groundswell.db"


def _files(folder: Path) -> None:
    """The files the examples name: a flow of one's own and a CSV file of past answers."""
    flows_doc = ROOT / "docs" / "writing-flows.md"
    whole = next(b for b in blocks(flows_doc) if b.language == "yaml" and _is_flow(b))
    (folder / "my-flow.yaml").write_text("\n".join(whole.lines) + "\n", encoding="utf-8")
    reports_doc = ROOT / "docs" / "reports.md"
    csv_block = next(
        b for b in blocks(reports_doc) if b.lines and b.lines[0].startswith("participant,")
    )
    (folder / "past-answers.csv").write_text("\n".join(csv_block.lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("block", SHELL_BLOCKS)
def test_shell_examples_run_as_written(block: Block, demo_database: Path, tmp_path: Path) -> None:
    run = commands(block)
    database = tmp_path / "groundswell.db"
    if not run[0].startswith("groundswell demo"):
        shutil.copyfile(demo_database, database)
    flows = tmp_path / "flows"
    shutil.copytree(default_flows_folder(), flows)
    _files(tmp_path)
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "groundswell").symlink_to(GROUNDSWELL)
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{database}",
        "GROUNDSWELL_FLOWS": str(flows),
        "PATH": f"{GROUNDSWELL.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("GROUNDSWELL_PUBLIC_URL", None)
    for command in run:
        if command in SKIPPED:
            continue
        stdin = f"{PASSWORD}\n{PASSWORD}\n" if ASKS_PASSWORD.search(command) else ""
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=tmp_path, env=env, input=stdin, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        said = f"{block.where}: `{command}`\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        assert done.returncode == 0, said
        assert "Traceback" not in done.stderr, said
        if command.startswith("printf") and " chat " in command:
            assert "Input ended" not in done.stderr, said  # it answers every question


def test_every_shell_example_is_run_or_skipped_with_a_reason() -> None:
    found = {command for path in DOCUMENTS for b in blocks(path) for command in commands(b)}
    assert set(SKIPPED) <= found, "a skipped example is no longer in the docs: drop it"
    assert len(found - set(SKIPPED)) >= 20  # the extraction still finds the examples


# --- YAML examples in docs/writing-flows.md ----------------------------------------------

_BASE = """\
flow: example
title: Example
steps:
  - id: life_satisfaction
    ask: "How satisfied are you with your life? 0 to 10"
    type: scale
    min: 0
    max: 10
    measure: life_satisfaction
  - id: anxious
    ask: "How anxious did you feel yesterday? 0 to 10"
    type: scale
    min: 0
    max: 10
    measure: anxiety
{steps}measures:
  life_satisfaction: {{label: "Life satisfaction"}}
  anxiety: {{label: "Anxiety", higher_is_better: false}}
"""


def _with_steps(steps: str) -> str:
    """The small flow with `steps` added, and an entry for each measure they feed."""
    extra = "".join(
        f"  {name}: {{label: {name}}}\n" for name in re.findall(r"measure: (\w+)", steps)
    )
    return _BASE.format(steps=steps) + extra


def _measures_flow(text: str) -> str:
    """A flow with one 0-10 scale question feeding each measure the fragment declares."""
    names = re.findall(r"^  (\w+):", text, flags=re.M)
    steps = "".join(
        f'  - id: {name}\n    ask: "{name}? 0 to 10"\n    type: scale\n    min: 0\n'
        f"    max: 10\n    measure: {name}\n"
        for name in names
    )
    return f"flow: example\ntitle: Example\nsteps:\n{steps}{text}\n"


#: How a fragment of a flow is checked, by its first line: the small flow it goes in.
FRAGMENTS: dict[str, Callable[[str], str]] = {
    "# yaml-language-server": lambda text: text + "\n" + _with_steps(""),
    "  - id: ": lambda text: _with_steps(text + "\n"),
    "measures:": _measures_flow,
    "    ask:": lambda text: _with_steps("  - id: lonely\n" + text + "\n    type: text\n"),
    "schedule:": lambda text: text + "\n" + _with_steps(""),
}


def _is_flow(block: Block) -> bool:
    return any(line.startswith("flow:") for line in block.lines)


YAML_BLOCKS = [
    pytest.param(block, id=block.where)
    for block in blocks(ROOT / "docs" / "writing-flows.md")
    if block.language == "yaml"
]


@pytest.mark.parametrize("block", YAML_BLOCKS)
def test_yaml_examples_pass_flows_check(block: Block) -> None:
    text = "\n".join(block.lines)
    if _is_flow(block):
        candidates = [text + "\n"]
    else:
        first = block.lines[0]
        if first.startswith(("    when:", "    alert:")):  # conditions, one per line
            candidates = [_condition_flow(line) for line in block.lines]
        else:
            build = next((f for key, f in FRAGMENTS.items() if first.startswith(key)), None)
            assert build is not None, f"{block.where}: say in FRAGMENTS how to check it"
            candidates = [build(text)]
    for candidate in candidates:
        problems = check_flow(candidate, block.where).problems
        assert problems == [], f"{block.where}:\n{candidate}\n{problems}"


def _condition_flow(line: str) -> str:
    """A flow in which one documented `when:` or `alert:` line is checked on its own."""
    key, _, condition = line.strip().partition(": ")
    extra = (
        '  - id: safe\n    ask: "How safe do you feel?"\n    type: choice\n    choices:\n'
        '      - {value: very_unsafe, label: "Very unsafe"}\n'
        '      - {value: safe, label: "Safe"}\n'
        '  - id: callback\n    ask: "Shall we call you?"\n    type: yes_no\n'
    )
    last = f'  - id: last\n    {key}: {condition}\n    say: "Thank you."\n'
    if key == "alert":
        last = f'  - id: last\n    ask: "Anything else?"\n    type: text\n    {key}: {condition}\n'
    return _with_steps(extra + last)
