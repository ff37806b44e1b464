"""Checks of the `choices:` of a `type: choice` step: each option's value, label, score and
aliases, and that no reply a resident could send would match two options.

A resident picks an option by its number or by its value, label or an alias, with case,
spacing and punctuation ignored (see `reading`), so a clash is refused when the flow is
checked rather than found when a reply is misread.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from survey_flows.checks.checker import Checker, shown
from survey_flows.checks.yaml_lines import key_line, value_line
from survey_flows.model import Choice

CHOICE_KEYS = ("value", "label", "score", "aliases")


def check_choices(
    checker: Checker,
    node: CommentedMap,
    where: str,
    known: Sequence[str],
    later: Sequence[str],
    need_scores: bool,
) -> tuple[Choice, ...]:
    """The `choices` of step `node`; every choice needs a `score` when `need_scores`."""
    seq = node["choices"]
    if not isinstance(seq, CommentedSeq) or not seq:
        checker.add(
            value_line(node, "choices"),
            f"{where}`choices` must be a list of options, each like "
            f'{{value: often, label: "Often", score: 4}}; found {shown(seq)}',
        )
        return ()
    result: list[Choice] = []
    replies: dict[str, tuple[int, str]] = {}
    for index, item in enumerate(seq):
        line = key_line(seq, index)
        here = f"{where}choice {index + 1}: "
        if not isinstance(item, CommentedMap):
            checker.add(
                line,
                f'{here}must be like {{value: often, label: "Often"}}; found {shown(item)}',
            )
            continue
        checker.unknown_keys(item, CHOICE_KEYS, here)
        value = _choice_token(checker, item, "value", here) if "value" in item else None
        if "value" not in item:
            checker.add(
                line, f"{here}needs a `value`, the word stored as the answer, e.g. value: often"
            )
        label = checker.text(item, "label", here, known, later) if "label" in item else None
        if "label" not in item:
            checker.add(
                line, f'{here}needs a `label`, the words residents see, e.g. label: "Often"'
            )
        score = checker.number(item, "score", here) if "score" in item else None
        if need_scores and "score" not in item:
            checker.add(line, f"{here}this step feeds a `measure`, so every choice needs a `score`")
        aliases = _aliases(checker, item, here) if "aliases" in item else ()
        if value is None or label is None:
            continue
        tokens = [value, *label.values(), *aliases]
        for token in tokens:
            _claim_reply(checker, replies, token, index, value, line, where, len(seq))
        result.append(Choice(value=value, label=label, score=score, aliases=aliases))
    return tuple(result)


def reply_form(text: str) -> str:
    """How replies are compared: case, surrounding spaces and punctuation ignored."""
    stripped = text.casefold().strip(string.punctuation + string.whitespace)
    return " ".join(stripped.split())


def _choice_token(checker: Checker, node: CommentedMap, key: str, where: str) -> str | None:
    value = node[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return checker.string(node, key, where, "often")


def _aliases(checker: Checker, node: CommentedMap, where: str) -> tuple[str, ...]:
    value = node["aliases"]
    items = value if isinstance(value, CommentedSeq) else [value]
    result = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            checker.add(
                value_line(node, "aliases"),
                f"{where}`aliases` must be a list of words, e.g. aliases: [rarely, seldom]; "
                f"found {shown(item)}",
            )
            return ()
        result.append(item.strip())
    return tuple(result)


def _claim_reply(
    checker: Checker,
    replies: dict[str, tuple[int, str]],
    token: str,
    index: int,
    value: str,
    line: int,
    where: str,
    count: int,
) -> None:
    """Refuse a value, label or alias that a reply could take for a different choice."""
    form = reply_form(token)
    if not form:
        return
    owner = replies.get(form)
    if owner is not None and owner[0] != index:
        if form == reply_form(owner[1]) and form == reply_form(value):
            message = f"{where}choice value '{value}' is used twice; each choice needs its own"
        else:
            message = (
                f"{where}the reply '{token}' would match both '{owner[1]}' and '{value}'; "
                "make values, labels and aliases different"
            )
        checker.add(line, message)
    elif form.isdigit() and 1 <= int(form) <= count and int(form) != index + 1:
        checker.add(
            line,
            f"{where}choice '{value}' uses '{token}', but a reply of {form} means option "
            f"{form}; use another word or put the choices in that order",
        )
    replies.setdefault(form, (index, value))
