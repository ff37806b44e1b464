"""Reading replies as answers (flow format, "How replies are read"), and the default texts."""

from __future__ import annotations

import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_flows import languages
from survey_flows.model import Choice, Step
from survey_flows.reading import (
    AMBIGUOUS,
    EMPTY,
    FRACTION,
    INTERNAL_ERROR,
    NOT_A_NUMBER,
    NOT_A_QUESTION,
    NOT_WHOLE,
    NOT_YES_NO,
    OUT_OF_RANGE,
    TOO_LONG,
    UNKNOWN_CHOICE,
    Reading,
    default_invalid_text,
    read_button,
    read_reply,
)


def ask(type_: str, **fields: object) -> Step:
    return Step(id="q", kind="ask", text={"en": "Question?"}, type=type_, **fields)  # type: ignore[arg-type]


SCALE = ask("scale", min=0, max=10)
FIVE = ask("scale", min=1, max=5)
NUMBER = ask("number")
HOURS = ask("number", min=0, max=24)
LONELY = ask(
    "choice",
    choices=(
        Choice("often", {"en": "Often or always", "cy": "Yn aml neu bob amser"}, 4),
        Choice("some", {"en": "Some of the time", "cy": "Rhywfaint o'r amser"}, 3),
        Choice("occasionally", {"en": "Occasionally"}, 2),
        Choice("hardly_ever", {"en": "Hardly ever"}, 1, aliases=("rarely",)),
        Choice("never", {"en": "Never", "cy": "Byth"}, 0),
    ),
)
YES_NO = ask("yes_no")
STORY = ask("text", max_length=20)
FREE_TEXT = ask("text")
ALL_STEPS = (SCALE, FIVE, NUMBER, HOURS, LONELY, YES_NO, STORY, FREE_TEXT)


def problem(error: str) -> Reading:
    return Reading(ok=False, value=None, score=None, error=error)


# --- scale ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("7", None, 7),
        (" 7 ", None, 7),
        ("7/10", None, 7),
        ("7 / 10", None, 7),
        ("7 out of 10", None, 7),
        ("7 of 10", None, 7),
        ("seven", None, 7),
        ("SEVEN", None, 7),
        ("Seven!", None, 7),
        ("I'd say 7", None, 7),
        ("I’d say seven", None, 7),
        ("7!", None, 7),
        ("7.", None, 7),
        ("about a 7 today", None, 7),
        ("7, yes 7", None, 7),  # the same number twice is still one number
        ("7.0", None, 7),
        ("0", None, 0),
        ("zero", None, 0),
        ("10", None, 10),
        ("10/10", None, 10),
        ("ten", None, 10),
        ("٧", None, 7),  # Arabic-Indic digit
        ("۷", None, 7),  # Extended Arabic-Indic digit
        ("７", None, 7),  # full-width digit
        ("7\u200f", None, 7),  # right-to-left mark
        ("7\x00", None, 7),
        # Number words of the participant's language, and English as well.
        ("saith", "cy", 7),
        ("Dim ond 5", "cy", 5),
        ("seven", "cy", 7),
        ("7 allan o 10", "cy", 7),
        ("deg", "cy", 10),
        ("siete", "es", 7),
        ("le doy un 7", "es", 7),
        ("7 de 10", "es", 7),
        ("sept", "fr", 7),
        ("je dirais 7 sur 10", "fr", 7),
        ("siedem", "pl", 7),
        ("pięć", "pl", 5),
        ("piec", "pl", 5),  # typed without the accents
        ("sete", "pt", 7),
        ("três", "pt", 3),
        ("سبعة", "ar", 7),
        ("أربعة", "ar", 4),
        ("اربعة", "ar", 4),
        ("سات", "ur", 7),
        ("saat", "ur", 7),
        ("siete", "es-MX", 7),
    ],
)
def test_scale_reads(text: str, language: str | None, value: int) -> None:
    reading = read_reply(SCALE, text, language)
    assert reading == Reading(ok=True, value=value, score=float(value), error=None)
    assert type(reading.value) is int


