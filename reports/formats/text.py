"""The report as plain text, for a terminal or an email: figures in plain words.

Built from the JSON report alone. Resident text (stories) has control characters removed
so a story cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import textwrap
from typing import Any

from reports.formats.headline import GLOSSARY, what_changed, when_made
from reports.formats.wording import (
    attrition_check_sentence,
    attrition_sentence,
    band_lines,
    change_sentence,
    choice_lines,
    clean_text,
    comparison_sentence,
    count_words,
    follow_up_sentence,
    hidden_phrase,
    number,
    period_words,
    reliable_sentence,
    response_sentence,
    tests_sentence,
)

__all__ = ["render"]

WIDTH = 88


def _wrap(text: str, indent: int = 2) -> list[str]:
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad) or [pad]


def _measure_lines(m: dict[str, Any], threshold: int, indent: int) -> list[str]:
    """A measure's figures as a few wrapped sentences."""
    if m["suppressed"]:
        return _wrap(f"{hidden_phrase(threshold).capitalize()}.", indent)
    if not m["n_paired"]:
        return _wrap("Nobody answered at the start and again later.", indent)
    lines = _wrap(
        f"{count_words(m['n_paired'], 'person', 'people')} answered at the start and again "
        "later. Their mean went "
        f"from {number(m['baseline_mean'])} to {number(m['latest_mean'])}.",
        indent,
    )
    lines += _wrap(f"Verdict: {m['verdict']}. {change_sentence(m)}", indent)
    lines += _wrap(tests_sentence(m), indent)
    lines += _wrap(follow_up_sentence(m), indent) if m.get("follow_up_days") else []
    lines += _wrap(reliable_sentence(m), indent)
    for line in band_lines(m):
        lines += _wrap(f"Band {line}.", indent)
    for note in m.get("notes") or []:
        lines += _wrap(f"Note: {note}", indent)
    return lines


def _weekly_lines(weeks: list[dict[str, Any]]) -> list[str]:
    """One short line per week."""
    lines = ["  Week by week (Monday start; mean, 95% interval, people):"]
    for w in weeks:
        people = count_words(w["n"] or 0, "person", "people")
        if w["suppressed"]:
            lines.append(f"    {w['week_start']}  not shown (too few people)")
        elif w["ci95"] is None:
            lines.append(f"    {w['week_start']}  {number(w['mean'])}  ({people})")
        else:
            low, high = w["ci95"]
            lines.append(
                f"    {w['week_start']}  {number(w['mean'])}  "
                f"({number(low)} to {number(high)}; {people})"
            )
    return lines


def render(report: dict[str, Any]) -> str:
    """The whole report as plain text (ends with a newline)."""
    threshold = report["method"]["suppression_threshold"]
    flow = report["flow"]
    scope = "all groups" if report["scope"] == "all" else f"group {report['scope']}"
    out = [
        f"{flow['title']} ({flow['id']}): change summary",
        f"Period: {period_words(report['period'])}. Scope: {scope}.",
        f"Made on {when_made(report['generated_at'])}.",
        "",
        "WHAT CHANGED",
    ]
    for sentence in what_changed(report):
        out += _wrap(f"- {sentence}")
    out += ["", "DETAILS AND STATISTICS (the words are explained at the end)", "", "WHO ANSWERED"]
    follow_up = report.get("follow_up")
    if follow_up:
        out += _wrap(
            f"Follow-up: each person's answer nearest {count_words(follow_up['weeks'], 'week')} "
            f"after their baseline (within {count_words(follow_up['window_days'], 'day')} either "
            "side)."
        )
    if report["period"].get("since"):
        out += _wrap("Baselines are each person's first answer in this period.")
    p = report["participants"]
    if p["suppressed"]:
        out += _wrap(f"Counts {hidden_phrase(threshold)}.")
    else:
        out += _wrap(attrition_sentence(p))
        out += _wrap(response_sentence(p))

    for name, m in report["measures"].items():
        better = "higher is better" if m["higher_is_better"] else "lower is better"
        out += ["", f"{m['label'].upper()} ({name}; {better})"]
        out += _measure_lines(m, threshold, 2)
        if report["scope"] == "all" and report["groups"]:
            out.append("  By group:")
            for group, body in report["groups"].items():
                lines = _measure_lines(body["measures"][name], threshold, 6)
                out.append(f"    {group}:")
                out += lines
        for comparison in m.get("comparisons") or []:
            out += _wrap(f"Between groups: {comparison_sentence(comparison)}", 4)
        if attrition_check_sentence(m):
            out += _wrap(attrition_check_sentence(m))
        if m.get("weekly"):
            out += _weekly_lines(m["weekly"])

    if report["scope"] == "all" and report["groups"]:
        out += ["", "WHO ANSWERED, BY GROUP"]
        for group, body in report["groups"].items():
            gp = body["participants"]
            if gp["suppressed"]:
                out += _wrap(f"{group}: counts {hidden_phrase(threshold)}.")
            else:
                out += _wrap(f"{group}: {attrition_sentence(gp)} {response_sentence(gp)}")

    if report.get("choices"):
        out += ["", "WHAT PEOPLE PICKED (people who picked each option at least once)"]
        for question in report["choices"].values():
            heading, lines = choice_lines(question, threshold)
            out += _wrap(heading)
            for line in lines:
                out += _wrap(line, 4)

    if report.get("questions"):
        out += ["", "ANSWERS TO EACH QUESTION (people who gave each answer at least once)"]
        for question in report["questions"].values():
            out += _wrap(question["question"])
            for answer in question["answers"]:
                shown = "not shown" if answer["people"] is None else answer["people"]
                out += _wrap(f"{answer['label']}: {shown}", 4)

    out += ["", "STORIES"]
    if not report["stories"]:
        out += _wrap("No stories in this period.")
    for story in report["stories"]:
        where = f", {story['group']}" if story["group"] else ""
        out += textwrap.wrap(
            f"{story['date']}{where}, {story['participant']}: “{clean_text(story['text'])}”",
            WIDTH,
            initial_indent="  ",
            subsequent_indent="    ",
        )

    out += ["", "HOW THESE FIGURES WERE MADE"]
    for paragraph in report["method"]["paragraphs"]:
        out += _wrap(paragraph)
        out.append("")
    out += ["WHAT THE WORDS MEAN"]
    for term, meaning in GLOSSARY:
        out += _wrap(f"{term}: {meaning}")
    return "\n".join(out).rstrip("\n") + "\n"
