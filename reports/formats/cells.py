"""One CSV cell from one value, the same way in every CSV Groundswell writes.

Numbers are written in full (``repr`` of the float) so figures can be recomputed exactly;
``None`` is an empty cell; booleans are ``true`` / ``false``. Text that a spreadsheet would
run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a
leading apostrophe, the usual defence against CSV injection: resident text reaches these
files, and staff open them in spreadsheet programs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """``value`` as CSV cell text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
