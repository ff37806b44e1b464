"""schema.json: a JSON Schema editors use to autocomplete and explain flow files.

It must accept every flow the project ships and reject what the loader rejects for shape
(unknown keys, missing keys, wrong types); the loader's checks between steps go further.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from survey_flows.checks.choices import CHOICE_KEYS
from survey_flows.checks.flow import TOP_KEYS
from survey_flows.checks.loading import parse_flow
from survey_flows.checks.measures import MEASURE_KEYS
from survey_flows.checks.schedule import SCHEDULE_KEYS
from survey_flows.checks.steps import STEP_KEYS

ROOT = Path(__file__).parents[2]
SCHEMA_PATH = ROOT / "survey_flows" / "schema.json"
DATA = Path(__file__).parent / "data"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)
GOOD_FILES = [
    *sorted((ROOT / "survey_flows" / "library").glob("*.yaml")),
    *sorted((ROOT / "tests" / "survey_flows" / "flows").glob("*.yaml")),
    DATA / "weekly-wellbeing.yaml",
    DATA / "cron-weekdays.yaml",
    DATA / "monthly.yaml",
]


def data_of(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def errors(data: Any) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(data)]


_CONDITIONS = ("allOf", "if", "then", "else", "not")


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object that defines keys, with a JSON-pointer-like location (conditions
    such as `if: {properties: {type: {const: scale}}}` only constrain keys defined elsewhere)."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key not in _CONDITIONS:
                yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def test_the_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_every_property_has_a_description_and_objects_are_closed() -> None:
    for where, node in walk(SCHEMA):
        for name, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{where}/properties/{name} has no description"
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{where} is not closed"


@pytest.mark.parametrize(
    ("pointer", "keys"),
    [
        ("", TOP_KEYS),
        ("$defs/schedule", SCHEDULE_KEYS),
        ("$defs/step", STEP_KEYS),
        ("$defs/choice", CHOICE_KEYS),
        ("$defs/measure", MEASURE_KEYS),
    ],
)
def test_the_schema_knows_exactly_the_keys_the_loader_knows(
    pointer: str, keys: tuple[str, ...]
) -> None:
    node = SCHEMA
    for part in filter(None, pointer.split("/")):
        node = node[part]
    assert set(node["properties"]) == set(keys)


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda path: path.name)
def test_the_schema_accepts_every_shipped_and_sample_flow(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parse_flow(text, str(path))  # the loader agrees it is a valid flow
    assert errors(data_of(text)) == []


def test_the_shipped_library_is_not_empty() -> None:
    assert list((ROOT / "survey_flows" / "library").glob("*.yaml"))


MINIMAL = {
    "flow": "minimal",
    "title": "Minimal",
    "steps": [{"id": "mood", "ask": "Mood?", "type": "scale", "min": 0, "max": 10}],
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """MINIMAL with one value set (or removed, for value None) at a dotted path."""
    data = json.loads(json.dumps(MINIMAL))
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


def test_the_minimal_flow_is_accepted() -> None:
    assert errors(MINIMAL) == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (changed("colour", "blue"), "unknown top-level key"),
        (changed("steps", None), "missing steps"),
        (changed("title", None), "missing title"),
        (changed("steps", []), "empty steps"),
        (changed("flow", "Weekly Wellbeing"), "bad flow id"),
        (changed("steps.0.id", "Mood"), "bad step id"),
        (changed("steps.0.type", "slider"), "bad type"),
        (changed("steps.0.mesure", "mood"), "unknown step key"),
        (changed("steps.0.min", None), "scale without min"),
        (changed("steps.0.max", 9.5), "scale with a fractional bound"),
        (changed("steps.0.max_length", 5), "max_length on a scale"),
        (changed("steps.0.type", None), "ask without type"),
        (changed("steps.0.say", "Hello"), "both ask and say"),
        (changed("steps.0.optional", "yes"), "optional as text"),
        (changed("steps.0.max_attempts", 0), "max_attempts below 1"),
        (changed("steps.0.ask", {"en us": "Mood?"}), "bad language code"),
        (changed("steps.0.ask", 42), "a number as a text"),
        (changed("language", "english"), "bad language"),
        (changed("schedule", {"every": "weekly", "on": "friday"}), "bad period"),
        (changed("schedule", {"every": "week"}), "week without a weekday"),
        (changed("schedule", {"every": "week", "on": 3}), "week with a number"),
        (changed("schedule", {"every": "day", "on": "monday"}), "on with every day"),
        (changed("schedule", {"every": "month", "on": 31}), "day 31"),
        (changed("schedule", {"every": "day", "at": "25:00"}), "bad time"),
        (changed("schedule", {"every": "day", "cron": "0 9 * * *"}), "every and cron"),
        (changed("schedule", {"cron": "0 9 * * *", "at": "10:00"}), "cron with at"),
        (changed("schedule", {"cron": "0 9 * *"}), "cron with four fields"),
        (changed("schedule", {"every": "day", "expires": "2 days"}), "bad duration"),
        (changed("schedule", {"every": "day", "reminders": ["4h", "soon"]}), "bad reminder"),
        (changed("measures", {"mood": {"label": "Mood", "reliability": 1.5}}), "reliability"),
        (changed("measures", {"mood": {"labels": "Mood"}}), "unknown measure key"),
    ],
)
def test_the_schema_rejects_bad_flows(data: dict[str, Any], why: str) -> None:
    assert errors(data), why


def test_the_schema_checks_choices() -> None:
    step = {"id": "pick", "ask": "Pick", "type": "choice", "measure": "m"}
    good = {**MINIMAL, "steps": [{**step, "choices": [{"value": "a", "label": "A", "score": 1}]}]}
    assert errors(good) == []
    for choices in (
        [],
        [{"value": "a"}],
        [{"label": "A", "score": 1}],
        [{"value": "a", "label": "A", "score": 1, "colour": "red"}],
        [{"value": "a", "label": "A"}],  # the step has a measure, so a score is needed
        [{"value": "a", "label": "A", "score": 1, "aliases": [["x"]]}],
    ):
        assert errors({**MINIMAL, "steps": [{**step, "choices": choices}]}), choices


def test_sample_files_with_shape_errors_are_rejected_by_the_schema_too() -> None:
    for name in ("bad-unknown-key.yaml", "bad-scale-bounds.yaml", "bad-duration.yaml"):
        assert errors(data_of((DATA / name).read_text(encoding="utf-8"))), name
