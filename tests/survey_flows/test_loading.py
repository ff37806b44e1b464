"""Flow files: the format page's example loads exactly, and every mistake is reported plainly
as FILE:LINE: message, all at once, never as a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from survey_flows.checks.choices import CHOICE_KEYS
from survey_flows.checks.flow import INTERNAL_ERROR, TOP_KEYS, check_flow_text
from survey_flows.checks.folder import FlowLibrary, flow_for_author
from survey_flows.checks.loading import load_flow, parse_flow
from survey_flows.checks.measures import MEASURE_KEYS
from survey_flows.checks.problems import FlowError, FlowProblem
from survey_flows.checks.schedule import SCHEDULE_KEYS
from survey_flows.checks.steps import STEP_KEYS
from survey_flows.model import Choice, Measure, Schedule

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "weekly-wellbeing.yaml"  # the complete example of flow-format.md, verbatim

MINIMAL = """\
flow: minimal
title: Minimal
steps:
  - id: mood
    ask: "Mood from 0 to 10?"
    type: scale
    min: 0
    max: 10
"""


def problems_of(text: str, path: str = "test.yaml") -> list[FlowProblem]:
    flow, problems = check_flow_text(text, path)
    assert flow is None, "expected the flow to be rejected"
    assert problems
    return problems


def only_problem(text: str) -> FlowProblem:
    problems = problems_of(text)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def with_step(extra: str) -> str:
    """MINIMAL with more lines for its step (indented four spaces)."""
    return MINIMAL + "".join(f"    {line}\n" for line in extra.splitlines())


# --- the complete example ----------------------------------------------------------------


def test_the_format_pages_example_parses_into_the_expected_flow() -> None:
    flow = load_flow(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")

    assert flow.id == "weekly-wellbeing"
    assert flow.title == "Weekly wellbeing check-in"
    assert flow.language == "en"
    assert flow.schedule == Schedule(
        every="week",
        on="friday",
        at="18:00",
        cron=None,
        expires=timedelta(hours=48),
        reminders=(timedelta(hours=4), timedelta(hours=24)),
    )
    assert flow.intro == {
        "en": "Hi {{ participant.name }}, time for your 2-minute check-in. Reply STOP to stop."
    }
    assert flow.outro is not None and "{{ answers.life_satisfaction }}" in flow.outro["en"]
    assert [step.id for step in flow.steps] == ["life_satisfaction", "callback", "lonely", "story"]

    life, callback, lonely, story = flow.steps
    assert (life.kind, life.type, life.min, life.max) == ("ask", "scale", 0, 10)
    assert life.measure == "life_satisfaction"
    assert life.line == 12
    assert life.text["en"].startswith("Overall, how satisfied")

    assert callback.type == "yes_no"
    assert callback.when == "answers.life_satisfaction <= 4"
    assert callback.alert == "answers.callback"
    assert callback.max_attempts == 3 and not callback.optional

    assert lonely.text == {
        "en": "How often do you feel lonely?",
        "cy": "Pa mor aml ydych chi'n teimlo'n unig?",
    }
    assert lonely.type == "choice" and lonely.measure == "loneliness"
    assert lonely.choices[0] == Choice("often", {"en": "Often or always"}, 4, ())
    assert lonely.choices[3] == Choice("hardly_ever", {"en": "Hardly ever"}, 1, ("rarely",))
    assert [c.score for c in lonely.choices] == [4, 3, 2, 1, 0]

    assert (story.type, story.optional, story.max_length) == ("text", True, 1000)

    assert flow.measures == {
        "life_satisfaction": Measure("life_satisfaction", "Life satisfaction", True),
        "loneliness": Measure("loneliness", "Loneliness", False, None, 1.0),
    }
    assert flow.version == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert flow.source_path == str(EXAMPLE)
    assert flow.source_text == text


def test_parse_flow_gives_the_same_flow_as_load_flow() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert parse_flow(text, str(EXAMPLE)) == load_flow(EXAMPLE)


def test_yaml_1_2_on_yes_and_no_are_plain_strings() -> None:
    flow = parse_flow(
        """\
flow: yes-no
title: YAML 1.2 words
schedule: {every: week, on: friday}
steps:
  - id: pick
    ask: "Yes or no or off?"
    type: choice
    choices:
      - {value: yes, label: yes}
      - {value: no, label: no}
      - {value: off, label: off}
