"""The engine as a plain function: invariants, restarts, timers and hostile text."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_flows.checks.folder import FlowLibrary
from survey_flows.checks.loading import parse_flow
from survey_flows.engine import advance, new_conversation, next_timer
from survey_flows.engine_values import (
    ChannelTraits,
    Conversation,
    Expire,
    Outcome,
    Participant,
    ReminderDue,
    Reply,
    Start,
)

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
SAM = Participant(id="P-TEST01", name="Sam")
LIBRARY = FlowLibrary()
FLOWS = {flow.id: flow for flow in LIBRARY.all()}


def started(flow_id: str = "weekly-wellbeing") -> tuple:
    flow = FLOWS[flow_id]
    outcome = advance(flow, new_conversation(flow), Start(), SAM, NOW)
    return flow, outcome


def test_start_sends_intro_then_first_question() -> None:
    flow, outcome = started()
    assert [m.kind for m in outcome.messages] == ["intro", "question"]
    assert outcome.messages[0].text.startswith("Hi Sam,")
    assert outcome.state.status == "active"
    assert outcome.state.waiting_for == "life_satisfaction"
    assert outcome.state.flow_version == flow.version


def test_starting_twice_sends_nothing_more() -> None:
    flow, outcome = started()
    again = advance(flow, outcome.state, Start(), SAM, NOW)
    assert again.messages == ()
    assert again.state == outcome.state


def test_state_survives_a_restart_as_json() -> None:
    flow, outcome = started()
    outcome = advance(flow, outcome.state, Reply("7"), SAM, NOW)
    stored = json.dumps(outcome.state.to_json())
    restored = Conversation.from_json(json.loads(stored))
    assert restored == outcome.state
    after = advance(flow, restored, Reply("6"), SAM, NOW)
    assert [a.step_id for a in after.answers] == ["worthwhile"]


def test_a_conversation_finishes_on_the_version_it_started_on() -> None:
    flow, outcome = started()
    edited = parse_flow(
        flow.source_text.replace("Overall, to what extent", "To what extent"), "edited.yaml"
    )
    assert edited.version != flow.version
    with pytest.raises(ValueError, match="load the version it started on"):
        advance(edited, outcome.state, Reply("7"), SAM, NOW)
    assert advance(flow, outcome.state, Reply("7"), SAM, NOW).answers[0].value == 7


def test_a_ten_thousand_character_reply_is_refused_and_nothing_is_lost() -> None:
    flow, outcome = started()
    huge = "7" + "x" * 9_999
    after = advance(flow, outcome.state, Reply(huge), SAM, NOW)
    assert after.answers == ()
    assert after.messages[0].kind == "invalid"
    assert after.state.waiting_for == "life_satisfaction"
    assert advance(flow, after.state, Reply("7"), SAM, NOW).answers[0].value == 7


def test_a_long_story_is_kept_whole_up_to_max_length() -> None:
    flow = FLOWS["weekly-wellbeing"]
    state = advance(flow, new_conversation(flow), Start(), SAM, NOW).state
    for reply in ["8", "8", "8", "2", "never"]:
        state = advance(flow, state, Reply(reply), SAM, NOW).state
    story = "🌍 " + "a" * 990
    outcome = advance(flow, state, Reply(story), SAM, NOW)
    assert outcome.answers[0].value == story
    assert outcome.state.status == "completed"


def test_timers_remind_then_expire_but_never_remind_after_expiry() -> None:
    flow, outcome = started()
    assert flow.schedule is not None
    when, event = next_timer(flow, outcome.state)
    assert (when, event) == (NOW + timedelta(hours=4), ReminderDue())
    reminded = advance(flow, outcome.state, ReminderDue(), SAM, when)
    assert reminded.messages[0].kind == "reminder"
    when, event = next_timer(flow, reminded.state)
    assert (when, event) == (NOW + timedelta(hours=24), ReminderDue())
    reminded = advance(flow, reminded.state, ReminderDue(), SAM, when)
    when, event = next_timer(flow, reminded.state)
    assert (when, event) == (NOW + timedelta(hours=48), Expire())
    expired = advance(flow, reminded.state, Expire(), SAM, when)
    assert expired.state.status == "expired"
    assert next_timer(flow, expired.state) is None
    assert advance(flow, expired.state, ReminderDue(), SAM, when).messages == ()


def test_an_answer_resets_the_reminder_clock_to_the_new_question() -> None:
    flow, outcome = started()
    later = NOW + timedelta(hours=2)
    answered = advance(flow, outcome.state, Reply("7"), SAM, later)
    when, _ = next_timer(flow, answered.state)
    assert when == later + timedelta(hours=4)


def test_stop_works_from_any_step_and_closes_the_check_in() -> None:
    flow, outcome = started()
    stopped = advance(flow, outcome.state, Reply("STOP"), SAM, NOW)
    assert stopped.opted_out
    assert stopped.state.status == "stopped"
    assert [m.kind for m in stopped.messages] == ["opt_out"]
    quiet = advance(flow, stopped.state, Reply("STOP"), SAM, NOW, ChannelTraits(True))
    assert quiet.messages == ()


def test_an_opted_out_participant_is_never_messaged() -> None:
    flow = FLOWS["weekly-wellbeing"]
    out = Participant(id="P-X", name="Sam", opted_out=True)
    outcome = advance(flow, new_conversation(flow), Start(), out, NOW)
    assert outcome.messages == ()
    assert outcome.state.status == "new"


REPLIES = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        ["7", "seven", "yes", "no", "SKIP", "HELP", "1", "never", "", " ", "\x00", "👍", "٣"]
    ),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=5000, max_size=10_000),
)
EVENTS = st.one_of(
    REPLIES.map(Reply),
    st.sampled_from([ReminderDue(), Expire(), Start()]),
    st.text(max_size=70).map(lambda b: Reply("", button=b)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_id=st.sampled_from(sorted(FLOWS)), events=st.lists(EVENTS, max_size=25))
def test_the_engine_never_raises_and_never_reaches_an_impossible_state(
    flow_id: str, events: list
) -> None:
    flow = FLOWS[flow_id]
    ask_ids = {step.id for step in flow.steps if step.asks}
    state = advance(flow, new_conversation(flow), Start(), SAM, NOW).state
    for event in events:
        outcome = advance(flow, state, event, SAM, NOW)
        state = outcome.state
        assert state.status in {"active", "completed", "expired", "stopped"}
        if state.status == "active":
            assert state.waiting_for in ask_ids
            assert 0 <= state.attempts < flow.step(state.waiting_for).max_attempts
        else:
            assert state.waiting_for is None
        assert Conversation.from_json(json.loads(json.dumps(state.to_json()))) == state
        for message in outcome.messages:
            assert message.text.strip()
        for answer in outcome.answers:
            assert answer.step_id in ask_ids
            if answer.value is not None and flow.step(answer.step_id).type == "scale":
                step = flow.step(answer.step_id)
                assert step.min <= answer.value <= step.max


def test_a_text_steps_own_invalid_text_answers_a_reply_that_is_too_long() -> None:
    text = (
        "flow: story\ntitle: Story\nsteps:\n  - id: story\n    ask: Tell us a story\n"
        "    type: text\n    max_length: 20\n"
    )
    own = parse_flow(text + '    invalid: "Twenty letters at most, please."\n')
    plain = parse_flow(text)
    for flow, expected in (
        (own, "Twenty letters at most, please."),
        (plain, "Please keep your reply under 20 characters."),
    ):
        outcome = advance(flow, new_conversation(flow), Start(), SAM, NOW)
        after = advance(flow, outcome.state, Reply("x" * 21), SAM, NOW)
        assert [(m.kind, m.text) for m in after.messages] == [("invalid", expected)]
        assert after.answers == () and after.state.waiting_for == "story"


def _welcome(*replies: str) -> Outcome:
    flow = FLOWS["welcome"]
    outcome = advance(flow, new_conversation(flow), Start(), SAM, NOW)
    for text in replies:
        outcome = advance(flow, outcome.state, Reply(text), SAM, NOW)
    return outcome


def test_the_outcome_reports_consent_and_name_when_the_welcome_completes() -> None:
    waiting = _welcome("yes")
    assert waiting.consent is None and waiting.name is None  # not complete yet
    given_name = _welcome("yes", "Robin")
    assert given_name.state.status == "completed"
    assert (given_name.consent, given_name.name) == (True, "Robin")
    skipped = _welcome("yes", "skip")
    assert (skipped.consent, skipped.name) == (True, None)
    refused = _welcome("no")
    assert refused.state.status == "completed"
    assert (refused.consent, refused.name) == (False, None)


def test_the_outcome_carries_the_next_timer() -> None:
    flow = FLOWS["weekly-wellbeing"]
    outcome = advance(flow, new_conversation(flow), Start(), SAM, NOW)
    timer = next_timer(flow, outcome.state)
    assert timer is not None and outcome.next_timer_at == timer[0]
    assert outcome.next_timer_at > NOW


def test_the_engine_runs_without_the_checks_subpackage() -> None:
    """The engine stays flat and pure: loading and checking (`survey_flows.checks`) build its
    input, and nothing the engine imports reaches back into them."""
    probe = (
        "import sys, survey_flows.engine, survey_flows.reading, survey_flows.due_times; "
        "print([m for m in sys.modules if m.startswith('survey_flows.checks')])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
