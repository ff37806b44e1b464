"""Multiple-choice steps (`type: choice` with `multiple: true`): checking, reading replies,
the engine with plain values (SMS wording, Telegram's toggling buttons and Done), and
conditions on the list of chosen values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from survey_flows.checks.flow import check_flow
from survey_flows.checks.loading import parse_flow
from survey_flows.engine import DONE, advance, new_conversation
from survey_flows.engine_values import ChannelTraits, Conversation, Participant, Reply, Start
from survey_flows.reading import OUT_OF_RANGE, UNKNOWN_CHOICE, read_button, read_reply
from tests.survey_flows.test_schema import data_of, errors

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
SAM = Participant(id="P-TEST01", name="Sam")
BUTTONS = ChannelTraits(buttons=True)

FLOW = """\
flow: helped
title: What helped
steps:
  - id: why
    ask: "What helped this month?"
    type: choice
    multiple: true
    choices:
      - {value: lighting, label: "Street lighting"}
      - {value: traffic, label: "Less traffic", aliases: [cars]}
      - {value: bins, label: "Bins and litter"}
      - {value: neighbours, label: "Neighbours"}
  - id: traffic_more
    when: "'traffic' in answers.why"
    ask: "Tell us more about the traffic."
    type: text
    optional: true
outro: "You chose {{ answers.why | join(', ') }}."
"""
HELPED = parse_flow(FLOW)
WHY = HELPED.step("why")


@pytest.mark.parametrize(
    ("reply", "values"),
    [
        ("1 3", ["lighting", "bins"]),
        ("1, 3", ["lighting", "bins"]),
        ("3,1", ["lighting", "bins"]),
        ("1 and 3", ["lighting", "bins"]),
        ("one and three", ["lighting", "bins"]),
        ("lighting and traffic", ["lighting", "traffic"]),
        ("Street lighting, less traffic", ["lighting", "traffic"]),
        ("street lighting cars", ["lighting", "traffic"]),
        ("Bins and litter", ["bins"]),  # a label with "and" in it is one option
        ("bins and litter and neighbours", ["bins", "neighbours"]),
        ("2", ["traffic"]),
        ("2 2 2", ["traffic"]),
        ("NEIGHBOURS!", ["neighbours"]),
        ("1;4", ["lighting", "neighbours"]),
    ],
)
def test_replies_naming_one_or_more_options(reply: str, values: list[str]) -> None:
    reading = read_reply(WHY, reply)
    assert reading.ok, reading
    assert reading.value == values
    assert reading.score is None


@pytest.mark.parametrize(
    ("reply", "error"),
    [("1 9", OUT_OF_RANGE), ("lighting and potholes", UNKNOWN_CHOICE), ("and", UNKNOWN_CHOICE)],
)
def test_a_reply_with_anything_unreadable_is_refused_whole(reply: str, error: str) -> None:
    reading = read_reply(WHY, reply)
    assert not reading.ok
    assert reading.error == error


def test_a_button_press_names_one_option() -> None:
    assert read_button(WHY, "traffic").value == ["traffic"]


def test_sms_lists_numbered_options_and_says_to_reply_with_numbers() -> None:
    outcome = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW)
    question = outcome.messages[-1]
    assert question.text == "What helped this month? (Reply with one or more numbers, e.g. 1 3.)"
    assert question.numbered
    assert [o.value for o in question.options] == ["lighting", "traffic", "bins", "neighbours"]
    wrong = advance(HELPED, outcome.state, Reply("potholes"), SAM, NOW)
    assert wrong.messages[-1].text == (
        "Please reply with one or more numbers from 1 to 4, e.g. 1 3."
    )


def test_each_chosen_value_is_its_own_answer_and_conditions_see_a_list() -> None:
    state = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW).state
    outcome = advance(HELPED, state, Reply("3 2"), SAM, NOW)
    assert [(a.step_id, a.value, a.part) for a in outcome.answers] == [
        ("why", "traffic", 1),
        ("why", "bins", 2),
    ]
    assert all(a.raw_text == "3 2" and a.measure is None for a in outcome.answers)
    assert outcome.state.answers["why"] == ["traffic", "bins"]
    assert outcome.messages[-1].text == "Tell us more about the traffic."  # 'traffic' in list
    done = advance(HELPED, outcome.state, Reply("SKIP"), SAM, NOW)
    assert done.messages[-1].text == "You chose traffic, bins."
    restored = Conversation.from_json(done.state.to_json())
    assert restored.answers["why"] == ["traffic", "bins"]


def test_a_condition_on_an_option_not_chosen_passes_the_step_by() -> None:
    state = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW).state
    outcome = advance(HELPED, state, Reply("neighbours"), SAM, NOW)
    assert outcome.state.status == "completed"
    assert outcome.messages[-1].text == "You chose neighbours."


def test_telegram_buttons_toggle_with_a_tick_then_done_answers() -> None:
    start = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW, BUTTONS)
    question = start.messages[-1]
    assert question.text == "What helped this month? (Press each that applies, then Done.)"
    assert [o.label for o in question.options] == [
        "Street lighting", "Less traffic", "Bins and litter", "Neighbours", "Done",
    ]  # fmt: skip
    assert question.options[-1].value == DONE
    early = advance(HELPED, start.state, Reply("", button=DONE), SAM, NOW, BUTTONS)
    assert early.answers == ()
    assert early.messages[-1].text.startswith("Nothing chosen yet")
    one = advance(HELPED, start.state, Reply("", button="bins"), SAM, NOW, BUTTONS)
    assert one.answers == ()
    assert one.messages[-1].text == "Chosen so far: Bins and litter. Press more, or Done."
    assert [o.label for o in one.messages[-1].options][2] == "✓ Bins and litter"
    two = advance(HELPED, one.state, Reply("", button="#2"), SAM, NOW, BUTTONS)  # by position
    assert two.messages[-1].text == (
        "Chosen so far: Less traffic, Bins and litter. Press more, or Done."
    )
    untick = advance(HELPED, two.state, Reply("", button="bins"), SAM, NOW, BUTTONS)
    assert untick.state.picked == ["traffic"]
    assert [o.label for o in untick.messages[-1].options][:3] == [
        "Street lighting", "✓ Less traffic", "Bins and litter",
    ]  # fmt: skip
    again = advance(HELPED, untick.state, Reply("", button="lighting"), SAM, NOW, BUTTONS)
    done = advance(HELPED, again.state, Reply("", button="#5"), SAM, NOW, BUTTONS)  # Done
    assert [(a.value, a.part) for a in done.answers] == [("lighting", 1), ("traffic", 2)]
    assert done.state.answers["why"] == ["lighting", "traffic"]
    assert done.state.picked == []
    assert done.messages[-1].text == "Tell us more about the traffic."


def test_typed_text_answers_even_while_buttons_are_being_pressed() -> None:
    start = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW, BUTTONS)
    one = advance(HELPED, start.state, Reply("", button="bins"), SAM, NOW, BUTTONS)
    typed = advance(HELPED, one.state, Reply("4"), SAM, NOW, BUTTONS)
    assert [a.value for a in typed.answers] == ["neighbours"]


def test_an_optional_multiple_choice_skipped_stores_one_empty_answer() -> None:
    optional = "    multiple: true\n    optional: true\n"
    flow = parse_flow(FLOW.replace("    multiple: true\n", optional))
    state = advance(flow, new_conversation(flow), Start(), SAM, NOW).state
    outcome = advance(flow, state, Reply("skip"), SAM, NOW)
    assert [(a.value, a.part, a.skipped) for a in outcome.answers] == [(None, 0, True)]
    assert outcome.state.answers["why"] == []
    assert outcome.messages[-1].text == "You chose ."


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("type: choice\n    multiple: true", "type: yes_no\n    multiple: true"), 7,
         "`multiple` only applies to `type: choice`"),
        (("multiple: true", "multiple: lots"), 7, "`multiple` must be true or false"),
        (("multiple: true", "multiple: true\n    measure: helped"), 8,
         "cannot feed a measure"),
        (("'traffic' in answers.why", "answers.why == 'traffic'"), 14,
         "answers.why is a list of the chosen values (the step has `multiple: true`), so it "
         "never equals one value; write 'traffic' in answers.why"),
        (("'traffic' in answers.why", "'trafic' in answers.why"), 14,
         "did you mean 'traffic'?"),
    ],
)  # fmt: skip
def test_flows_check_refuses_multiple_where_it_cannot_apply(
    change: tuple[str, str], line: int, message: str
) -> None:
    text = FLOW.replace(*change)
    if "yes_no" in change[1]:
        text = text.replace("'traffic' in answers.why", "answers.why")
        text = (
            text.split("    choices:")[0]
            + text.split('      - {value: neighbours, label: "Neighbours"}\n')[1]
        )
    problems = check_flow(text, "helped.yaml").problems
    assert any(p.line == line and message in p.message for p in problems), problems


def test_the_json_schema_takes_multiple_on_a_choice_and_refuses_it_elsewhere() -> None:
    assert errors(data_of(FLOW)) == []
    on_yes_no = data_of(FLOW)
    on_yes_no["steps"][0] = {"id": "why", "ask": "Well?", "type": "yes_no", "multiple": True}
    assert errors(on_yes_no)
    measured = data_of(FLOW)
    measured["steps"][0]["measure"] = "helped"
    assert errors(measured)
    not_bool = data_of(FLOW)
    not_bool["steps"][0]["multiple"] = "yes"
    assert errors(not_bool)


@pytest.mark.parametrize("data", ["#²", "#99999999999", "#0", "#", "", "x" * 64, "🌍"])
def test_odd_button_data_never_raises_and_never_ticks_a_wrong_option(data: str) -> None:
    start = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW, BUTTONS)
    outcome = advance(HELPED, start.state, Reply("", button=data), SAM, NOW, BUTTONS)
    assert outcome.state.picked == []
    assert all(a.value in (None, "traffic") for a in outcome.answers)  # "²" reads as 2


def test_a_long_reply_is_read_quickly_word_by_word() -> None:
    reading = read_reply(WHY, "street lighting and " * 40 + "bins")
    assert reading.value == ["lighting", "bins"]


def test_a_late_button_press_is_not_taken_as_the_next_questions_answer() -> None:
    start = advance(HELPED, new_conversation(HELPED), Start(), SAM, NOW, BUTTONS)
    done = advance(HELPED, start.state, Reply("2"), SAM, NOW, BUTTONS)
    assert done.state.waiting_for == "traffic_more"  # a text question
    for data in ("bins", DONE):
        late = advance(HELPED, done.state, Reply("", button=data), SAM, NOW, BUTTONS)
        assert late.answers == ()
        assert late.messages[-1].text == "Tell us more about the traffic."