"""
    )
    assert flow.schedule is not None and flow.schedule.on == "friday"
    assert flow.schedule.at == "18:00"  # the default
    assert [c.value for c in flow.step("pick").choices] == ["yes", "no", "off"]


def test_extensions_users_would_expect() -> None:
    """Case-insensitive weekdays and language codes, H:MM times, a single reminder, numeric
    choice values, and a measure defined only by the steps that use it."""
    flow = load_flow(DATA / "cron-weekdays.yaml")
    assert flow.language == "en"
    assert flow.intro == {
        "en": "Morning {{ participant.name }}.",
        "pt-br": "Bom dia {{ participant.name }}.",
    }
    assert flow.schedule == Schedule(
        cron="30 8 * * mon-fri",
        at="18:00",
        expires=timedelta(minutes=90),
        reminders=(timedelta(minutes=30),),
    )
    assert [c.value for c in flow.step("energy").choices] == ["1", "2", "3"]
    assert flow.step("energy").choices[1].aliases == ("ok", "so-so")
    assert flow.measures == {"slept_well": Measure("slept_well", "Slept well")}
    hours = flow.step("hours")
    assert (hours.min, hours.max, hours.max_attempts) == (0, None, 2)
    assert hours.invalid == {"en": "Please reply with a number of hours, like 6.5."}

    monthly = load_flow(DATA / "monthly.yaml")
    assert monthly.schedule == Schedule(every="month", on=1, at="09:30")
    assert monthly.measures["month_rating"] == Measure("month_rating", "Month rating", True, 0.7)

    fortnight = parse_flow(MINIMAL + "schedule: {every: fortnight, on: SUN, at: '07:05'}\n")
    assert fortnight.schedule == Schedule(every="fortnight", on="sunday", at="07:05")


# --- each rejection the format page lists, with its exact line ---------------------------


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("bad-unknown-step.yaml", 9, "'answers.mod' refers to an unknown step 'mod'"),
        ("bad-when-later.yaml", 5, "`when`: 'answers.mood' refers to a later step"),
        ("bad-scale-bounds.yaml", 6, "`type: scale` needs `min` and `max`, e.g. min: 0, max: 10"),
        ("bad-duplicate-id.yaml", 12, "step id 'mood' is used twice (first on line 4)"),
        ("bad-unknown-key.yaml", 9, "unknown key `mesure`; did you mean `measure`?"),
        ("bad-duration.yaml", 6, "`expires` '2 days' is not a duration; write a whole number"),
        ("bad-template.yaml", 3, "`intro`: template does not parse"),
        ("bad-duplicate-key.yaml", 9, "`min` appears twice in the same block"),
        ("bad-yaml.yaml", 5, "put the whole text in double quotes"),
    ],
)
def test_each_listed_rejection_names_file_line_and_key(name: str, line: int, words: str) -> None:
    path = DATA / name
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert len(caught.value.problems) == 1, str(caught.value)
    problem = caught.value.problems[0]
    assert problem.path == str(path)
    assert problem.line == line
    assert words in problem.message
    assert str(problem) == f"{path}:{line}: {problem.message}"


def test_a_misspelt_step_in_a_template_gets_a_suggestion() -> None:
    problem = load_flow_problems(DATA / "bad-unknown-step.yaml")[0]
    assert problem.message.endswith("(did you mean 'mood'?)")


def load_flow_problems(path: Path) -> list[FlowProblem]:
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    return caught.value.problems


def test_all_problems_of_a_file_are_reported_in_line_order() -> None:
    problems = load_flow_problems(DATA / "bad-many.yaml")
    found = [(p.line, p.message) for p in problems]
    assert [line for line, _ in found] == [1, 3, 5, 7, 11, 15, 18, 20, 22, 22]
    expected = [
        "`flow` is the flow's id and may hold only lowercase letters, digits and dashes, "
        "e.g. flow: many-problems",
        "unknown key `colour`",
        "`every: weekly` is not a period; did you mean `week`?",
        "`reminders` must go from shortest to longest",
        "step 'mood': `type: slider` is not a step type",
        "step 'lonely': measure 'loneliness' is not declared under `measures:`; "
        "did you mean 'lonelyness'?",
        "step 'lonely': choice 2: this step feeds a `measure`, so every choice needs a `score`",
        "step 'story': `say`: '__class__' can only follow participant, answers or previous",
        "measure 'lonelyness': no step uses this measure (did you mean 'loneliness'?)",
        "`reliability` is a test-retest correlation between 0 and 1",
    ]
    for (_, message), words in zip(found, expected, strict=True):
        assert words in message
    assert str(FlowError(problems)).count("\n") == len(problems) - 1


# --- YAML and file problems --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("flow: x\ntitle: 'never closed\nsteps: []\n", 2, "a quoted text starting here is never"),
        ("flow: x\n\ttitle: y\n", 2, "indent with spaces, never tabs"),
        ("flow: x\ntitle: y\nsteps:\n  - id: a\n   ask: b\n", 5, "does not line up"),
        ("flow: x\nsteps: [a, b\n", 2, "a [ or { here is never closed"),
        ('flow: x\nsteps: ["a" "b"]\n', 2, "separated by commas"),
        ("flow: x\n---\nflow: y\n", 2, "more than one document"),
        ("flow: x\x00\n", 1, "control character"),
    ],
)
def test_malformed_yaml_is_one_plain_problem_at_its_line(text: str, line: int, words: str) -> None:
    problem = only_problem(text)
    assert problem.line == line
    assert words in problem.message
    assert problem.message.startswith("the file is not valid YAML") or "character" in words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "this file holds nothing"),
        ("# only a comment\n", "this file holds nothing"),
        ("- a\n- b\n", "this file holds a list"),
        ("just some words\n", "this file holds 'just some words'"),
    ],
)
def test_a_file_that_is_not_a_mapping_is_one_problem(text: str, words: str) -> None:
    problem = only_problem(text)
    assert problem.line == 1
    assert "a flow file must be a set of keys" in problem.message and words in problem.message


def test_a_binary_file_is_a_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "picture.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    problems = load_flow_problems(path)
    assert len(problems) == 1
    assert problems[0].path == str(path) and problems[0].line == 1
    assert "binary file, not a YAML text file" in problems[0].message


def test_a_file_in_another_encoding_is_a_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("flow: x\ntitle: Caf\u00e9\n".encode("latin-1"))
    (problem,) = load_flow_problems(path)
    assert problem.line == 2
    assert "not UTF-8 text" in problem.message and "save it as UTF-8" in problem.message


def test_missing_file_and_folder_are_clear_problems(tmp_path: Path) -> None:
    (missing,) = load_flow_problems(tmp_path / "nope.yaml")
    assert missing.message == "there is no such file"
    (folder,) = load_flow_problems(tmp_path)
    assert "folder, not a flow file" in folder.message


def test_a_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode("utf-8"))
    assert load_flow(path).id == "minimal"


# --- top level, steps, choices, measures -------------------------------------------------


def test_required_keys_are_named() -> None:
    problems = problems_of("language: en\n")
    assert [p.line for p in problems] == [1, 1, 1]
    assert ["`flow` is missing" in problems[0].message, "`title` is missing" in problems[1].message]
    assert "`steps` is missing" in problems[2].message


def test_unknown_keys_at_every_level_get_suggestions() -> None:
    text = """\
