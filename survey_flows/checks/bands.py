"""Checks of a measure's `bands:` (named ranges of its scale, e.g. ONS "low" 0 to 4) and the
scale they must cover, worked out from the steps that feed the measure.

Bands must be in order, must not overlap, and must cover the whole scale: on a whole-number
scale each band starts one above where the previous one ended (0-4, then 5-6).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from survey_flows.checks.checker import Checker, is_number
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.model import Band, Step

BAND_KEYS = ("label", "min", "max")
EXAMPLE = "bands: [{label: low, min: 0, max: 4}, {label: high, min: 5, max: 10}]"


def measure_scale(steps: Sequence[Step], name: str) -> tuple[float | None, float | None, bool]:
    """The lowest and highest value the measure's steps can give (``None`` when a step has
    no bound) and whether every value is a whole number."""
    lows: list[float | None] = []
    highs: list[float | None] = []
    whole = True
    for step in steps:
        if step.measure != name:
            continue
        if step.type == "yes_no":
            lows.append(0.0)
            highs.append(1.0)
        elif step.type == "choice":
            scores = [c.score for c in step.choices if c.score is not None]
            lows.append(min(scores) if scores else None)
            highs.append(max(scores) if scores else None)
            whole = whole and all(float(s).is_integer() for s in scores)
        else:
            lows.append(step.min)
            highs.append(step.max)
            whole = whole and step.type == "scale"
    low = None if not lows or None in lows else min(x for x in lows if x is not None)
    high = None if not highs or None in highs else max(x for x in highs if x is not None)
    return low, high, whole


def _shown(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_bands(
    checker: Checker, node: CommentedMap, where: str, scale: tuple[float | None, float | None, bool]
) -> tuple[Band, ...]:
    """The measure's bands from `node["bands"]`, with every problem at its line."""
    seq = node["bands"]
    line = value_line(node, "bands")
    if not isinstance(seq, CommentedSeq) or not seq:
        checker.add(line, f"{where}`bands` must be a list of ranges, e.g. {EXAMPLE}")
        return ()
    bands: list[tuple[Band, int]] = []
    for i, item in enumerate(seq):
        item_line = key_line(seq, i)
        if not isinstance(item, CommentedMap):
            checker.add(item_line, f"{where}each band needs a label, min and max, e.g. {EXAMPLE}")
            continue
        checker.unknown_keys(item, BAND_KEYS, f"{where}band {i + 1}: ")
        missing = [key for key in BAND_KEYS if key not in item]
        if missing:
            checker.add(item_line, f"{where}band {i + 1} needs {', '.join(missing)}")
            continue
        label = checker.string(item, "label", f"{where}band {i + 1}: ", "low")
        low, high = item["min"], item["max"]
        if not (is_number(low) and is_number(high)):
            checker.add(item_line, f"{where}band {i + 1}: `min` and `max` must be numbers")
            continue
        if low > high:
            checker.add(
                item_line,
                f"{where}band {i + 1} starts at {_shown(low)} but ends at {_shown(high)}; "
                "`min` must not be above `max`",
            )
            continue
        if label is not None:
            bands.append((Band(label, float(low), float(high)), item_line))
    if len(bands) != len(seq):
        return ()
    lowest, highest, whole = scale
    ok = True
    for (prev, _), (band, band_line) in pairwise(bands):
        if band.min <= prev.max:
            checker.add(
                band_line,
                f"{where}band '{band.label}' ({_shown(band.min)} to {_shown(band.max)}) overlaps "
                f"or comes before '{prev.label}' (up to {_shown(prev.max)}); list bands from "
                "low to high without overlaps",
            )
            ok = False
        elif whole and band.min != prev.max + 1:
            checker.add(
                band_line,
                f"{where}band '{band.label}' starts at {_shown(band.min)}, leaving a gap after "
                f"'{prev.label}' (up to {_shown(prev.max)}); start it at {_shown(prev.max + 1)}",
            )
            ok = False
    first, last = bands[0], bands[-1]
    if lowest is not None and first[0].min != lowest:
        checker.add(
            first[1],
            f"{where}the bands start at {_shown(first[0].min)} but the scale starts at "
            f"{_shown(lowest)}; the bands must cover the whole scale",
        )
        ok = False
    if highest is not None and last[0].max != highest:
        checker.add(
            last[1],
            f"{where}the bands end at {_shown(last[0].max)} but the scale ends at "
            f"{_shown(highest)}; the bands must cover the whole scale",
        )
        ok = False
    return tuple(band for band, _ in bands) if ok else ()