@pytest.mark.parametrize(
    ("text", "language", "error"),
    [
        ("", None, EMPTY),
        ("   ", None, EMPTY),
        ("?!", None, EMPTY),
        ("\x00\x01", None, EMPTY),
        ("banana", None, NOT_A_NUMBER),
        ("👍", None, NOT_A_NUMBER),
        ("saith", None, NOT_A_NUMBER),  # Welsh words only for Welsh speakers
        ("7 or 8", None, AMBIGUOUS),
        ("7-8", None, AMBIGUOUS),
        ("between 6 and 7", None, AMBIGUOUS),
        ("seven or 8", None, AMBIGUOUS),
        ("one or two", None, AMBIGUOUS),
        ("7 today, 5 last week", None, AMBIGUOUS),
        ("11", None, OUT_OF_RANGE),
        ("-1", None, OUT_OF_RANGE),
        ("eleven", None, OUT_OF_RANGE),
        ("100", None, OUT_OF_RANGE),
        ("9" * 40, None, OUT_OF_RANGE),
        ("7.5", None, NOT_WHOLE),
        ("7,5", None, NOT_WHOLE),
        ("7/9", None, FRACTION),
        ("3/4", None, FRACTION),
        ("7 out of 9", None, FRACTION),
        ("7/10/2024", None, FRACTION),
        ("1.2.3", None, AMBIGUOUS),
        ("x" * 10_000, None, TOO_LONG),
        ("7 " + "x" * 10_000, None, TOO_LONG),
    ],
)
def test_scale_unreadable(text: str, language: str | None, error: str) -> None:
    assert read_reply(SCALE, text, language) == problem(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/5", Reading(True, 3, 3.0, None)),
        ("3 out of 5", Reading(True, 3, 3.0, None)),
        ("3/10", problem(FRACTION)),
        ("7 out of 10", problem(FRACTION)),
        ("0", problem(OUT_OF_RANGE)),
        ("6", problem(OUT_OF_RANGE)),
    ],
)
def test_scale_top_is_the_steps_own_max(text: str, expected: Reading) -> None:
    assert read_reply(FIVE, text) == expected


def test_scale_with_negative_bounds() -> None:
    step = ask("scale", min=-5, max=5)
    assert read_reply(step, "-3") == Reading(True, -3, -3.0, None)
    assert read_reply(step, "−3") == Reading(True, -3, -3.0, None)  # Unicode minus sign
    assert read_reply(step, "-6").error == OUT_OF_RANGE


def test_scale_reply_padded_with_spaces_is_read() -> None:
    assert read_reply(SCALE, " " * 5_000 + "7" + " " * 5_000).value == 7


# --- number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "text", "language", "value"),
    [
        (NUMBER, "2.5", None, 2.5),
        (NUMBER, "2,5", None, 2.5),
        (NUMBER, "2,5", "fr", 2.5),
        (NUMBER, "3", None, 3.0),
        (NUMBER, "three", None, 3.0),
        (NUMBER, "about 6.5 hours", None, 6.5),
        (NUMBER, "-3", None, -3.0),
        (NUMBER, "-0", None, 0.0),
        (NUMBER, "1,000", None, 1000.0),  # English thousands
        (NUMBER, "1.000", "es", 1000.0),  # Spanish thousands
        (NUMBER, "1.000", None, 1.0),
        (NUMBER, "twenty one", None, 21.0),
        (NUMBER, "twenty-one", None, 21.0),
        (NUMBER, "vinte e um", "pt", 21.0),
        (NUMBER, "treinta y cinco", "es", 35.0),
        (NUMBER, "dwadzieścia jeden", "pl", 21.0),
        (NUMBER, "tri deg pump", "cy", 35.0),
        (NUMBER, "soixante-dix-sept", "fr", 77.0),
        (NUMBER, "vingt et un", "fr", 21.0),
        (NUMBER, "٢٫٥", "ar", 2.5),  # Arabic decimal separator
        (HOURS, "24/24", None, 24.0),
        (HOURS, "0", None, 0.0),
    ],
)
def test_number_reads(step: Step, text: str, language: str | None, value: float) -> None:
    reading = read_reply(step, text, language)
    assert reading == Reading(ok=True, value=value, score=value, error=None)
    assert type(reading.value) is float