flow: levels
titel: Levels
schedule: {every: day, time: "09:00"}
steps:
  - id: feel
    question: "How do you feel?"
    ask: "How do you feel?"
    type: choice
    choices:
      - {value: ok, lable: OK}
measures:
  x: {labels: X}
"""
    found = [(p.line, p.message) for p in problems_of(text)]
    for line, words in [
        (2, "unknown key `titel`; did you mean `title`?"),
        (3, "schedule: unknown key `time`; did you mean `at`?"),
        (6, "step 'feel': unknown key `question`; did you mean `ask`?"),
        (10, "step 'feel': choice 1: unknown key `lable`; did you mean `label`?"),
        (12, "measure 'x': unknown key `labels`; did you mean `label`?"),
    ]:
        assert any(at == line and words in message for at, message in found), (line, found)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("id: Mood", "may hold only lowercase letters, digits and underscores, e.g. id: mood"),
        ("flow: Big Flow", "e.g. flow: big-flow; found 'Big Flow'"),
    ],
)
def test_id_patterns(extra: str, words: str) -> None:
    key = extra.split(":")[0]
    text = MINIMAL.replace(f"{key}: mood" if key == "id" else "flow: minimal", extra)
    assert words in only_problem(text).message


@pytest.mark.parametrize(
    ("step", "line", "words"),
    [
        ('- id: a\n  say: "Hi"\n  ask: "Q?"\n  type: text', 5, "has both `ask` and `say`"),
        ("- id: a\n  type: text", 4, "needs `ask` (a question) or `say`"),
        ('- id: a\n  ask: "Q?"', 5, "`ask` needs a `type`: scale, number, choice, yes_no, text"),
        ('- id: a\n  ask: "Q?"\n  type: Scale', 6, "did you mean `scale`?"),
        ('- id: a\n  ask: "Q?"\n  type: scale\n  min: 0\n  max: 0', 8, "`max` (0) must be more"),
        ('- id: a\n  ask: "Q?"\n  type: scale\n  min: 0.5\n  max: 3', 7, "a whole number"),
        ('- id: a\n  ask: "Q?"\n  type: number\n  min: "1"', 7, "`min` must be a number"),
        ('- id: a\n  ask: "Q?"\n  type: number\n  min: 5\n  max: 1.5', 8, "must be more than"),
        ('- id: a\n  ask: "Q?"\n  type: text\n  min: 1', 7, "`min` only applies to scale or"),
        ('- id: a\n  ask: "Q?"\n  type: choice', 4, "`type: choice` needs `choices`"),
        ('- id: a\n  ask: "Q?"\n  type: choice\n  choices: []', 7, "a list of options"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  choices: [a]', 7, "only apply to `type: choice`"),
        ('- id: a\n  ask: "Q?"\n  type: text\n  measure: m', 7, "a text answer is not a number"),
        ('- id: a\n  say: "Hi"\n  measure: m', 6, "a `say` step has no answer"),
        ('- id: a\n  say: "Hi"\n  optional: true', 6, "`optional` only applies to questions"),
        ('- id: a\n  ask: "Q?"\n  type: text\n  optional: yes', 7, "must be true or false; found"),
        ('- id: a\n  ask: "Q?"\n  type: text\n  max_length: 0', 7, "`max_length` must be 1 or"),
        ('- id: a\n  ask: "Q?"\n  type: scale\n  min: 0\n  max: 5\n  max_length: 9', 9, "only"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  max_attempts: 0', 7, "`max_attempts` must be 1"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  max_attempts: two', 7, "a whole number"),
        ('- id: a\n  ask: ""\n  type: yes_no', 5, "`ask` is empty"),
        ("- id: a\n  ask: 42\n  type: yes_no", 5, "must be a text, or translations"),
        ('- id: a\n  ask: {en: "Q?", "en us": "Q?"}\n  type: yes_no', 5, "is not a language code"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  when: true', 7, "must be a condition"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  alert: "answers.a =="', 7, "does not parse"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  when: "answers.a"', 7, "a later step"),
        ('- id: a\n  ask: "You said {{ answers.a }}"\n  type: yes_no', 5, "a later step"),
        ('- id: a\n  ask: "Q?"\n  type: yes_no\n  alert: "answers.a and bad"', 7, "unknown name"),
        ("- just words", 4, "step 1 must be a set of keys"),
        ("- ask: 'Q?'\n  type: yes_no", 4, "step 1 needs an `id`"),
    ],
)
def test_step_rules(step: str, line: int, words: str) -> None:
    text = "flow: steps\ntitle: Steps\nsteps:\n" + "".join(f"  {s}\n" for s in step.splitlines())
    problems = problems_of(text)
    assert any(p.line == line and words in p.message for p in problems), [str(p) for p in problems]


CHOICE_STEP = "flow: c\ntitle: C\nsteps:\n  - id: pick\n    ask: Pick\n    type: choice\n"


@pytest.mark.parametrize(
    ("choices", "line", "words"),
    [
        ("- {value: a, label: A}\n- {value: a, label: B}", 9, "choice value 'a' is used twice"),
        ("- {value: a, label: Same}\n- {value: b, label: same!}", 9, "would match both 'a' and"),
        ("- {value: a, label: A, aliases: [x]}\n- {value: b, label: X}", 9, "would match both"),
        ("- {value: a, label: A}\n- {label: B}", 9, "choice 2: needs a `value`"),
        ("- {value: a, label: A}\n- {value: b}", 9, "choice 2: needs a `label`"),
        ("- {value: a, label: A, score: high}", 8, "`score` must be a number"),
        ("- {value: a, label: A, aliases: [{x: 1}]}", 8, "`aliases` must be a list of words"),
        ("- {value: '2', label: A}\n- {value: b, label: B}", 8, "a reply of 2 means option 2"),
        ("- plain", 8, "must be like {value: often"),
    ],
)
def test_choice_rules(choices: str, line: int, words: str) -> None:
    options = "".join(f"      {c}\n" for c in choices.splitlines())
    problems = problems_of(CHOICE_STEP + "    choices:\n" + options)
    assert any(p.line == line and words in p.message for p in problems), [str(p) for p in problems]


def test_a_choice_step_with_a_measure_needs_every_score() -> None:
    options = "      - {value: a, label: A, score: 1}\n      - {value: b, label: B}\n"
    text = CHOICE_STEP + "    measure: m\n    choices:\n" + options + "measures:\n  m:\n"
    problem = only_problem(text)
    assert problem.line == 10 and "every choice needs a `score`" in problem.message


def test_measures_rules() -> None:
    yes_no_measure = with_step("measure: mood_score") + (
        "  - id: helped\n    ask: Helped?\n    type: yes_no\n    measure: helped\n"
    )
    flow = parse_flow(yes_no_measure + "measures:\n  mood_score:\n  helped: {}\n")
    assert flow.measures["helped"] == Measure("helped", "Helped")
    assert flow.measure_label("mood_score") == "Mood score"

    text = with_step("measure: mood") + (
        "measures:\n"
        "  mood: {label: Mood, higher_is_better: 'yes', reliability: 0, meaningful_change: -1}\n"
        "  unused: {label: Unused}\n"
        "  broken: [1, 2]\n"
    )
    messages = [(p.line, p.message) for p in problems_of(text)]
    for line, words in [
        (11, "measure 'mood': `higher_is_better` must be true or false; found 'yes'"),
        (11, "measure 'mood': `reliability` is a test-retest correlation between 0 and 1"),
        (11, "measure 'mood': `meaningful_change` must be more than 0"),
        (12, "measure 'unused': no step uses this measure;"),
        (13, "measure 'broken': must be a set of keys"),
    ]:
        assert any(at == line and words in message for at, message in messages), (line, words)


def test_a_measure_no_entry_under_measures_declares_is_refused_with_the_entry_to_add() -> None:
    """Undeclared, a measure would silently count a rise as better, even for "money worry"."""
    bare = with_step("measure: money_worry")
    problem = only_problem(bare)
    assert problem.line == 9
    assert problem.message == (
        "step 'mood': measure 'money_worry' is not declared; add it in a `measures:` block at "
        'the end of the file, e.g. money_worry: {label: "Money worry", higher_is_better: true} '
        "(write false if a rise is a change for the worse)"
    )
    elsewhere = problems_of(bare + "measures:\n  wellbeing: {}\n")
    assert "measure 'money_worry' is not declared; add it under `measures:`" in (
        elsewhere[0].message
    )
    typo = problems_of(bare + "measures:\n  money_worries: {higher_is_better: false}\n")
    assert [(p.line, p.message) for p in typo] == [
        (9, "step 'mood': measure 'money_worry' is not declared under `measures:`; "
            "did you mean 'money_worries'?"),
        (11, "measure 'money_worries': no step uses this measure (did you mean 'money_worry'?); "
             "add `measure: money_worries` to a step or remove it from `measures`"),
    ]  # fmt: skip


def test_templates_are_sandboxed() -> None:
    for text in (
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ answers.mood.__class__ }}",
        "{{ lipsum.__globals__ }}",
        "{% for x in range(9) %}{{ x }}{% endfor %}",
        "{{ participant.name | attr('__class__') }}",
    ):
        source = MINIMAL + f"outro: {json.dumps(text)}\n"
        problem = only_problem(source)
        assert problem.line == 9
        assert problem.message.startswith("`outro`: ")


def test_intro_may_use_previous_answers_but_not_this_check_ins() -> None:
    assert parse_flow(MINIMAL + 'intro: "Last time: {{ previous.mood }}"\n').intro
    problem = only_problem(MINIMAL + 'intro: "Now: {{ answers.mood }}"\n')
    assert problem.line == 9 and "refers to a later step" in problem.message


def test_alert_may_use_its_own_step_but_not_later_ones() -> None:
    ok = with_step('alert: "answers.mood <= 2"')
    assert parse_flow(ok).steps[0].alert == "answers.mood <= 2"
    later = with_step('alert: "answers.other"') + "  - id: other\n    say: Bye\n"
    assert "refers to a later step" in only_problem(later).message


@pytest.mark.parametrize(
    ("schedule", "line", "words"),
    [
        ("{every: day, on: monday}", 4, "`on` does not apply to `every: day`"),
        ("{every: week}", 4, "`every: week` needs `on`, a weekday, e.g. on: friday"),
        ("{every: week, on: friyay}", 4, "`on` must be a weekday such as friday"),
        ("{every: month, on: 29}", 4, "day of the month from 1 to 28"),
        ("{every: month}", 4, "`every: month` needs `on`, a day 1-28"),
        ("{every: day, at: '25:00'}", 4, "24-hour time in quotes"),
        ("{every: day, at: 1800}", 4, "found 1800"),
        ("{every: day, cron: '0 9 * * *'}", 4, "give exactly one of `every`"),
        ("{at: '09:00'}", 4, "give exactly one of `every`"),
        ("{cron: '0 9 * *'}", 4, "has 4 fields"),
        ("{cron: '0 9 * * 1', at: '10:00'}", 4, "`at` cannot go with `cron`"),
        ("{every: day, expires: 4h, reminders: [4h]}", 4, "already closed"),
        ("{every: day, expires: 0h}", 4, "is zero"),
        ("{every: day, expires: 48}", 4, "'48' has no unit"),
        ("{every: day, reminders: [1h, 1h]}", 4, "from shortest to longest"),
        ("[every, day]", 4, "`schedule` must be a set of keys"),
    ],
)
def test_schedule_rules(schedule: str, line: int, words: str) -> None:
    text = f"flow: s\ntitle: S\nsteps: [{{id: a, say: Hi}}]\nschedule: {schedule}\n"
    problems = problems_of(text)
    assert any(p.line == line and words in p.message for p in problems), [str(p) for p in problems]


def test_schedule_problems_point_at_their_own_lines() -> None:
    text = (
        MINIMAL
        + "schedule:\n  every: week\n  on: funday\n  at: noon\n  reminders:\n    - 4h\n    - 2x\n"
    )
    lines = [p.line for p in problems_of(text)]
    assert lines == [11, 12, 15]


# --- the flows folder ------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("weekly-wellbeing.yaml", "monthly.yaml"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a flow")
    return tmp_path


def test_library_resolves_ids_only(folder: Path) -> None:
    library = FlowLibrary(folder)
    assert library.resolve("weekly-wellbeing").id == "weekly-wellbeing"
    for path in (str(DATA / "cron-weekdays.yaml"), "monthly.yaml", "../monthly", "/dev/zero"):
        with pytest.raises(FlowError, match="is not a flow id"):
            library.resolve(path)
    assert flow_for_author(library, str(DATA / "cron-weekdays.yaml")).id == "cron-weekdays"
    assert [flow.id for flow in library.all()] == ["monthly", "weekly-wellbeing"]
    assert library.check_all() == []


def test_library_unknown_id_lists_what_is_there(folder: Path) -> None:
    with pytest.raises(FlowError) as caught:
        FlowLibrary(folder).resolve("weekly")
    message = caught.value.problems[0].message
    assert "there is no flow 'weekly'" in message
    assert "(flows there: monthly, weekly-wellbeing)" in message


def test_library_reports_duplicate_ids_across_files(folder: Path) -> None:
    copy = folder / "copy.yml"
    copy.write_text(MINIMAL.replace("flow: minimal", "# a copy\nflow: monthly"))
    problems = FlowLibrary(folder).check_all()
    assert sorted((Path(p.path).name, p.line) for p in problems) == [
        ("copy.yml", 2),
        ("monthly.yaml", 1),
    ]
    assert "flow id 'monthly' is also used by copy.yml" in problems[-1].message or any(
        "also used by copy.yml" in p.message for p in problems
    )
    with pytest.raises(FlowError):
        FlowLibrary(folder).resolve("monthly")
    with pytest.raises(FlowError):
        FlowLibrary(folder).all()


def test_library_reports_broken_files_and_resolves_them_to_their_problems(folder: Path) -> None:
    shutil.copy(DATA / "bad-when-later.yaml", folder / "bad.yaml")
    library = FlowLibrary(folder)
    assert [(Path(p.path).name, p.line) for p in library.check_all()] == [("bad.yaml", 5)]
    with pytest.raises(FlowError) as caught:
        library.resolve("when-later")
    assert caught.value.problems[0].line == 5
    assert library.resolve("monthly").id == "monthly"


def test_library_caches_by_modification_time(folder: Path) -> None:
    library = FlowLibrary(folder)
    first = library.resolve("monthly")
    assert library.resolve("monthly") is first
    path = folder / "monthly.yaml"
    path.write_text(path.read_text().replace("Monthly pulse", "Monthly check"))
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))
    assert library.resolve("monthly").title == "Monthly check"


def test_library_folder_defaults_to_env_then_the_shipped_flows(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROUNDSWELL_FLOWS", str(folder))
    assert FlowLibrary().folder == folder
    monkeypatch.delenv("GROUNDSWELL_FLOWS")
    shipped = Path(__file__).parents[2] / "survey_flows" / "library"
    assert FlowLibrary().folder.resolve() == shipped.resolve()


def test_library_missing_folder_is_a_problem(tmp_path: Path) -> None:
    (problem,) = FlowLibrary(tmp_path / "absent").check_all()
    assert "the flows folder does not exist" in problem.message


def test_every_shipped_flow_loads() -> None:
    library = FlowLibrary(Path(__file__).parents[2] / "survey_flows" / "library")
    assert [str(p) for p in library.check_all()] == []


# --- never anything but FlowError --------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_gives_flow_or_flow_error(text: str) -> None:
    try:
        parse_flow(text, "fuzz.yaml")
    except FlowError as error:
        assert error.problems
        assert all(p.path == "fuzz.yaml" and p.line >= 1 for p in error.problems)
        assert not any(INTERNAL_ERROR in p.message for p in error.problems)


_KEYS = st.sampled_from(
    [*sorted({*TOP_KEYS, *SCHEDULE_KEYS, *STEP_KEYS, *CHOICE_KEYS, *MEASURE_KEYS}), "x"]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["mood", "week", "friday", "18:00", "4h", "scale", "choice", "0 9 * * 0"]),
    st.sampled_from(["answers.mood <= 4", "{{ answers.mood }}", "{{ oops", "answers.", "en"]),
    st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=6)),
    max_leaves=30,
)


def _yaml_text(data: object) -> str:
    from io import StringIO

    stream = StringIO()
    YAML(typ="rt").dump(data, stream)
    return stream.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {"flow": _SCALARS, "title": _SCALARS},
        optional={
            "steps": st.lists(st.dictionaries(_KEYS, _VALUES, max_size=8), max_size=4),
            "schedule": st.dictionaries(_KEYS, _VALUES, max_size=6),
            "measures": st.dictionaries(st.text(max_size=6), _VALUES, max_size=3),
            "intro": _VALUES,
            "language": _SCALARS,
        },
    )
)
def test_arbitrary_yaml_mappings_give_flow_or_flow_error(data: dict[str, object]) -> None:
    text = _yaml_text(data)
    try:
        flow = parse_flow(text, "fuzz.yaml")
    except FlowError as error:
        assert error.problems
        assert all(p.line >= 1 and p.message for p in error.problems)
        assert not any(INTERNAL_ERROR in p.message for p in error.problems)
    else:
        assert flow.steps and flow.source_text == text


# --- values that conditions compare answers with ------------------------------------------

WARM = """\
flow: warm
title: Warm
steps:
  - id: warm
    ask: "How often is your home warm enough?"
    type: choice
    choices:
      - {value: always, label: "Always"}
      - {value: hardly_ever, label: "Hardly ever", aliases: [rarely]}
      - {value: never, label: "Never"}
  - id: callback
    ask: "Shall we call you?"
    type: yes_no
  - id: mood
    ask: "Mood from 0 to 10?"
    type: scale
    min: 0
    max: 10
  - id: follow_up
    say: "We will be in touch."
