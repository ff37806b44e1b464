"""SMS rendering and the splitting of over-long texts shared by both channels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.rendering import plain_text, render_plain, split_text, utf16_len
from survey_flows.engine_values import Option, Outgoing

OPTIONS = (Option("a", "Often"), Option("b", "Rarely"))


def test_plain_text_and_render_plain_agree() -> None:
    numbered = Outgoing("How often?", "question", options=OPTIONS, numbered=True)
    assert plain_text(numbered) == render_plain("How often?", OPTIONS, True)
    assert plain_text(numbered) == "How often?\n1) Often 2) Rarely"
    assert render_plain("How often?", OPTIONS, False) == "How often?"


def test_text_that_fits_is_unchanged() -> None:
    assert split_text("  hello \n", 10) == ["  hello \n"]
    assert split_text("", 10) == []
    assert split_text(" \n\t ", 2) == []


def test_cuts_prefer_line_breaks_then_words() -> None:
    assert split_text("aaaa bbbb\ncccc dddd", 14) == ["aaaa bbbb", "cccc dddd"]
    assert split_text("aaaa bbbb cccc", 10) == ["aaaa bbbb", "cccc"]
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert split_text("ab cdefgh", 5, first_limit=2) == ["ab", "cdefg", "h"]


def test_emoji_are_measured_in_utf16_units_and_never_halved() -> None:
    parts = split_text("🌱" * 5, 4)
    assert parts == ["🌱🌱", "🌱🌱", "🌱"]
    assert split_text("🌱", 1) == ["🌱"]  # a character longer than the limit still goes


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_text("abc", 0)


@given(
    st.text(alphabet=st.sampled_from("ab é🌱\n\t"), max_size=400),
    st.integers(min_value=2, max_value=60),
    st.integers(min_value=2, max_value=60),
)
def test_split_keeps_every_visible_character_within_the_limits(
    text: str, limit: int, first: int
) -> None:
    parts = split_text(text, limit, first_limit=first)
    assert all(part.strip() for part in parts)
    if parts:
        assert utf16_len(parts[0]) <= first
    assert all(utf16_len(part) <= limit for part in parts[1:])
    assert "".join("".join(parts).split()) == "".join(text.split())
