"""Keywords that work in any flow at any time (STOP, START, HELP, SKIP), join codes, and
the one text normalisation that every reply reader shares.

A keyword is the *whole* message, ignoring case, spacing and punctuation: "Stop!" stops,
"stop sending me these" does not (it may be an answer to a text question).
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata

from survey_flows.languages import SUPPORTED_LANGUAGES, YES_WORDS

# Keywords are short; anything longer is an answer and is not worth normalising.
_MAX_KEYWORD_LENGTH = 64
_MAX_CODE_LENGTH = 64

# Letters that keyboards mix freely (Arabic and Urdu yeh, kaf and heh, tatweel; curly and
# straight apostrophes), so that both sides of a comparison agree.
_VARIANTS = str.maketrans(
    {"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ہ": "ه", "ۃ": "ه", "ـ": None, "’": "'", "ʼ": "'"}
)
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Mn", "Me"})


class Keyword(enum.Enum):
    """A message that acts on the conversation rather than answering the question."""

    STOP = "stop"
    START = "start"
    HELP = "help"
    SKIP = "skip"


_KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ("stop", "stopall", "unsubscribe", "end", "quit", "cancel", "optout", "revoke"),
        Keyword.STOP,
    ),
    **dict.fromkeys(("start", "unstop"), Keyword.START),
    **dict.fromkeys(("help", "info"), Keyword.HELP),
    "skip": Keyword.SKIP,
}


def fold(text: str) -> str:
    """Text reduced for comparison, punctuation kept.

    Compatibility-decomposed and case-folded; accents, combining marks, control and
    format characters, lone surrogates and emoji skin tones dropped (SMS users often
    drop accents, and 👍🏽 means 👍); any script's digits made ASCII; runs of whitespace
    made one space. Emoji and letters of every script are kept.
    """
    if text.isascii():  # the common case, by far: the same result without the Unicode work
        if not text.isprintable():
            text = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
        return " ".join(text.lower().split())
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text).casefold():
        if ch.isspace():
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in _DROPPED_CATEGORIES or ord(ch) in _SKIN_TONES:
            continue
        if category == "Nd":
            out.append(str(unicodedata.decimal(ch, 0)))
        else:
            out.append(ch)
    folded = unicodedata.normalize("NFC", "".join(out)).translate(_VARIANTS)
    return " ".join(folded.split())


@functools.lru_cache(maxsize=4096)
def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def normalise(text: str) -> str:
    """`fold`, then surrounding spaces and punctuation removed: "  Stop! " -> "stop"."""
    folded = fold(text)
    start, end = 0, len(folded)
    while start < end and (folded[start] == " " or _is_punctuation(folded[start])):
        start += 1
    while end > start and (folded[end - 1] == " " or _is_punctuation(folded[end - 1])):
        end -= 1
    return folded[start:end]


def compact(text: str) -> str:
    """`normalise` with all spaces and punctuation removed: "Opt-out" -> "optout"."""
    return "".join(ch for ch in normalise(text) if ch != " " and not _is_punctuation(ch))


# Only clear yeses opt a participant back in; loose ones like "ok" do not (see languages).
_OPT_IN_WORDS: frozenset[str] = frozenset(
    compact(word) for language in SUPPORTED_LANGUAGES for word in YES_WORDS.get(language, ())
)

# A Telegram command in a group carries the bot's name: "/stop@groundswell_bot".
_BOT_SUFFIX = re.compile(r"@[a-z0-9_]+$", re.ASCII)


def classify(text: str, *, opted_out: bool = False) -> Keyword | None:
    """The keyword the whole message is, if any. "yes" counts as START only when opted out."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_KEYWORD_LENGTH:
        return None
    if stripped.startswith("/"):
        stripped = _BOT_SUFFIX.sub("", stripped.lower())
    key = compact(stripped)
    keyword = _KEYWORDS.get(key)
    if keyword is None and opted_out and key in _OPT_IN_WORDS:
        return Keyword.START
    return keyword


_CODE = r"([a-z0-9]+(?:-[a-z0-9]+)*)"
_TELEGRAM_START = re.compile(r"/start(?:@[a-z0-9_]+)?\s+" + _CODE, re.ASCII | re.IGNORECASE)
_JOIN = re.compile(r"join[\s:]+" + _CODE + r"[\s.!]*", re.ASCII | re.IGNORECASE)


def _code(pattern: re.Pattern[str], text: str) -> str | None:
    if not isinstance(text, str) or len(text) > 2 * _MAX_CODE_LENGTH:
        return None
    match = pattern.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None or len(match.group(1)) > _MAX_CODE_LENGTH:
        return None
    return match.group(1).upper()


def telegram_start_code(text: str) -> str | None:
    """The code of a Telegram deep link, "/start CODE" -> "CODE"; None for a plain /start."""
    return _code(_TELEGRAM_START, text)


def join_code(text: str) -> str | None:
    """The code of an SMS "JOIN CODE" message, upper-cased; None for anything else."""
    return _code(_JOIN, text)
