"""Replays golden conversation files: replies in, messages, answers and alerts out.

A golden file has a header (`key: value` lines), a blank line, then the transcript:
`< text` a message from Groundswell (`| text` continues it), `> text` a reply from the
resident (`> [button:VALUE]` a button press; `\\n` and `\\uXXXX` escapes work),
`@ reminder` / `@ expire` a timer firing,
`= STEP VALUE` an answer recorded, `! alert STEP` an alert raised, `. STATUS` the state
at the end. The runner feeds the `>` and `@` lines to the engine and writes the whole
transcript again; the test compares it with the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.channels.rendering import plain_text
from survey_flows.checks.folder import FlowLibrary
from survey_flows.checks.loading import load_flow
from survey_flows.engine import advance, new_conversation
from survey_flows.engine_values import (
    ChannelTraits,
    Event,
    Expire,
    Outcome,
    Participant,
    ReminderDue,
    Reply,
    Start,
)

HERE = Path(__file__).parent
START_TIME = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


@dataclass
class Golden:
    path: Path
    header: dict[str, str]
    body: str

    @classmethod
    def read(cls, path: Path) -> Golden:
        head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        header = {}
        for line in head.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        return cls(path, header, body)

    def head_text(self) -> str:
        return self.path.read_text(encoding="utf-8").partition("\n\n")[0]


def _flow(name: str):
    local = HERE / "flows" / f"{name}.yaml"
    return load_flow(local) if local.exists() else FlowLibrary().resolve(name)


def replay(golden: Golden) -> str:
    """Run the conversation the file describes and return the transcript it produces."""
    header = golden.header
    flow = _flow(header["flow"])
    participant = Participant(
        id="P-TEST01",
        name=header.get("name") or None,
        language=header.get("lang") or None,
        opted_out=header.get("opted_out") == "yes",
        previous=json.loads(header.get("previous", "{}")),
    )
    traits = ChannelTraits(confirms_opt_out=header.get("confirms_opt_out") == "yes")
    now = START_TIME
    out: list[str] = []
    state = new_conversation(flow)
    if header.get("start", "yes") == "yes":
        outcome = advance(flow, state, Start(), participant, now, traits)
        state = outcome.state
        out += _lines(outcome)
    for line in golden.body.splitlines():
        event: Event | None = None
        if line.startswith("> "):
            text = line[2:]
            if text.startswith("[button:") and text.endswith("]"):
                event = Reply(text="", button=text[len("[button:") : -1])
            else:
                event = Reply(text=_unescape(text))
        elif line == "@ reminder":
            event = ReminderDue()
        elif line == "@ expire":
            event = Expire()
        if event is None:
            continue
        now += timedelta(minutes=1)
        out.append(line)
        outcome = advance(flow, state, event, participant, now, traits)
        state = outcome.state
        if outcome.opted_out:
            participant = Participant(**{**participant.__dict__, "opted_out": True})
        if outcome.opted_in:
            participant = Participant(**{**participant.__dict__, "opted_out": False})
        out += _lines(outcome)
    out.append(f". {state.status}")
    return "\n".join(out) + "\n"


def _unescape(text: str) -> str:
    """`\\n` and `\\uXXXX` in a golden file stand for a newline and any character."""
    text = text.replace("\\n", "\n")
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _lines(outcome: Outcome) -> list[str]:
    lines: list[str] = []
    for answer in outcome.answers:
        shown = "(skipped)" if answer.skipped else json.dumps(answer.value, ensure_ascii=False)
        score = "" if answer.score is None else f" score={answer.score:g}"
        lines.append(f"= {answer.step_id} {shown}{score}")
    lines += [f"! alert {alert.step_id}" for alert in outcome.alerts]
    if outcome.opted_out:
        lines.append("! opted out")
    if outcome.opted_in:
        lines.append("! opted in")
    for message in outcome.messages:
        first, *rest = plain_text(message).split("\n")
        lines.append(f"< {first}")
        lines += [f"| {more}" for more in rest]
    return lines
