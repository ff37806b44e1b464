""" "What changed": the report's opening, one plain sentence per measure, led by its verdict,
and one for each group whose change is clear (so a change in one place is not buried under
an all-groups "no clear change").

Written for a reader without statistics training: the verdict comes first (from the
report's own `verdict`, decided on the adjusted evidence in `reports.verdict`), then the
change in the measure's own units, how many people and over what period, and how sure we
are in words taken from the adjusted p-value. No test names, effect sizes or p-values
appear here: they are in the statistics below, with a short glossary (`GLOSSARY`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from survey_flows.wording import count_words, number_words

__all__ = [
    "GLOSSARY",
    "group_sentences",
    "how_sure",
    "period_phrase",
    "what_changed",
    "when_made",
]

#: Short explanations of the words the statistics section uses.
GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Baseline",
        "a person's first answer in the period; the change is their latest answer minus it.",
    ),
    ("Paired", "people who answered at the start and again later; only they show change."),
    (
        "95% interval (CI)",
        "the range the true average change probably lies in; if it "
        "includes 0, the data cannot tell a change from none.",
    ),
    (
        "p (adjusted)",
        "how often a change this large would appear by chance if nothing had "
        "changed, allowing for the several measures in the report; small is good evidence.",
    ),
    (
        "Effect size (d)",
        "the change measured against how much people's changes vary; "
        "a yardstick to compare measures on different scales.",
    ),
    (
        "Wilcoxon test",
        "a second check of the change that does not assume a bell curve; "
        "a change is only claimed when both checks agree.",
    ),
    ("Reliable change", "a person's change bigger than the measure's own noise."),
    ("Not shown", "figures about too few people, hidden so nobody can be picked out."),
)


#: How the sentences of a clear change (an increase or a decrease) begin.
CLEAR = ("Better:", "Worse:")


def how_sure(p_adjusted: float | None) -> str:
    """How sure we are that the change is real, in words, from the adjusted p-value."""
    if p_adjusted is None:
        return "not sure"
    if p_adjusted < 0.001:
        return "very sure"
    if p_adjusted < 0.01:
        return "sure"
    if p_adjusted < 0.05:
        return "fairly sure"
    return "not sure"


def _day(text: str | None) -> str | None:
    if not text:
        return None
    day = date.fromisoformat(text[:10])
    return f"{day.day} {day:%B %Y}"


def period_phrase(period: dict[str, Any]) -> str:
    """The period in words: "from 7 September 2026 to 29 November 2026": the days the
    figures cover (``start`` and ``end``, after snapping to whole weeks), else as asked."""
    since = _day(period.get("start")) or _day(period.get("since"))
    until = _day(period.get("until"))
    if period.get("end"):  # exclusive: the last day covered is the one before it ends
        last = datetime.fromisoformat(period["end"]) - timedelta(microseconds=1)
        until = f"{last.day} {last:%B %Y}"
    if since and until:
        return f"from {since} to {until}"
    if since:
        return f"from {since} to now"
    if until:
        return f"up to {until}"
    return "over all answers so far"


def _points(x: float) -> str:
    return count_words(abs(x), "point")


def _people(n: int) -> str:
    return count_words(n, "person", "people")


def measure_sentence(label: str, m: dict[str, Any], period: dict[str, Any]) -> str:
    """One measure's sentence, led by its verdict."""
    when = period_phrase(period)
    if m.get("suppressed"):
        return (
            f"Not shown: {label}, because too few people answered it twice {when} "
            "to show figures without risk of identifying someone."
        )
    n = m.get("n_paired") or 0
    change = m.get("mean_change")
    verdict = m.get("verdict")
    if not n or change is None or verdict in (None, "not enough data"):
        return (
            f"Not enough data yet: {label}, with {_people(n)} answering at the start and "
            f"again later {when}."
        )
    sure = how_sure(m.get("p_adjusted"))
    moved = "rose" if change > 0 else "fell"
    if verdict in ("increase", "decrease"):
        lead = "Better" if m.get("verdict_better") else "Worse"
        return (
            f"{lead}: {label} {moved} by {_points(change)} on average, among "
            f"{_people(n)} who answered at the start and again later, {when}. "
            f"We are {sure} this is a real change."
        )
    size = "did not change" if number_words(abs(change)) == "0" else f"{moved} by {_points(change)}"
    return (
        f"No clear change: {label} {size} on average among {_people(n)}, {when}. "
        f"We are {sure} that this is more than chance."
    )


def group_sentences(report: dict[str, Any]) -> list[str]:
    """One sentence for each group's measure whose change the report's verdict calls an
    increase or a decrease, in an all-groups report (in a one-group report the sentences
    above are already that group's).

    Only the figures the report itself publishes for the group are used: a group the
    disclosure control hides (``reports.disclosure.decide_cells``: small counts, or hidden
    so that another cannot be worked out by subtraction) has ``suppressed`` set and gets
    no sentence, so this section never says more than the report's tables.
    """
    if report.get("scope") != "all":
        return []
    period = report.get("period") or {}
    out = []
    for group, body in (report.get("groups") or {}).items():
        for name, m in (body.get("measures") or {}).items():
            if m.get("suppressed") or m.get("verdict") not in ("increase", "decrease"):
                continue
            label = m.get("label") or (report.get("measures") or {}).get(name, {}).get("label")
            out.append(measure_sentence(f"{label or name} in {group}", m, period))
    return out


def what_changed(report: dict[str, Any]) -> list[str]:
    """The "What changed" sentences of a report (its JSON form): one per measure and one
    per group whose change is clear (``group_sentences``), the clear changes first."""
    overall = [
        measure_sentence(m.get("label") or name, m, report.get("period") or {})
        for name, m in (report.get("measures") or {}).items()
    ]
    sentences = overall + group_sentences(report)
    return sorted(sentences, key=lambda s: not s.startswith(CLEAR))


def when_made(stamp: str) -> str:
    """When a report was made, as people write it: "2 December 2026 at 14:05 UTC"."""
    try:
        at = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    return f"{at.day} {at:%B %Y} at {at:%H:%M} UTC"
