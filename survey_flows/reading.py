"""Reading a participant's reply as the answer to one step, by the rules of the flow format
("How replies are read").

Pure functions over a parsed `Step`: no I/O, no state. An unreadable reply is a `Reading`
with ok=False and the key of the problem, never an exception, whatever the input.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from survey_flows import languages as lang
from survey_flows.keywords import compact, fold, normalise
from survey_flows.model import Choice, Step

log = logging.getLogger(__name__)

# Replies to non-text questions longer than this are not read at all: bounded work.
MAX_READ_LENGTH = 1000
_MAX_DIGITS = 30

# Problem keys (Reading.error).
EMPTY = "empty"
NOT_A_NUMBER = "not_a_number"
NOT_WHOLE = "not_whole"  # a decimal where a scale needs a whole number
FRACTION = "fraction"  # "3/4", "7 out of 9" where the scale does not end at 9
AMBIGUOUS = "ambiguous"  # two different numbers, several matching choices, yes and no
OUT_OF_RANGE = "out_of_range"
UNKNOWN_CHOICE = "unknown_choice"
NOT_YES_NO = "not_yes_no"
TOO_LONG = "too_long"
NOT_A_QUESTION = "not_a_question"  # a `say` step, or one without a known type
INTERNAL_ERROR = "internal_error"  # a bug in this module; logged


@dataclass(frozen=True)
class Reading:
    """What a reply means for a step: a value and its score, or the key of the problem."""

    ok: bool
    value: int | float | str | bool | list[str] | None = None  # a list: `multiple: true`
    score: float | None = None
    error: str | None = None

    @classmethod
    def answer(cls, value: int | float | str | bool | list[str], score: float | None) -> Reading:
        return cls(ok=True, value=value, score=score, error=None)

    @classmethod
    def problem(cls, error: str) -> Reading:
        return cls(ok=False, value=None, score=None, error=error)


def read_reply(step: Step, text: str, language: str | None = None) -> Reading:
    """Read `text` as the answer to `step`, with number and yes/no words of `language`."""
    try:
        return _read(step, text, language)
    except Exception:  # the contract is "never raise"; a bug here must not stop a check-in
        log.exception("could not read a reply to step %r", getattr(step, "id", step))
        return Reading.problem(INTERNAL_ERROR)


def read_button(step: Step, data: str) -> Reading:
    """Read a Telegram button press: its data is a choice's value, or "yes"/"no"."""
    if isinstance(data, str) and step.asks:
        if step.type == "choice" and step.multiple:
            return _read_choices(step, data, None)
        if step.type == "choice":
            for choice in step.choices:
                if choice.value == data:
                    return _chosen(choice)
        elif step.type == "yes_no" and data in ("yes", "no"):
            return _yes_no(data == "yes")
    return read_reply(step, data)


def default_invalid_text(step: Step, language: str | None, error: str | None = None) -> str:
    """The default text that says what a step expects, for when the flow gives no `invalid`."""
    low, high = step.min, step.max
    if step.type == "scale":
        return lang.system_text("invalid_scale", language, min=low, max=high)
    if step.type == "number":
        if low is not None and high is not None:
            return lang.system_text("invalid_number_range", language, min=low, max=high)
        if low is not None:
            return lang.system_text("invalid_number_min", language, min=low)
        if high is not None:
            return lang.system_text("invalid_number_max", language, max=high)
        return lang.system_text("invalid_number", language)
    if step.type == "choice" and step.multiple:
        return lang.system_text("invalid_choice_multiple", language, n=len(step.choices))
    if step.type == "choice":
        return lang.system_text("invalid_choice", language, n=len(step.choices))
    if step.type == "yes_no":
        return lang.system_text("invalid_yes_no", language)
    if error == TOO_LONG and step.max_length is not None:
        return lang.system_text("invalid_text_too_long", language, max_length=step.max_length)
    return lang.system_text("invalid_text_empty", language)


