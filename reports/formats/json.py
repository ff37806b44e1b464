"""The report as JSON: strict (no NaN or Infinity, which are not JSON), UTF-8, stable order.

The report dict is already JSON-ready; ``plain`` guards the boundary anyway, turning any
non-finite float into ``null`` and numpy scalars into Python numbers, so a bug elsewhere
can never produce a file that other tools refuse to read.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["plain", "render"]


def plain(value: Any) -> Any:
    """``value`` with NaN / infinity as None, numpy scalars and arrays as Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render(report: dict[str, Any], *, indent: int | None = 2) -> str:
    """The JSON text (ends with a newline)."""
    return json.dumps(plain(report), indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
