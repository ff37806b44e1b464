"""The welcome contract: the host acts on the engine's `consent` and `name`, which come from
the steps marked `sets:`; `flows check` refuses a welcome flow that could never enrol anyone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from survey_flows.checks.flow import check_flow_text
from survey_flows.checks.loading import parse_flow
from survey_flows.engine import advance, new_conversation
from survey_flows.engine_values import Participant, Reply, Start
from survey_flows.model import JOINING_FLOW

WELCOME = Path(__file__).resolve().parents[2] / "survey_flows" / "library" / "welcome.yaml"
TEXT = WELCOME.read_text(encoding="utf-8")
FLOW_LINE = TEXT.splitlines().index(f"flow: {JOINING_FLOW}") + 1
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def check(tmp_path: Path, text: str) -> tuple[int, str]:
    """`groundswell flows check` on a copy of welcome.yaml holding `text`."""
    path = tmp_path / "welcome.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["flows", "check", str(path)])
    return result.exit_code, result.output.replace(f"{path}:", "welcome.yaml:")


def test_the_shipped_welcome_flow_keeps_the_contract(tmp_path: Path) -> None:
    assert check(tmp_path, TEXT) == (0, "1 flow file(s) OK.\n")


def test_renaming_the_consent_step_fails_flows_check(tmp_path: Path) -> None:
    renamed = TEXT.replace("  - id: consent\n", "  - id: agree\n")
    code, output = check(tmp_path, renamed)
    assert code == 1
    assert "refers to an unknown step 'consent'" in output


def test_dropping_sets_consent_fails_at_the_flow_line(tmp_path: Path) -> None:
    assert TEXT.count("    sets: consent\n") == 1
    code, output = check(tmp_path, TEXT.replace("    sets: consent\n", ""))
    assert code == 1
    assert (
        f"welcome.yaml:{FLOW_LINE}: flow 'welcome' is sent to everyone who joins, so it must "
        "ask for their consent: mark its YES/NO question with `sets: consent`"
    ) in output


def test_a_consent_step_that_is_not_yes_no_or_a_name_that_is_not_text_fails(
    tmp_path: Path,
) -> None:
    not_yes_no = TEXT.replace(
        "    type: yes_no\n    sets: consent\n", "    type: text\n    sets: consent\n"
    )
    code, output = check(tmp_path, not_yes_no)
    assert code == 1 and "`sets: consent` needs `type: yes_no`" in output
    not_text = TEXT.replace("    type: text\n", "    type: number\n")
    code, output = check(tmp_path, not_text)
    assert code == 1 and "`sets: name` needs `type: text`" in output


def test_a_consent_step_a_when_could_pass_over_fails(tmp_path: Path) -> None:
    guarded = TEXT.replace("    type: yes_no\n", '    type: yes_no\n    when: "1 > 2"\n')
    code, output = check(tmp_path, guarded)
    line = guarded.splitlines().index('    when: "1 > 2"') + 1
    assert code == 1
    assert f"welcome.yaml:{line}: step 'consent': the consent question of flow 'welcome'" in output


def test_the_contract_is_the_sets_mark_not_the_step_id() -> None:
    """Renamed everywhere, the welcome flow still passes and the engine still reports consent
    and the name: nothing in the host reads `answers["consent"]`."""
    renamed = TEXT.replace("consent", "agree_to_join").replace(
        "sets: agree_to_join", "sets: consent"
    )
    renamed = renamed.replace("id: name", "id: called").replace("answers.name", "answers.called")
    flow = parse_flow(renamed, "welcome.yaml")
    sam = Participant(id="P-1", name=None)
    outcome = advance(flow, new_conversation(flow), Start(), sam, NOW)
    outcome = advance(flow, outcome.state, Reply("yes"), sam, NOW)
    outcome = advance(flow, outcome.state, Reply("Sam"), sam, NOW)
    assert (outcome.consent, outcome.name) == (True, "Sam")


def test_only_the_joining_flow_needs_consent_and_stored_versions_are_kept() -> None:
    other = TEXT.replace(f"flow: {JOINING_FLOW}", "flow: hello").replace("    sets: consent\n", "")
    assert check_flow_text(other)[0] is not None
    old = TEXT.replace("    sets: consent\n", "")
    assert check_flow_text(old)[0] is None
    assert parse_flow(old, "welcome@old", stored=True).id == JOINING_FLOW