def _read(step: Step, text: str, language: str | None) -> Reading:
    if not isinstance(text, str):
        return Reading.problem(EMPTY)
    if not step.asks or step.type is None:
        return Reading.problem(NOT_A_QUESTION)
    if step.type == "text":
        return _read_text(step, text)
    stripped = text.strip()
    if len(stripped) > MAX_READ_LENGTH:
        return Reading.problem(TOO_LONG)
    if not normalise(stripped):
        return Reading.problem(EMPTY)
    if step.type == "scale":
        return _read_scale(step, stripped, language)
    if step.type == "number":
        return _read_decimal(step, stripped, language)
    if step.type == "choice" and step.multiple:
        return _read_choices(step, stripped, language)
    if step.type == "choice":
        return _read_choice(step, stripped, language)
    if step.type == "yes_no":
        return _read_yes_no(stripped, language)
    return Reading.problem(NOT_A_QUESTION)


# --- text -------------------------------------------------------------------------------


def _read_text(step: Step, text: str) -> Reading:
    """Anything non-empty, kept as written (emoji, RTL) minus control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    cleaned = "".join(
        ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs")
    ).strip()
    if not cleaned:
        return Reading.problem(EMPTY)
    if step.max_length is not None and len(cleaned) > step.max_length:
        return Reading.problem(TOO_LONG)
    return Reading.answer(cleaned, None)


# --- numbers ----------------------------------------------------------------------------


def _bound(value: float | None) -> Decimal | None:
    """A step's bound as an exact Decimal; a missing or non-finite bound is no bound."""
    if value is None or isinstance(value, bool) or not math.isfinite(value):
        return None
    return Decimal(value)


def _read_scale(step: Step, text: str, language: str | None) -> Reading:
    """A whole number within [min, max]: "7", "seven", "7/10", "I'd say 7"."""
    low, high = _bound(step.min), _bound(step.max)
    number = _read_number(text, language, high)
    if isinstance(number, str):
        return Reading.problem(number)
    if number != number.to_integral_value():
        return Reading.problem(NOT_WHOLE)
    if (low is not None and number < low) or (high is not None and number > high):
        return Reading.problem(OUT_OF_RANGE)
    return Reading.answer(int(number), float(int(number)))


def _read_decimal(step: Step, text: str, language: str | None) -> Reading:
    """A number within the optional bounds, decimals allowed: "2.5", "2,5"."""
    low, high = _bound(step.min), _bound(step.max)
    number = _read_number(text, language, high)
    if isinstance(number, str):
        return Reading.problem(number)
    if (low is not None and number < low) or (high is not None and number > high):
        return Reading.problem(OUT_OF_RANGE)
    value = float(number) + 0.0  # no negative zero
    return Reading.answer(value, value)


@dataclass
class _Item:
    """One token of a reply, as far as numbers are concerned."""

    kind: str  # "num", "per" (a "/" or "out of"), "and" (joins tens and units), "other"
    value: Decimal | None = None
    word: bool = False  # a number written as a word
    weak: bool = False  # also an article: "un 7"
    error: str | None = None


_NUMBER_TOKEN = re.compile(
    r"(?P<sign>(?<![\w.,])[-−–])?(?P<digits>\d+(?:[.,]\d+)*)"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)"
    r"|(?P<slash>/)"
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_TENS = frozenset(range(20, 100, 10))


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


@lru_cache(maxsize=32)
def _number_table(language: str | None) -> tuple[dict[tuple[str, ...], _Item], int]:
    """Number words, "out of" words and connectors of a language and English, as phrases."""
    table: dict[tuple[str, ...], _Item] = {}
    for code in lang.language_chain(language):
        weak = {_phrase(w) for w in lang.WEAK_NUMBER_WORDS.get(code, ())}
        entries: list[tuple[str, _Item]] = [
            (w, _Item("other")) for w in lang.NOT_NUMBER_PHRASES.get(code, ())
        ]
        entries += [(w, _Item("per")) for w in lang.OUT_OF_WORDS.get(code, ())]
        entries += [(w, _Item("and")) for w in lang.NUMBER_CONNECTORS.get(code, ())]
        for word, value in lang.NUMBER_WORDS.get(code, {}).items():
            item = _Item("num", Decimal(value), word=True, weak=_phrase(word) in weak)
            entries.append((word, item))
        for word, item in entries:
            table.setdefault(_phrase(word), item)
    return table, max(map(len, table))


