"""Engine steps per second on the shipped weekly flow, one core.

Each step is one `advance` call (a start or a reply). Prints the median of several
rounds, timed in CPU time of this process (time.process_time), so that other work on a
shared machine does not count against it; run it with `make bench`.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from survey_flows.checks.folder import FlowLibrary
from survey_flows.engine import advance, new_conversation
from survey_flows.engine_values import Participant, Reply, Start

REPLIES = ["7", "I'd say 6", "seven", "3", "yes", "hardly ever", "The new bench by the shop"]
ROUNDS = 7
CONVERSATIONS = 2_000


def one_round(flow) -> tuple[int, float]:
    now = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    participant = Participant(id="P-BENCH", name="Sam")
    steps = 0
    began = time.process_time()
    for _ in range(CONVERSATIONS):
        outcome = advance(flow, new_conversation(flow), Start(), participant, now)
        steps += 1
        for reply in REPLIES:
            outcome = advance(flow, outcome.state, Reply(reply), participant, now)
            steps += 1
        assert outcome.state.status == "completed", outcome.state
    return steps, time.process_time() - began


def main() -> None:
    flow = FlowLibrary().resolve("weekly-wellbeing")
    rates = []
    for _ in range(ROUNDS):
        steps, seconds = one_round(flow)
        rates.append(steps / seconds)
    print(f"engine: {CONVERSATIONS} conversations x {len(REPLIES) + 1} steps, {ROUNDS} rounds")
    median, low, high = statistics.median(rates), min(rates), max(rates)
    print(f"median {median:,.0f} steps/s of CPU time, one core (min {low:,.0f}, max {high:,.0f})")


if __name__ == "__main__":
    main()