@pytest.mark.parametrize(
    ("step", "text", "error"),
    [
        (NUMBER, "", EMPTY),
        (NUMBER, "lots", NOT_A_NUMBER),
        (NUMBER, "2.5 or 3", AMBIGUOUS),
        (NUMBER, "1.2.3", AMBIGUOUS),
        (NUMBER, "3/4", FRACTION),  # no max, so any x/y is a fraction
        (NUMBER, "9" * 40, OUT_OF_RANGE),
        (HOURS, "25", OUT_OF_RANGE),
        (HOURS, "-1", OUT_OF_RANGE),
        (HOURS, "8/10", FRACTION),
        (NUMBER, "1" * 2_000, TOO_LONG),
    ],
)
def test_number_unreadable(step: Step, text: str, error: str) -> None:
    assert read_reply(step, text) == problem(error)


# --- choice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [
        ("1", None, "often"),
        (" 5 ", None, "never"),
        ("2)", None, "some"),
        ("#3", None, "occasionally"),
        ("٤", None, "hardly_ever"),
        ("often", None, "often"),
        ("OFTEN OR ALWAYS", None, "often"),
        ("often, or always!", None, "often"),
        ("  some of the time. ", None, "some"),
        ("hardly_ever", None, "hardly_ever"),
        ("Hardly-ever", None, "hardly_ever"),
        ("hardly ever", None, "hardly_ever"),
        ("Rarely.", None, "hardly_ever"),
        ("never!!", None, "never"),
        ("Byth", None, "never"),  # a label in any language
        ("yn aml neu bob amser", "cy", "often"),
        ("rhywfaint o’r amser", "cy", "some"),
        ("two", None, "some"),
        ("pump", "cy", "never"),
    ],
)
def test_choice_reads(text: str, language: str | None, value: str) -> None:
    reading = read_reply(LONELY, text, language)
    expected = next(c for c in LONELY.choices if c.value == value)
    assert reading == Reading(ok=True, value=value, score=expected.score, error=None)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", EMPTY),
        ("0", OUT_OF_RANGE),
        ("6", OUT_OF_RANGE),
        ("99999999999", OUT_OF_RANGE),
        ("six", OUT_OF_RANGE),
        ("1, 2", UNKNOWN_CHOICE),
        ("1.5", UNKNOWN_CHOICE),
        ("sometimes", UNKNOWN_CHOICE),
        ("lonely? never", UNKNOWN_CHOICE),
        ("oft", UNKNOWN_CHOICE),
        ("x" * 10_000, TOO_LONG),
    ],
)
def test_choice_unreadable(text: str, error: str) -> None:
    assert read_reply(LONELY, text) == problem(error)


def test_choice_named_like_another_position_is_read_by_position() -> None:
    # The SMS question lists "1) 0 days 2) 1 day ...": "1" is the first option.
    days = ask("choice", choices=(Choice("0", {"en": "0 days"}), Choice("1", {"en": "1 day"})))
    assert read_reply(days, "1").value == "0"
    assert read_reply(days, "1 day").value == "1"


def test_choice_matching_two_options_is_ambiguous() -> None:
    twins = ask("choice", choices=(Choice("a", {"en": "Same"}), Choice("b", {"en": "same!"})))
    assert read_reply(twins, "same") == problem(AMBIGUOUS)


def test_choice_without_score() -> None:
    step = ask("choice", choices=(Choice("red", {"en": "Red"}),))
    assert read_reply(step, "red") == Reading(True, "red", None, None)


# --- yes / no ---------------------------------------------------------------------------

