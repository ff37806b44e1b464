"""How an engine message reads on a plain-text channel (SMS, the terminal simulator).

One implementation of the SMS rendering (`render_plain`) serves both the engine's `Outgoing`
values (`plain_text`) and the channel adapters' outbound rows, so the simulator, the golden
tests and what residents receive cannot drift apart. `split_text` cuts text that is too long
for one provider message on line or word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from survey_flows.engine_values import Option, Outgoing

_WHITESPACE = re.compile(r"\s")


def render_plain(text: str, options: Sequence[Option] = (), numbered: bool = False) -> str:
    """`text`, followed by a line of numbered options when `numbered` (a choice question).

    Residents answer an SMS choice question by number or by label, so the labels must be
    in the text itself; on button channels `numbered` is ignored by the caller.
    """
    if not numbered:
        return text
    listed = " ".join(f"{i}) {option.label}" for i, option in enumerate(options, 1))
    return f"{text}\n{listed}"


def plain_text(message: Outgoing) -> str:
    """The message as an SMS shows it: a choice question lists its numbered options."""
    return render_plain(message.text, message.options, message.numbered)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: how Telegram counts its limits (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(
    text: str,
    limit: int,
    *,
    first_limit: int | None = None,
    length: Callable[[str], int] = utf16_len,
) -> list[str]:
    """Cut `text` into parts of at most `limit` units (`first_limit` for the first part).

    Why: providers refuse over-long messages (Telegram 4,096 characters, captions 1,024;
    Twilio 1,600). Each cut falls on the last line break in the second half of the window,
    else on the last whitespace, else (one unbroken word) exactly at the limit. Whitespace
    at a cut is dropped and whitespace-only parts are never produced, because providers
    reject empty messages. Text that fits comes back as one part unchanged; empty or
    whitespace-only text gives `[]`. `length` measures a string (UTF-16 units by default,
    which is never less than the number of characters, so it suits Twilio too).
    """
    if limit < 1 or (first_limit is not None and first_limit < 1):
        raise ValueError("limits must be positive")
    parts: list[str] = []
    rest = text
    cap = first_limit if first_limit is not None else limit
    while length(rest) > cap:
        window = rest[: _fitting_prefix(rest, cap, length)]
        newline = window.rfind("\n")
        spaces = [m.start() for m in _WHITESPACE.finditer(window)]
        if newline >= len(window) // 2:
            cut, skip = newline, 1
        elif spaces and spaces[-1] > 0:
            cut, skip = spaces[-1], 1
        else:
            cut, skip = len(window), 0
        head = rest[:cut].rstrip()
        rest = rest[cut + skip :].lstrip()
        if head:
            parts.append(head)
            cap = limit
    if rest.strip():
        parts.append(rest if not parts else rest.rstrip())
    return parts


def _fitting_prefix(text: str, cap: int, length: Callable[[str], int]) -> int:
    """The largest number of characters of `text` whose measured length is at most `cap`."""
    low, high = 1, min(len(text), cap)  # length(c) >= 1 per character, so cap chars at most
    if length(text[:low]) > cap:
        return 1  # a single character longer than the cap: cut after it, never loop forever
    while low < high:  # binary search: length is monotonic in the prefix
        middle = (low + high + 1) // 2
        if length(text[:middle]) <= cap:
            low = middle
        else:
            high = middle - 1
    return low