def _digits(sign: str | None, digits: str, language: str | None) -> _Item:
    """A number written in digits: "7", "-3", "2.5", "2,5", "1,000" (English), "1.000" (es)."""
    if len(digits) > _MAX_DIGITS:
        return _Item("num", error=OUT_OF_RANGE)
    thousands = "." if lang.base_language(language) in lang.DECIMAL_COMMA_LANGUAGES else ","
    if re.fullmatch(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})+", digits):
        number = Decimal(digits.replace(thousands, ""))
    elif len(re.findall(r"[.,]", digits)) > 1:
        return _Item("num", error=AMBIGUOUS)
    else:
        number = Decimal(digits.replace(",", "."))
    return _Item("num", -number if sign else number)


def _items(text: str, language: str | None) -> list[_Item]:
    """The reply as numbers, separators and other words, longest word phrases first."""
    table, longest = _number_table(language)
    folded = fold(text).replace("٫", ".").replace("٬", ",")
    tokens = list(_NUMBER_TOKEN.finditer(folded))
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token["digits"]:
            items.append(_digits(token["sign"], token["digits"], language))
        elif token["slash"]:
            items.append(_Item("per"))
        else:
            words = [t["word"] for t in tokens[i : i + longest]]
            words = words[: words.index(None)] if None in words else words
            for size in range(len(words), 0, -1):
                found = table.get(tuple(words[:size]))
                if found is not None:
                    items.append(_Item(found.kind, found.value, found.word, found.weak))
                    i += size
                    break
            else:
                items.append(_Item("other"))
                i += 1
            continue
        i += 1
    return items


def _is_num(items: list[_Item], i: int) -> bool:
    return 0 <= i < len(items) and items[i].kind == "num"


def _compose(items: list[_Item]) -> list[_Item]:
    """Tens and units written as words make one number: "twenty one", "vinte e um"."""
    out: list[_Item] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind == "num" and item.word and item.value is not None and item.value in _TENS:
            j = i + 2 if i + 1 < len(items) and items[i + 1].kind == "and" else i + 1
            unit = items[j] if j < len(items) else None
            if (
                unit
                and unit.kind == "num"
                and unit.word
                and unit.value is not None
                and unit.value in range(1, 10)
            ):
                out.append(_Item("num", item.value + unit.value, word=True))
                i = j + 1
                continue
        out.append(item)
        i += 1
    return out


def _drop_top(items: list[_Item], top: Decimal | None) -> list[_Item] | str:
    """Drop the top of the scale from "7/10" and "7 out of 10"; any other x/y is a fraction."""
    out: list[_Item] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind == "per" and out and out[-1].kind == "num" and _is_num(items, i + 1):
            if top is None or items[i + 1].value != top:
                return FRACTION
            i += 2
            continue
        out.append(item)
        i += 1
    return out


def _read_number(text: str, language: str | None, top: Decimal | None) -> Decimal | str:
    """The one number a reply gives, or the key of the problem."""
    items = _drop_top(_compose(_items(text, language)), top)
    if isinstance(items, str):
        return items
    numbers: set[Decimal] = set()
    for i, item in enumerate(items):
        if item.kind != "num":
            continue
        if item.error:
            return item.error
        if item.weak and (_is_num(items, i - 1) or _is_num(items, i + 1)):
            continue
        if item.value is not None:
            numbers.add(item.value)
    if not numbers:
        return NOT_A_NUMBER
    if len(numbers) > 1:
        return AMBIGUOUS
    return numbers.pop()


