"""How long a text is as SMS: GSM-7 places, segments, and fitting sentences into a few.

A segment is 160 GSM-7 places (153 when the text is split), or 70 UTF-16 units (67) when
any character needs UCS-2; characters of the GSM-7 extension table cost two places.
"""

from __future__ import annotations

from collections.abc import Sequence

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# The GSM 03.38 basic character set, and the extension table (each costs two places).
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")


def gsm7_length(text: str) -> int | None:
    """Places the text takes in GSM-7, or None when it needs UCS-2 (emoji, most accents)."""
    length = 0
    for ch in text:
        if ch in _GSM7:
            length += 1
        elif ch in _GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def sms_segments(text: str) -> int:
    """How many SMS segments the text is sent as."""
    length = gsm7_length(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if length is not None else (UCS2_SINGLE, UCS2_PART)
    length = length if length is not None else len(text.encode("utf-16-le")) // 2
    return 1 if length <= single else -(-length // part)


def fit_segments(sentences: Sequence[str], segments: int) -> str:
    """As many whole sentences as fit in `segments` SMS segments, in the order given
    (most important first): a sentence that does not fit is left out, later ones may fit."""
    kept: list[str] = []
    for sentence in sentences:
        candidate = " ".join([*kept, sentence])
        if sms_segments(candidate) <= segments:
            kept.append(sentence)
    return " ".join(kept)
