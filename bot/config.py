"""Settings from the environment, read in one place. Nothing here holds credentials."""

from __future__ import annotations

import os
from pathlib import Path

import survey_flows

SHIPPED_FLOWS = Path(survey_flows.__file__).parent / "library"


def flows_folder() -> Path:
    """The folder of flow files: GROUNDSWELL_FLOWS, else the shipped library."""
    return Path(os.environ.get("GROUNDSWELL_FLOWS") or SHIPPED_FLOWS)
