"""Plain-English phrases for report figures, shared by the text and HTML formats.

Every sentence here is built from the JSON report alone, and none states more than the
figures support: a change is called an increase or a decrease only when the report's
``verdict`` (on the adjusted evidence, see ``reports.verdict``) says so, and hidden figures
are never hinted at. Numbers and units are written by ``survey_flows.wording`` (``number``
and ``signed`` here are its ``number_words`` and ``signed_words``), the one formatter of
every number a reader sees: no "1 points", no "-0".
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from survey_flows.wording import count_words
from survey_flows.wording import number_words as number
from survey_flows.wording import signed_words as signed

__all__ = [
    "attrition_check_sentence",
    "attrition_sentence",
    "band_lines",
    "change_sentence",
    "clean_text",
    "comparison_sentence",
    "count_words",
    "effect_words",
    "follow_up_sentence",
    "hidden_phrase",
    "number",
    "p_value",
    "period_words",
    "reliable_sentence",
    "response_sentence",
    "signed",
    "tests_sentence",
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


def p_value(p: float | None) -> str:
    """A p-value as people quote it."""
    if p is None:
        return "no test possible"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def _interval(ci: list[float] | None) -> str:
    return "" if not ci else f" (95% CI {number(ci[0])} to {number(ci[1])})"


def effect_words(m: dict[str, Any]) -> str:
    """d_z and d_av with their 95% intervals (no small/medium/large label: see the note)."""
    dz = m.get("effect_size_dz")
    if dz is None:
        return "effect size d_z not defined"
    text = f"effect size d_z = {number(dz)}{_interval(m.get('effect_size_dz_ci95'))}"
    dav = m.get("effect_size_dav")
    if dav is not None:
        text += f", d_av = {number(dav)}{_interval(m.get('effect_size_dav_ci95'))}"
    return text


def hidden_phrase(threshold: int) -> str:
    """What a reader sees instead of suppressed figures (primary or secondary alike)."""
    return (
        f"not shown — fewer than {threshold} people, or hidden so that a smaller group "
        "cannot be worked out"
    )


def period_words(period: dict[str, Any]) -> str:
    """The reporting period in words: the period used (whole weeks, see
    reports.disclosure), and what was asked for when that differs."""
    since, until = period.get("since"), period.get("until")
    if since and until:
        asked = f"{since} to {until}"
    elif since:
        asked = f"from {since}"
    elif until:
        asked = f"up to {until}"
    else:
        asked = "all answers so far"
    used = period.get("published")
    if not used or used == asked:
        return asked
    if period.get("snapped"):
        return f"{used} (whole weeks; asked for {asked})"
    return str(used)


def change_sentence(m: dict[str, Any]) -> str:
    """Mean change with its interval and the verdict, with the reason for it."""
    change = m["mean_change"]
    if change is None:
        return "No change can be measured."
    ci = m["ci95"]
    text = f"Mean change {signed(change)}"
    if ci is None:
        text += " (too few people for an interval)"
    else:
        text += f" (95% CI {signed(ci[0])} to {signed(ci[1])})"
    verdict = m.get("verdict")
    reason = m.get("verdict_reason") or ""
    if verdict in ("increase", "decrease"):
        which = "better" if m.get("verdict_better") else "worse"
        direction = "an increase" if verdict == "increase" else "a decrease"
        return f"{text}: {direction}, which is {which}; {reason}."
    if verdict is None:
        return f"{text}."
    return f"{text}: {verdict}, as {reason}."


def tests_sentence(m: dict[str, Any]) -> str:
    """Median change, the raw and adjusted Wilcoxon p and the effect sizes."""
    adjusted = m.get("p_adjusted")
    shown = "" if adjusted is None else f" (adjusted for multiple tests: {p_value(adjusted)})"
    return (
        f"Median change {signed(m['median_change'])}; Wilcoxon signed-rank "
        f"{p_value(m['wilcoxon_p'])}{shown}; {effect_words(m)}."
    )


def follow_up_sentence(m: dict[str, Any]) -> str:
    """How long people were followed, from ``follow_up_days``."""
    days = m.get("follow_up_days")
    if not days:
        return ""
    return (
        f"People were followed for a median of {count_words(days['median'], 'day', digits=0)} "
        "(middle half "
        f"{number(days['p25'], 0)} to {count_words(days['p75'], 'day', digits=0)}; range "
        f"{number(days['min'], 0)} to {count_words(days['max'], 'day', digits=0)})."
    )


def attrition_check_sentence(m: dict[str, Any]) -> str:
    """Baseline of the analysed vs the baseline-only people, when shown."""
    a = m.get("attrition_check")
    if not a or a["suppressed"]:
        return ""
    return (
        f"Drop-outs: the people analysed started at {number(a['baseline_mean_analysed'])}, "
        f"those with a baseline only at {number(a['baseline_mean_baseline_only'])} "
        f"(difference {signed(a['difference'])}{_interval(a['ci95'])})."
    )


def comparison_sentence(c: dict[str, Any]) -> str:
    """One between-place comparison of change."""
    first, second = c["groups"]
    head = (
        f"{first} minus {second}: difference in mean change {signed(c['difference'])}"
        f"{_interval(c['ci95'])}"
    )
    if c["verdict"] == "difference":
        return f"{head}; {c['larger_change']} changed more ({c['verdict_reason']})."
    return f"{head}; {c['verdict']} ({c['verdict_reason']})."


def band_lines(m: dict[str, Any]) -> list[str]:
    """One line per band: share at baseline and latest with Wilson intervals."""
    bands = m.get("bands")
    if not bands:
        return []

    def share(cell: dict[str, Any]) -> str:
        if cell["suppressed"]:
            return "not shown"
        low, high = cell["ci95"]
        return f"{100 * cell['share']:.0f}% ({100 * low:.0f} to {100 * high:.0f}%)"

    return [
        f"{b['label']} ({number(b['min'])} to {number(b['max'])}): "
        f"baseline {share(b['baseline'])}, latest {share(b['latest'])}"
        for b in bands
    ]


def reliable_sentence(m: dict[str, Any]) -> str:
    """How many people changed reliably (Jacobson-Truax) or by a meaningful amount."""
    rc = m["reliable_change"]
    if rc["improved"] is None:
        reason = rc.get("reason") or "no reliable-change rule applies"
        return f"People were not classified as reliably changed: {reason}."
    n = rc["improved"] + rc["no_change"] + rc["deteriorated"]
    if rc["method"] == "jacobson-truax":
        source = (
            "the flow's reference SD"
            if rc.get("sd_source") == "flow"
            else "the whole cohort's baseline SD"
        )
        return (
            f"{rc['improved']} of {n} improved reliably, {rc['no_change']} showed no "
            f"reliable change and {rc['deteriorated']} deteriorated reliably (a reliable "
            f"change is more than {count_words(rc['threshold'], 'point')}, by Jacobson-Truax with "
            f"reliability {number(m['reliability'])} and {source})."
        )
    return (
        f"{rc['improved']} of {n} improved by at least the meaningful change of "
        f"{count_words(rc['threshold'], 'point')}, {rc['deteriorated']} got worse by at least that "
        f"much and {rc['no_change']} changed less."
    )


def attrition_sentence(p: dict[str, Any]) -> str:
    """The flow of participants in one sentence."""
    return (
        f"{p['enrolled']} enrolled; {p['prompted']} were sent at least one check-in; "
        f"{p['responded']} answered; {p['paired']} answered a baseline and a later check-in. "
        f"{p.get('withdrawn', 0)} withdrew (STOP or blocked), {p.get('forgotten', 0)} asked "
        f"to be forgotten and {p.get('lost_to_follow_up', 0)} were lost to follow-up."
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


def choice_lines(question: dict[str, Any], threshold: int) -> tuple[str, list[str]]:
    """A multiple-choice question's heading and one line per option, from the report's
    `choices` entry: the people who picked it, or why the figure is not shown."""
    if question["suppressed"]:
        return question["question"], [f"Counts {hidden_phrase(threshold)}."]
    heading = f"{question['question']} ({number(question['answered'])} people answered)"
    lines = [
        f"{option['label']}: "
        + (hidden_phrase(threshold) if option["suppressed"] else f"{number(option['people'])}")
        for option in question["options"]
    ]
    return heading, lines
