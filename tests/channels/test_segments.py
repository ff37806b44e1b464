"""SMS length: GSM-7 places, UCS-2 fallback, segments, and fitting sentences into a few."""

from __future__ import annotations

from bot.channels.segments import fit_segments, gsm7_length, sms_segments


def test_segment_counting() -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("a" * 459) == 3
    assert sms_segments("🌍" * 35) == 1
    assert sms_segments("🌍" * 36) == 2
    assert gsm7_length("{}") == 4
    assert gsm7_length("naïve 🌍") is None


def test_fitting_keeps_whole_sentences_in_order_and_skips_one_too_long() -> None:
    short, long = "A short one.", "x" * 400 + "."
    assert fit_segments([short, long, "Last."], 1) == "A short one. Last."
    assert sms_segments(fit_segments([short, long, "Last."], 3)) <= 3
