"""Golden conversations: each file in golden/ is replayed through the real engine.

Set GOLDEN_UPDATE=1 to rewrite the files from the engine's output, then read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.survey_flows.golden_runner import Golden, replay

FILES = sorted((Path(__file__).parent / "golden").glob("*.txt"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_conversation(path: Path) -> None:
    golden = Golden.read(path)
    produced = replay(golden)
    if os.environ.get("GOLDEN_UPDATE"):
        path.write_text(golden.head_text() + "\n\n" + produced, encoding="utf-8")
        return
    assert produced == golden.body


def test_there_are_golden_files() -> None:
    assert len(FILES) >= 10
