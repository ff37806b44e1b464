"""Keywords, join codes and the shared normalisation (flow format, "Keywords")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey_flows.keywords import (
    Keyword,
    classify,
    compact,
    fold,
    join_code,
    normalise,
    telegram_start_code,
)

# Every character, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.STOP),
        ("stop", Keyword.STOP),
        ("  Stop!  ", Keyword.STOP),
        ("Stop.", Keyword.STOP),
        ("STOPALL", Keyword.STOP),
        ("stop all", Keyword.STOP),
        ("Unsubscribe", Keyword.STOP),
        ("END", Keyword.STOP),
        ("quit", Keyword.STOP),
        ("Cancel", Keyword.STOP),
        ("OPTOUT", Keyword.STOP),
        ("opt-out", Keyword.STOP),
        ("REVOKE", Keyword.STOP),
        ("/stop", Keyword.STOP),
        ("/stop@groundswell_bot", Keyword.STOP),
        ("ｓｔｏｐ", Keyword.STOP),  # full-width
        ("\u200bstop\x00", Keyword.STOP),  # zero-width space and NUL around it
        ("START", Keyword.START),
        ("start!", Keyword.START),
        ("UNSTOP", Keyword.START),
        ("/start", Keyword.START),
        ("HELP", Keyword.HELP),
        ("help?", Keyword.HELP),
        ("Info", Keyword.HELP),
        ("/help", Keyword.HELP),
        ("SKIP", Keyword.SKIP),
        (" skip. ", Keyword.SKIP),
    ],
)
def test_keywords(text: str, expected: Keyword) -> None:
    assert classify(text) is expected
    assert classify(text, opted_out=True) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "stop sending me these",  # a keyword is the whole message
        "please stop",
        "stopped",
        "startle",
        "/start ABC123",  # a Telegram deep link, not START
        "/start@groundswell_bot ABC123",
        "help me",
        "skipping",
        "7",
        "yes",  # YES only opts back in while opted out
        "👍",
        "x" * 10_000,
        "stop" + " " * 10_000 + "stop",
    ],
)
def test_not_keywords(text: str) -> None:
    assert classify(text) is None


@pytest.mark.parametrize("text", ["yes", "YES!", "y", "Yeah", "yep", "ie", "oui", "tak", "sí"])
def test_yes_opts_back_in_only_when_opted_out(text: str) -> None:
    assert classify(text, opted_out=True) is Keyword.START
    assert classify(text) is None


@pytest.mark.parametrize("text", ["ok", "okay", "sure", "👍", "no", "hello", "thanks"])
def test_loose_agreement_does_not_opt_back_in(text: str) -> None:
    assert classify(text, opted_out=True) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("/start ABC123", "ABC123"),
        ("/start abc-12", "ABC-12"),
        ("  /start   grp-7  ", "GRP-7"),
        ("/start@groundswell_bot club9", "CLUB9"),
        ("/START code", "CODE"),
    ],
)
def test_telegram_start_code(text: str, code: str) -> None:
    assert telegram_start_code(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "/start",
        "start ABC",
        "/startABC",
        "/start ABC DEF",
        "/start -ABC",
        "/start ABC-",
        "/start A_B",
        "/start ÁBC",
        "/start " + "A" * 65,
        "/stop ABC",
        "",
    ],
)
def test_not_telegram_start_code(text: str) -> None:
    assert telegram_start_code(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("JOIN ABC-12", "ABC-12"),
        ("join abc12", "ABC12"),
        ("  Join:  xyz-9! ", "XYZ-9"),
        ("JOIN GREEN-STREET-2.", "GREEN-STREET-2"),
        ("ＪＯＩＮ ＡＢＣ", "ABC"),  # full-width, as some phones send it
    ],
)
def test_join_code(text: str, code: str) -> None:
    assert join_code(text) == code


@pytest.mark.parametrize(
    "text",
    ["JOIN", "join ", "JOINABC", "join abc def", "please join abc", "join ábc", "join -", "stop"],
)
def test_not_join_code(text: str) -> None:
    assert join_code(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Stop! ", "stop"),
        ("HÉLLO", "hello"),
        ("Straße", "strasse"),
        ("a\x00b\x07c", "abc"),
        ("👍🏽", "👍"),  # skin tone dropped, emoji kept
        ("👍\ufe0f", "👍"),
        ("  many   spaces\there ", "many spaces here"),
        ("٣", "3"),  # Arabic-Indic digit
        ("۷", "7"),  # Extended Arabic-Indic (Urdu) digit
        ("\ud800yes", "yes"),  # lone surrogate
        ("  ...!?  ", ""),
        ("نَعَم", "نعم"),  # Arabic vowel marks
        ("¿Sí?", "si"),
        ("don’t", "don't"),
        ("Hello, world!", "hello, world"),  # inner punctuation kept
        ("مرحبا 🌍", "مرحبا 🌍"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_fold_keeps_surrounding_punctuation() -> None:
    assert fold(" -3. ") == "-3."


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Opt-out", "optout"), ("Hardly ever", "hardlyever"), ("hardly_ever", "hardlyever")],
)
def test_compact(text: str, expected: str) -> None:
    assert compact(text) == expected


@given(ANY_TEXT, st.booleans())
def test_classify_never_raises(text: str, opted_out: bool) -> None:
    assert classify(text, opted_out=opted_out) in (None, *Keyword)


@given(ANY_TEXT)
def test_codes_never_raise(text: str) -> None:
    for code in (telegram_start_code(text), join_code(text)):
        assert code is None or (code.isupper() or code.replace("-", "").isdigit())


@given(ANY_TEXT)
def test_normalise_is_idempotent_and_trimmed(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip()
    assert "\x00" not in once