# --- choices ----------------------------------------------------------------------------


def _chosen(choice: Choice) -> Reading:
    return Reading.answer(choice.value, None if choice.score is None else float(choice.score))


_KEYS: dict[int, tuple[Choice, frozenset[str]]] = {}


def _choice_keys(choice: Choice) -> frozenset[str]:
    """Everything that names a choice: its value, its label in any language, its aliases.

    Remembered per choice object (flows are loaded once and kept), since every reply to a
    choice question needs them.
    """
    known = _KEYS.get(id(choice))
    if known is not None and known[0] is choice:
        return known[1]
    names = [choice.value, *choice.label.values(), *choice.aliases]
    keys = frozenset(key for key in map(compact, names) if key)
    _KEYS[id(choice)] = (choice, keys)
    return keys


def _read_choice(step: Step, text: str, language: str | None) -> Reading:
    """Position 1..n, then value, label or alias; ignoring case, spacing and punctuation.

    The position wins over a choice *named* "1": the SMS question lists the options by
    position, so that is what the participant was asked to send.
    """
    key = normalise(text)
    count = len(step.choices)
    position: int | None = None
    if key.isascii() and key.isdigit():
        position = int(key) if len(key) <= 6 else 0
        if 1 <= position <= count:
            return _chosen(step.choices[position - 1])
    squashed = compact(text)
    matches = [c for c in step.choices if squashed in _choice_keys(c)]
    if len(matches) == 1:
        return _chosen(matches[0])
    if len(matches) > 1:
        return Reading.problem(AMBIGUOUS)
    table, _ = _number_table(language)
    word = table.get(_phrase(key))
    if word is not None and word.kind == "num" and word.value is not None:
        position = int(word.value)
        if 1 <= position <= count:
            return _chosen(step.choices[position - 1])
    return Reading.problem(OUT_OF_RANGE if position is not None else UNKNOWN_CHOICE)


# Between the options of a multiple answer: commas and the like, and words such as "and".
_LIST_BREAK = re.compile(r"[,;/&+\n]+")
_JOINERS = frozenset({"and", "also", "plus", "a", "ac", "y", "et", "i", "e", "oraz"})
_MAX_WORDS = 200


def _read_choices(step: Step, text: str, language: str | None) -> Reading:
    """One or more options of a `multiple: true` step: "1 3", "1, 3", "1 and 3",
    "lighting and traffic", labels and aliases; the chosen values in the flow's order.

    The whole reply is first read as one option (a label may contain "and"), then each
    comma-separated part, then runs of words, longest first, so "street lighting traffic"
    finds both "Street lighting" and "Traffic". Any word left unread makes it unreadable:
    a guess would store an answer the resident did not give.
    """
    whole = _read_choice(step, text, language)
    if whole.ok:
        return Reading.answer([str(whole.value)], None)
    chosen: set[str] = set()
    for part in _LIST_BREAK.split(text):
        words = normalise(part).split()
        if not words:
            continue
        if len(words) > _MAX_WORDS:
            return Reading.problem(TOO_LONG)
        error = _read_words(step, words, language, chosen)
        if error is not None:
            return Reading.problem(error)
    if not chosen:
        return Reading.problem(UNKNOWN_CHOICE)
    return Reading.answer([c.value for c in step.choices if c.value in chosen], None)


def _longest_name(step: Step) -> int:
    """The most words in any name of the step's choices (value, label, alias)."""
    return max(
        len(normalise(name).split())
        for choice in step.choices
        for name in (choice.value, *choice.label.values(), *choice.aliases)
    )