YES, NO = Reading(True, True, 1.0, None), Reading(True, False, 0.0, None)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        *((t, None, YES) for t in ["yes", "Y", "yeah", "yep", "sure", "ok", "OK!", "okay"]),
        *((t, None, YES) for t in ["👍", "👍🏽", "👍️", "Yes please", "yes, I would", "fine"]),
        *((t, None, NO) for t in ["no", "N", "nope", "nah", "👎", "No thanks", "not really"]),
        ("no, I'm ok", None, NO),  # "ok" is loose agreement, not a contradiction
        ("yes, no problem", None, YES),
        ("ie", "cy", YES),
        ("Ydw", "cy", YES),
        ("oes", "cy", YES),
        ("na", "cy", NO),
        ("Nac ydw", "cy", NO),
        ("naddo", "cy", NO),
        ("dim diolch", "cy", NO),
        ("sí", "es", YES),
        ("si", "es", YES),
        ("no", "es", NO),
        ("oui", "fr", YES),
        ("non merci", "fr", NO),
        ("tak", "pl", YES),
        ("no tak", "pl", YES),
        ("nie", "pl", NO),
        ("sim", "pt", YES),
        ("não", "pt", NO),
        ("nao", "pt", NO),
        ("نعم", "ar", YES),
        ("لا", "ar", NO),
        ("ہاں", "ur", YES),
        ("جی نہیں", "ur", NO),
        ("nahi", "ur", NO),
        # Every supported language's words work for everyone.
        ("oui", None, YES),
        ("tak", "cy", YES),
        ("نعم", None, YES),
    ],
)
def test_yes_no_reads(text: str, language: str | None, expected: Reading) -> None:
    assert read_reply(YES_NO, text, language) == expected


@pytest.mark.parametrize(
    ("text", "language", "error"),
    [
        ("", None, EMPTY),
        ("maybe", None, NOT_YES_NO),
        ("7", None, NOT_YES_NO),
        ("yesterday", None, NOT_YES_NO),
        ("nothing", None, NOT_YES_NO),
        ("y not", None, NOT_YES_NO),  # a single letter counts only on its own
        ("no idea", None, NOT_YES_NO),
        ("not sure", None, NOT_YES_NO),
        ("no sé", "es", NOT_YES_NO),  # "don't know" that starts with "no"
        ("nie wiem", "pl", NOT_YES_NO),
        ("não sei", "pt", NOT_YES_NO),
        ("dim syniad", "cy", NOT_YES_NO),
        ("yes no", None, AMBIGUOUS),
        ("no, yes", None, AMBIGUOUS),
        ("ie... na", "cy", AMBIGUOUS),
        ("x" * 10_000, None, TOO_LONG),
    ],
)
def test_yes_no_unreadable(text: str, language: str | None, error: str) -> None:
    assert read_reply(YES_NO, text, language) == problem(error)


@pytest.mark.parametrize("language", languages.SUPPORTED_LANGUAGES)
def test_every_languages_yes_and_no_words_read(language: str) -> None:
    for word in languages.YES_WORDS[language] + languages.SOFT_YES_WORDS[language]:
        assert read_reply(YES_NO, word, language) == YES, word
    for word in languages.NO_WORDS[language]:
        assert read_reply(YES_NO, word, language) == NO, word
    for phrase in languages.UNSURE_WORDS[language]:
        assert read_reply(YES_NO, phrase, language).error == NOT_YES_NO, phrase


# --- text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("  The bins were late  ", "The bins were late"),
        ("Thanks!", "Thanks!"),
        ("🌍👍🏽", "🌍👍🏽"),
        ("👨‍👩‍👧", "👨‍👩‍👧"),  # ZWJ sequence kept whole
        ("مرحبا 🌍", "مرحبا 🌍"),
        ("سلام\u200f", "سلام\u200f"),  # right-to-left mark kept
        ("line one\r\nline two", "line one\nline two"),
        ("a\x00b\x07c", "abc"),
        ("tab\there", "tab here"),
        ("bad \ud800 surrogate", "bad  surrogate"),
        ("x" * 20, "x" * 20),
        ("SKIP me", "SKIP me"),
    ],
)
def test_text_reads(text: str, value: str) -> None:
    assert read_reply(STORY, text) == Reading(True, value, None, None)


