"""Plain-English phrases for report figures, shared by the text and HTML formats.

Every sentence here is built from the JSON report alone, and none states more than the
figures support: a change is called an increase or a decrease only when its 95% interval
leaves out zero, and hidden figures are never hinted at.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

__all__ = [
    "attrition_sentence",
    "change_sentence",
    "clean_text",
    "effect_words",
    "hidden_phrase",
    "number",
    "p_value",
    "period_words",
    "reliable_sentence",
    "response_sentence",
    "signed",
]


def clean_text(text: str) -> str:
    """Resident text made safe to print: control characters (terminal escapes) removed.

    Line breaks become spaces so a story stays on its own lines in the report.
    """
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch != "\t" else ch
        for ch in text
    )


def number(x: float, digits: int = 2) -> str:
    """A figure with at most ``digits`` decimals and no trailing zeros."""
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "+0") else text


def signed(x: float, digits: int = 2) -> str:
    """A change with its sign: +0.8, -1.25, 0."""
    text = number(x, digits)
    return text if text == "0" or text.startswith("-") else "+" + text


def p_value(p: float | None) -> str:
    """A p-value as people quote it."""
    if p is None:
        return "no test possible"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def effect_words(dz: float | None) -> str:
    """d_z with Cohen's rough size words."""
    if dz is None:
        return "effect size d_z not defined"
    size = abs(dz)
    word = (
        "negligible"
        if size < 0.2
        else "small"
        if size < 0.5
        else "medium"
        if size < 0.8
        else "large"
    )
    return f"effect size d_z = {number(dz)} ({word})"


def hidden_phrase(threshold: int) -> str:
    """What a reader sees instead of suppressed figures (primary or secondary alike)."""
    return (
        f"not shown — fewer than {threshold} people, or hidden so that a smaller group "
        "cannot be worked out"
    )


def period_words(period: dict[str, Any]) -> str:
    """The reporting period in words."""
    since, until = period.get("since"), period.get("until")
    if since and until:
        return f"{since} to {until}"
    if since:
        return f"from {since}"
    if until:
        return f"up to {until}"
    return "all answers so far"


def change_sentence(m: dict[str, Any]) -> str:
    """Mean change with its interval, and what the interval does and does not support."""
    change = m["mean_change"]
    if change is None:
        return "No change can be measured."
    ci = m["ci95"]
    if ci is None:
        return f"Mean change {signed(change)} (too few people for an interval)."
    low, high = ci
    text = f"Mean change {signed(change)} (95% CI {signed(low)} to {signed(high)})"
    if low > 0 or high < 0:
        up = low > 0
        better = up == bool(m["higher_is_better"])
        direction = "an increase" if up else "a decrease"
        verdict = "better" if better else "worse"
        return f"{text}: {direction}, which is {verdict}; the interval leaves out zero."
    return f"{text}: no clear change, as the interval includes zero."


def reliable_sentence(m: dict[str, Any]) -> str:
    """How many people changed reliably, and by which rule."""
    rc = m["reliable_change"]
    if rc["improved"] is None:
        reason = rc.get("reason") or "no reliable-change rule applies"
        return f"People were not classified as reliably changed: {reason}."
    n = rc["improved"] + rc["no_change"] + rc["deteriorated"]
    if rc["method"] == "jacobson-truax":
        rule = (
            f"more than {number(rc['threshold'])} points, by Jacobson-Truax with "
            f"reliability {number(m['reliability'])}"
        )
    else:
        rule = f"at least {number(rc['threshold'])} points"
    return (
        f"{rc['improved']} of {n} improved reliably, {rc['no_change']} showed no reliable "
        f"change and {rc['deteriorated']} deteriorated reliably (a reliable change is {rule})."
    )


def attrition_sentence(p: dict[str, Any]) -> str:
    """The attrition flow in one sentence."""
    return (
        f"{p['enrolled']} enrolled; {p['prompted']} were sent at least one check-in; "
        f"{p['responded']} answered; {p['paired']} answered a baseline and a later check-in."
    )


def response_sentence(p: dict[str, Any]) -> str:
    """The response rate with its definition."""
    rate = p["response_rate"]
    if rate is None:
        return "No check-ins were sent in this period."
    pct = 100 * rate
    shown = f"{pct:.0f}%" if math.isfinite(pct) else "?"
    return (
        f"Response rate {shown}: {p['checkins_completed']} of {p['checkins_sent']} "
        "check-ins sent were completed."
    )