"""


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            "answers.warm == 'nevr'",
            "step 'follow_up': `when`: 'nevr' is not one of the choices of step 'warm'; "
            "did you mean 'never'?",
        ),
        (
            "answers.warm in ['always', 'hardly']",
            "step 'follow_up': `when`: 'hardly' is not one of the choices of step 'warm'; "
            "did you mean 'hardly_ever'?",
        ),
        (
            "'sometimes' != previous.warm",
            "step 'follow_up': `when`: 'sometimes' is not one of the choices of step 'warm'; "
            "use one of: 'always', 'hardly_ever', 'never'",
        ),
        (
            "answers.warm not in ('Hardly ever',)",
            "step 'follow_up': `when`: 'Hardly ever' is not a choice value of step 'warm' "
            "(conditions compare the stored `value`, not what residents see or type); "
            "did you mean 'hardly_ever'?",
        ),
        (
            "answers.callback == 'yes'",
            "step 'follow_up': `when`: answers.callback is a yes/no answer, true or false, "
            "never 'yes'; write `answers.callback` for yes or `not answers.callback` for no",
        ),
        (
            "answers.mood <= 'low'",
            "step 'follow_up': `when`: answers.mood is a number, never 'low'; compare it with "
            "a number, e.g. answers.mood <= 4",
        ),
    ],
)
def test_a_when_comparing_an_answer_with_a_value_it_cannot_take_is_refused(
    condition: str, message: str
) -> None:
    problem = only_problem(WARM + f'    when: "{condition}"\n')
    assert (problem.path, problem.line) == ("test.yaml", 21)
    assert problem.message == message


def test_an_alert_is_checked_too_and_values_the_answer_can_take_pass() -> None:
    alert = only_problem(
        WARM.replace(
            "    type: yes_no\n", "    type: yes_no\n    alert: \"answers.warm == 'Never'\"\n"
        )
    )
    assert alert.line == 14 and "did you mean 'never'?" in alert.message
    fine = (
        "answers.warm == 'never' or answers.warm in ['always', 'hardly_ever'] or "
        "'never' in previous.warm or answers.callback == true or not answers.callback or "
        "answers.mood <= 4 or answers.mood > 2.5"
    )
    assert parse_flow(WARM + f'    when: "{fine}"\n').steps[3].when == fine


def test_sets_marks_the_consent_and_name_steps_and_is_checked() -> None:
    flow = FlowLibrary().resolve("welcome")
    assert flow.step_setting("consent") == flow.step("consent")
    assert flow.step_setting("name") == flow.step("name")
    wrong = (
        "flow: f\ntitle: T\nsteps:\n  - id: ok\n    ask: Fine?\n    type: text\n"
        "    sets: consent\n  - id: who\n    ask: Name?\n    type: text\n    sets: nickname\n"
    )
    with pytest.raises(FlowError) as raised:
        parse_flow(wrong, "f.yaml")
    messages = [str(problem) for problem in raised.value.problems]
    assert any("f.yaml:7:" in m and "`sets: consent` needs `type: yes_no`" in m for m in messages)
    assert any("f.yaml:11:" in m and "`sets` must be `consent`" in m for m in messages)


def test_a_stored_version_is_checked_by_the_rules_it_was_accepted_under() -> None:
    """A version that already ran must still load after the rules grow stricter, so its
    check-ins can finish; `flows check` and the folder refuse the same text."""
    text = with_step("measure: money_worry") + (
        "  - id: more\n    when: \"answers.mood == 'low'\"\n    say: Thanks\n"
    )
    assert len(problems_of(text)) == 2
    flow = parse_flow(text, "old.yaml", stored=True)
    assert flow.measures["money_worry"] == Measure("money_worry", "Money worry")
    assert flow.steps[1].when == "answers.mood == 'low'"
    with pytest.raises(FlowError):
        parse_flow(with_step("type: slider"), stored=True)  # broken then too: still refused