@pytest.mark.parametrize(
    ("text", "error"),
    [("", EMPTY), ("  \n\t ", EMPTY), ("\x00", EMPTY), ("x" * 21, TOO_LONG)],
)
def test_text_unreadable(text: str, error: str) -> None:
    assert read_reply(STORY, text) == problem(error)


def test_text_without_max_length_takes_long_replies() -> None:
    assert read_reply(FREE_TEXT, "word " * 2_000).value == ("word " * 2_000).strip()


# --- buttons, steps that ask nothing, odd input -----------------------------------------


@pytest.mark.parametrize(
    ("step", "data", "expected"),
    [
        (LONELY, "hardly_ever", Reading(True, "hardly_ever", 1.0, None)),
        (LONELY, "never", Reading(True, "never", 0.0, None)),
        (LONELY, "2", Reading(True, "some", 3.0, None)),  # falls back to reading it as text
        (LONELY, "green", problem(UNKNOWN_CHOICE)),
        (YES_NO, "yes", YES),
        (YES_NO, "no", NO),
        (YES_NO, "maybe", problem(NOT_YES_NO)),
        (SCALE, "7", Reading(True, 7, 7.0, None)),
        (SCALE, "green", problem(NOT_A_NUMBER)),
    ],
)
def test_read_button(step: Step, data: str, expected: Reading) -> None:
    assert read_button(step, data) == expected


def test_a_say_step_has_no_answer() -> None:
    say = Step(id="hello", kind="say", text={"en": "Hello"})
    assert read_reply(say, "7") == problem(NOT_A_QUESTION)
    assert read_button(say, "yes") == problem(NOT_A_QUESTION)


def test_not_a_string_is_not_an_answer() -> None:
    assert read_reply(SCALE, None) == problem(EMPTY)  # type: ignore[arg-type]
    assert read_button(LONELY, None) == problem(EMPTY)  # type: ignore[arg-type]


@pytest.mark.parametrize("step", ALL_STEPS)
def test_huge_replies_are_cheap(step: Step) -> None:
    started = time.perf_counter()
    for text in ("7 " * 5_000, "seven " * 2_000, "👍" * 10_000, "\x00" * 10_000):
        assert not read_reply(step, text).ok or step.type == "text"
    assert time.perf_counter() - started < 1.0


# --- default texts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "error", "text"),
    [
        (SCALE, NOT_A_NUMBER, "Please reply with a whole number from 0 to 10."),
        (ask("scale", min=1.0, max=5.0), None, "Please reply with a whole number from 1 to 5."),
        (NUMBER, None, "Please reply with a number."),
        (HOURS, OUT_OF_RANGE, "Please reply with a number from 0 to 24."),
        (ask("number", min=0.5), None, "Please reply with a number of at least 0.5."),
        (ask("number", max=7), None, "Please reply with a number no more than 7."),
        (LONELY, UNKNOWN_CHOICE, "Please reply with a number from 1 to 5."),
        (YES_NO, NOT_YES_NO, "Please reply YES or NO."),
        (STORY, TOO_LONG, "Please keep your reply under 20 characters."),
        (STORY, EMPTY, "Please reply with a few words."),
    ],
)
def test_default_invalid_text(step: Step, error: str | None, text: str) -> None:
    assert default_invalid_text(step, None, error) == text


def test_default_invalid_text_in_welsh() -> None:
    assert default_invalid_text(SCALE, "cy") == (
        "Atebwch â rhif cyfan o 0 i 10, os gwelwch yn dda."
    )
    assert default_invalid_text(YES_NO, "cy") == "Atebwch IE neu NA, os gwelwch yn dda."