def _read_words(step: Step, words: list[str], language: str | None, chosen: set[str]) -> str | None:
    """Add the options named by `words` to `chosen`; the problem key if a word names none."""
    longest = _longest_name(step) + 2  # "twenty one" and the like as positions
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + longest), start, -1):
            found = _read_choice(step, " ".join(words[start:end]), language)
            if found.ok:
                chosen.add(str(found.value))
                start = end
                break
            if found.error == AMBIGUOUS and end - start == 1:
                return AMBIGUOUS
        else:
            if words[start] not in _JOINERS:
                number = words[start].isascii() and words[start].isdigit()
                return OUT_OF_RANGE if number else UNKNOWN_CHOICE
            start += 1
    return None


# --- yes / no ---------------------------------------------------------------------------

_YES_NO_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")

# A phrase's meaning: True (yes), False (no) or None (don't know), and whether it is a clear
# answer (a "strong" word) rather than loose agreement like "ok".
_Meaning = tuple[bool | None, bool]


def _tokens(text: str) -> tuple[str, ...]:
    tokens = _YES_NO_TOKEN.findall(normalise(text))
    return tuple(t for t in tokens if not unicodedata.category(t[0]).startswith("P"))


def _yes_no_entries(code: str) -> list[tuple[str, _Meaning]]:
    return [
        *((w, (None, False)) for w in lang.UNSURE_WORDS.get(code, ())),
        *((w, (True, True)) for w in lang.YES_WORDS.get(code, ())),
        *((w, (False, True)) for w in lang.NO_WORDS.get(code, ())),
        *((w, (True, False)) for w in lang.SOFT_YES_WORDS.get(code, ())),
    ]


@lru_cache(maxsize=32)
def _yes_no_table(languages: tuple[str, ...]) -> tuple[dict[tuple[str, ...], _Meaning], int]:
    """Yes/no phrases of the given languages; an earlier language wins a shared phrase."""
    table: dict[tuple[str, ...], _Meaning] = {}
    for code in languages:
        for phrase, meaning in _yes_no_entries(code):
            table.setdefault(_tokens(phrase), meaning)
    return table, max(map(len, table))


def _longest(
    table: dict[tuple[str, ...], _Meaning], longest: int, tokens: tuple[str, ...], start: int
) -> tuple[int, _Meaning] | None:
    for size in range(min(longest, len(tokens) - start), 0, -1):
        meaning = table.get(tokens[start : start + size])
        if meaning is not None:
            return size, meaning
    return None


def _is_letter(phrase: tuple[str, ...]) -> bool:
    """A single letter ("y", "n") means yes or no only as the whole message."""
    return len(phrase) == 1 and len(phrase[0]) == 1 and phrase[0].isalnum()


def _yes_no(answer: bool) -> Reading:
    return Reading.answer(answer, 1.0 if answer else 0.0)


def _read_yes_no(text: str, language: str | None) -> Reading:
    """A yes or no word (any supported language) alone or leading the reply ("no, thanks").

    "Don't know" phrases are unreadable even where they begin with "no" ("no sé"), and a
    clear word of the other answer later in the reply makes it ambiguous ("yes no").
    """
    tokens = _tokens(text)
    own = lang.language_chain(language)
    others = tuple(code for code in lang.SUPPORTED_LANGUAGES if code not in own)
    table, longest = _yes_no_table(own + others)
    found = _longest(table, longest, tokens, 0)
    if found is None:
        return Reading.problem(NOT_YES_NO)
    size, (answer, _) = found
    if answer is None or (size < len(tokens) and _is_letter(tokens[:size])):
        return Reading.problem(NOT_YES_NO)
    own_table, own_longest = _yes_no_table(own)
    i = size
    while i < len(tokens):
        later = _longest(own_table, own_longest, tokens, i)
        if later is None:
            i += 1
            continue
        later_size, (later_answer, strong) = later
        contradicts = strong and later_answer is not None and later_answer != answer
        if contradicts and not _is_letter(tokens[i : i + later_size]):
            return Reading.problem(AMBIGUOUS)
        i += later_size
    return _yes_no(answer)
