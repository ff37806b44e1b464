"""Hostile flow files: templates and conditions that reach for Python internals, YAML
tricks, and random damage to real flows.

Two fences keep a flow file away from Python's insides (survey_flows/expressions.py): the
static check behind `groundswell flows check` (and every load, including a check-in's
stored flow version) rejects anything outside a small grammar; and at run time Jinja's
sandbox evaluates, with any failure rendering as empty text or a false condition. Both are
tested here on their own: the check through the real CLI, the run time on a hand-built
`Flow` that never went through the check.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from survey_flows import engine
from survey_flows.checks.flow import INTERNAL_ERROR, check_flow_text
from survey_flows.checks.folder import FlowLibrary
from survey_flows.checks.loading import parse_flow
from survey_flows.checks.problems import FlowError
from survey_flows.engine_values import Participant, Reply, Start
from survey_flows.expressions import check_condition, check_template, context, holds, render
from survey_flows.model import Flow

LIBRARY = Path(__file__).resolve().parents[2] / "survey_flows" / "library"
NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)

#: Templates that try to reach Python internals, the sandbox's helpers, or the file system.
TEMPLATES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ answers.__class__ }}",
    "{{ answers.mood.__class__.__base__.__subclasses__() }}",
    "{{ participant.__dict__ }}",
    "{{ participant.name|attr('__class__') }}",
    "{{ participant.name|attr('upper')() }}",
    "{{ '%s'|format(answers) }}",
    "{{ '{0.__class__}'.format(answers) }}",
    "{{ answers['mood'] }}",
    "{{ answers.items() }}",
    "{{ answers|tojson }}",
    "{{ answers|pprint }}",
    "{{ answers.mood|map('upper')|list }}",
    "{{ participant.name.upper() }}",
    "{{ 10 ** 100 }}",
    "{% for x in range(9) %}{{ x }}{% endfor %}",
    "{% for x in answers %}{{ x }}{% endfor %}",
    "{% set x = joiner.__init__ %}{{ x }}",
    "{% macro m() %}{{ caller }}{% endmacro %}{{ m() }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
]
#: Conditions (`when`, `alert`) with the same aims.
CONDITIONS = [
    "answers.__class__",
    "''.__class__ == ''.__class__",
    "cycler.__init__.__globals__",
    "answers.mood.__class__.__name__ == 'int'",
    "answers.mood.real > 1",
    "answers['mood'] > 1",
    "answers|attr('items')",
    "answers.mood|format('x') == 'x'",
    "range(10)|length > 3",
    "lipsum(1)|length > 0",
    "self",
    "(1).__class__",
    "[].__class__.__base__",
    "answers.mood ** 999 > 1",
]
#: Globals that only a template bypassing the check could name.
BARE_GLOBALS = [
    "{{ cycler }}",
    "{{ joiner }}",
    "{{ namespace }}",
    "{{ lipsum }}",
    "{{ range }}",
    "{{ dict }}",
    "{{ self }}",
    "{% set x = cycler %}{{ x }}",
]
#: Marks of something from the inside showing up in a message.
LEAKS = re.compile(
    r"<class|<function|<module|<built-in|<bound|__|subclasses|globals|jinja2|0x[0-9a-f]{6,}"
    r"|TemplateReference|root:|uid="
)


def _flow_text(*, intro: str = "Hi", ask: str = "Mood from 0 to 10?", when: str = "") -> str:
    lines = [
        "flow: hostile",
        "title: Hostile",
        f"intro: {json.dumps(intro)}",
        "steps:",
        "  - id: mood",
        f"    ask: {json.dumps(ask)}",
        "    type: scale",
        "    min: 0",
        "    max: 10",
        "  - id: note",
        '    ask: "Anything else?"',
        "    type: text",
    ]
    if when:
        lines.append(f"    when: {json.dumps(when)}")
    return "\n".join(lines) + "\n"


def _names() -> dict:
    return context(
        participant={"name": "Sam", "language": "en", "id": "P-1"},
        answers={"mood": 3, "note": "hello"},
        previous={"mood": 5},
    )


# --- the static check: `groundswell flows check` ------------------------------------------


@pytest.mark.parametrize("where", ["intro", "ask"])
def test_flows_check_rejects_templates_that_reach_for_internals(tmp_path: Path, where: str) -> None:
    runner = CliRunner()
    for n, template in enumerate(TEMPLATES):
        path = tmp_path / f"t{n}.yaml"
        path.write_text(_flow_text(**{where: f"Hello {template}"}))

        result = runner.invoke(main, ["flows", "check", str(path)])

        assert result.exit_code == 1, (template, result.output)
        assert f"{path}:" in result.output, (template, result.output)
        assert f"`{where}`" in result.output, (template, result.output)


def test_flows_check_rejects_conditions_that_reach_for_internals(tmp_path: Path) -> None:
    runner = CliRunner()
    for n, condition in enumerate(CONDITIONS):
        path = tmp_path / f"c{n}.yaml"
        path.write_text(_flow_text(when=condition))

        result = runner.invoke(main, ["flows", "check", str(path)])

        assert result.exit_code == 1, (condition, result.output)
        assert "`when`" in result.output, (condition, result.output)


def test_a_stored_flow_version_is_checked_again_when_loaded() -> None:
    """A check-in's flow version is read back through `parse_flow`: a hostile template
    written into the database directly still never reaches the engine."""
    for template in TEMPLATES:
        with pytest.raises(FlowError):
            parse_flow(_flow_text(intro=template), "hostile@stored")


# --- run time, with the check bypassed ----------------------------------------------------


def test_templates_that_reach_for_internals_render_harmlessly() -> None:
    names = _names()
    for template in TEMPLATES:
        text = render(f"Hello {template}!", names)
        assert not LEAKS.search(text), (template, text)


def test_conditions_that_reach_for_internals_are_false_or_harmless() -> None:
    names = _names()
    for condition in CONDITIONS:
        result = holds(condition, names)
        assert isinstance(result, bool), condition
        if "__" in condition:
            assert result is False, condition


def test_a_hand_built_flow_with_hostile_texts_runs_harmlessly() -> None:
    """The engine on a `Flow` whose texts and conditions never went through the check."""
    flow = parse_flow(_flow_text(), "hostile.yaml")
    for template, condition in zip(TEMPLATES, [*CONDITIONS] * 3, strict=False):
        steps = (
            dataclasses.replace(flow.steps[0], text={"en": f"Q {template}"}),
            dataclasses.replace(flow.steps[1], text={"en": f"Note {template}"}, when=condition),
        )
        hostile = dataclasses.replace(
            flow, intro={"en": template}, outro={"en": template}, steps=steps
        )
        person = Participant(id="P-1", name="Sam", language=None, opted_out=False, previous={})

        started = engine.advance(hostile, engine.new_conversation(hostile), Start(), person, NOW)
        replied = engine.advance(hostile, started.state, Reply(text="3"), person, NOW)
        finished = engine.advance(hostile, replied.state, Reply(text="fine"), person, NOW)

        for outcome in (started, replied, finished):
            for message in outcome.messages:
                assert not LEAKS.search(message.text), (template, condition, message.text)


def test_bare_sandbox_globals_render_nothing_from_the_inside() -> None:
    names = _names()
    leaked = {t: render(t, names) for t in BARE_GLOBALS if LEAKS.search(render(t, names))}

    assert leaked == {}


def test_flows_check_rejects_unbounded_repetition() -> None:
    for template in (
        "{{ answers.note * 100000000 }}",
        "{{ 'x' * 1000000000 }}",
        "{{ [answers.note] * 100000000 }}",
    ):
        assert check_template(template, ["note"]), template
    assert check_condition("answers.note * 100000000 == ''", ["note"])
    with pytest.raises(FlowError):
        parse_flow(_flow_text(intro="{{ previous.note * 100000000 }}"), "big.yaml")


# --- YAML tricks -------------------------------------------------------------------------------


def _billion_laughs(where: str) -> str:
    lines = ['x0: &x0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 9):
        lines.append(f"x{n}: &x{n} [" + ", ".join([f"*x{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n" + _flow_text().replace('ask: "Anything else?"', where)


@pytest.mark.parametrize(
    "text",
    [
        _billion_laughs("ask: *x8"),
        _billion_laughs("choices: *x8\n    ask: pick"),
        _billion_laughs("when: *x8\n    ask: x"),
        "flow: " + "[" * 3000,
        "flow: " + "{a: " * 3000,
        _flow_text() + "measures: !!python/object/apply:os.system ['touch {marker}']\n",
        _flow_text().replace("Hi", "!!python/name:os.system"),
        _flow_text() + "schedule: !!binary aGVsbG8=\n",
        _flow_text() + "schedule:\n  <<: {every: day, at: '10:00'}\n  <<: {every: week}\n",
        _flow_text().replace("max: 10", "max: .inf").replace("min: 0", "min: .nan"),
        _flow_text().replace("max: 10", "max: 1e400"),
        _flow_text().replace("max: 10", "max: 99999999999999999999999999999"),
        _flow_text().replace("id: mood", "id: \u202emood").replace("mood", "m\u200bood"),
        _flow_text() + "\x00",
        "\ufeff" + _flow_text() + "\ufeff",
        _flow_text() + "flow: again\n",
        "%YAML 1.1\n---\n" + _flow_text(),
        "--- !!map\n" + _flow_text() + "...\n--- second document\n",
    ],
    ids=[
        "billion laughs in ask",
        "billion laughs in choices",
        "billion laughs in when",
        "deep lists",
        "deep maps",
        "python tag",
        "python name",
        "binary",
        "merge keys",
        "nan and inf",
        "huge float",
        "huge int",
        "bidi and zero width",
        "nul",
        "byte order marks",
        "duplicate key",
        "yaml 1.1",
        "two documents",
    ],
)
def test_yaml_tricks_give_a_flow_or_plain_problems_quickly(tmp_path: Path, text: str) -> None:
    marker = tmp_path / "pwned"
    text = text.replace("{marker}", str(marker))
    began = time.monotonic()

    flow, problems = check_flow_text(text, "trick.yaml")

    assert time.monotonic() - began < 20
    assert not marker.exists()
    assert flow is not None or problems
    assert not any(INTERNAL_ERROR in p.message for p in problems), [str(p) for p in problems]


# --- random damage to the shipped flows ----------------------------------------------------------

_SHIPPED = {path.name: path.read_text() for path in sorted(LIBRARY.glob("*.yaml"))}


@st.composite
def _damaged(draw: st.DrawFn) -> str:
    """A shipped flow with a few lines deleted, doubled, swapped or typed over."""
    lines = _SHIPPED[draw(st.sampled_from(sorted(_SHIPPED)))].splitlines()
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "double", "swap", "type", "indent", "cut"]))
        if action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "double":
            lines.insert(at, lines[at])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "type":
            column = draw(st.integers(0, len(lines[at])))
            pieces = st.sampled_from([*":-[]{}&*!|>'\"#%@` \t\\", "{{", "}}"])
            junk = "".join(draw(st.lists(pieces, max_size=6)))
            lines[at] = lines[at][:column] + junk + lines[at][column:]
        elif action == "indent":
            lines[at] = " " * draw(st.integers(0, 7)) + lines[at].lstrip()
        else:
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_damaged())
def test_damaged_shipped_flows_give_a_flow_or_flow_error(text: str) -> None:
    try:
        flow = parse_flow(text, "damaged.yaml")
    except FlowError as error:
        assert error.problems
        assert all(p.line >= 1 and p.message for p in error.problems)
        assert not any(INTERNAL_ERROR in p.message for p in error.problems), str(error)
    else:
        assert flow.steps


def test_the_shipped_flows_pass_the_check() -> None:
    """The damage above starts from valid flows."""
    library = FlowLibrary(LIBRARY)
    assert library.check_all() == []
    assert isinstance(library.resolve("welcome"), Flow)