@pytest.mark.parametrize(
    ("key", "language", "values", "text"),
    [
        ("opted_out", None, {}, "You won't get any more messages. Reply START to join again."),
        (
            "help",
            "en",
            {},
            "Reply to the question to answer. SKIP passes over optional questions, "
            "STOP stops all messages.",
        ),
        ("cannot_skip", "xx", {}, "This question can't be skipped, please answer."),
        ("invalid_choice", "cy-GB", {"n": 3}, "Atebwch â rhif o 1 i 3, os gwelwch yn dda."),
        (
            "invalid_scale",
            "EN",
            {"min": 0.0, "max": 10.0},
            languages.system_text("invalid_scale", None, min=0, max=10),
        ),
        ("invalid_scale", None, {"min": 1}, "Please reply with a whole number from 1 to {max}."),
        ("reminder", "cy", {"question": "Sut wyt ti?"}, "Nodyn atgoffa: Sut wyt ti?"),
        ("reminder_prefix", "fr", {}, "Rappel : "),
        ("yes", "pl", {}, "Tak"),
    ],
)
def test_system_text(key: str, language: str | None, values: dict[str, object], text: str) -> None:
    assert languages.system_text(key, language, **values) == text


def test_system_text_unknown_key_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        languages.system_text("no_such_text", "en")


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(languages.SYSTEM_TEXTS))
def test_every_text_is_translated_with_the_same_placeholders(key: str) -> None:
    texts = languages.SYSTEM_TEXTS[key]
    assert set(texts) == set(languages.SUPPORTED_LANGUAGES)
    for language, template in texts.items():
        assert template.strip(), language
        assert _placeholders(template) == _placeholders(texts["en"]), language


@pytest.mark.parametrize("language", languages.SUPPORTED_LANGUAGES)
def test_every_language_has_number_words_zero_to_twenty(language: str) -> None:
    assert set(range(21)) <= set(languages.NUMBER_WORDS[language].values())


@pytest.mark.parametrize("language", languages.SUPPORTED_LANGUAGES)
def test_every_number_word_reads_as_its_number(language: str) -> None:
    for word, value in languages.NUMBER_WORDS[language].items():
        assert read_reply(NUMBER, word, language).value == value, word


def test_no_phrase_is_yes_in_one_language_and_no_in_another() -> None:
    def phrases(table: dict[str, tuple[str, ...]]) -> set[str]:
        return {languages_word for words in table.values() for languages_word in words}

    yes = phrases(languages.YES_WORDS) | phrases(languages.SOFT_YES_WORDS)
    assert not yes & phrases(languages.NO_WORDS)


# --- properties -------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)
LANGUAGE = st.sampled_from([None, "xx", "cy-GB", *languages.SUPPORTED_LANGUAGES])
NUMBERISH = st.lists(
    st.one_of(
        st.integers(-30, 130).map(str),
        st.sampled_from(["seven", "saith", "twenty", "one", "out of", "/", "or", ".", ",", "-"]),
        st.sampled_from([" ", "  ", "\x00", "٣", "½", "7.5", "2,5", "un", "dim ond", "de"]),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=300)
@given(st.sampled_from(ALL_STEPS), ANY_TEXT, LANGUAGE)
def test_read_reply_never_raises(step: Step, text: str, language: str | None) -> None:
    reading = read_reply(step, text, language)
    assert reading.error != INTERNAL_ERROR
    assert reading.ok == (reading.error is None)
    assert read_button(step, text).error != INTERNAL_ERROR


@settings(max_examples=300)
@given(
    st.integers(-20, 20),
    st.integers(0, 20),
    st.one_of(ANY_TEXT, NUMBERISH),
    LANGUAGE,
)
def test_an_ok_scale_reading_is_within_bounds(
    low: int, width: int, text: str, language: str | None
) -> None:
    step = ask("scale", min=low, max=low + width)
    reading = read_reply(step, text, language)
    assert reading.error != INTERNAL_ERROR
    if reading.ok:
        assert isinstance(reading.value, int)
        assert low <= reading.value <= low + width
        assert reading.score == float(reading.value)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_a_scale_reads_every_whole_number_in_range(n: int, low: int) -> None:
    step = ask("scale", min=low, max=low + 50)
    reading = read_reply(step, str(n))
    if low <= n <= low + 50:
        assert reading == Reading(True, n, float(n), None)
    else:
        assert reading == problem(OUT_OF_RANGE)


@given(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False))
def test_a_number_reads_decimals(number: object) -> None:
    assert read_reply(NUMBER, f" {number} ").value == float(str(number))
