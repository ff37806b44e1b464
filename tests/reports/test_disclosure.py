"""reports.disclosure's suppression rule: small groups stay hidden, also from subtraction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.disclosure import suppress


def test_nothing_small_nothing_hidden() -> None:
    out = suppress({"a": 10, "b": 5, "c": 30}, 45)
    assert out.suppressed_groups == set()
    assert not out.total_suppressed


def test_one_small_group_hides_the_next_smallest() -> None:
    # Without hiding b, a = 33 - 10 - 20 = 3 would be obvious.
    out = suppress({"a": 3, "b": 10, "c": 20}, 33)
    assert out.suppressed_groups == {"a", "b"}
    assert not out.total_suppressed
    assert out.is_suppressed("b") and not out.is_suppressed("c")


def test_two_small_groups_whose_sum_is_large_enough() -> None:
    # a + b = 7 can be worked out, but 7 people is at or over the threshold.
    out = suppress({"a": 3, "b": 4, "c": 20}, 27)
    assert out.suppressed_groups == {"a", "b"}


def test_two_small_groups_whose_sum_is_still_small() -> None:
    # a + b = 3 would be recoverable: hide c as well (the next smallest).
    out = suppress({"a": 1, "b": 2, "c": 20, "d": 30}, 53)
    assert out.suppressed_groups == {"a", "b", "c"}
    assert not out.total_suppressed


def test_ties_broken_by_name() -> None:
    out = suppress({"z": 2, "b": 9, "a": 9}, 20)
    assert out.suppressed_groups == {"z", "a"}


def test_only_group_small_hides_the_total() -> None:
    out = suppress({"a": 3}, 3)
    assert out.suppressed_groups == {"a"}
    assert out.total_suppressed


def test_only_group_small_hides_a_larger_total_too() -> None:
    # Seven people are in no group; the lone hidden group still pins a down too closely.
    out = suppress({"a": 3}, 10)
    assert out.total_suppressed


def test_small_total_hidden() -> None:
    out = suppress({"a": 2, "b": 2}, 4)
    assert out.suppressed_groups == {"a", "b"}
    assert out.total_suppressed


def test_people_in_no_group_count_as_a_hidden_cell() -> None:
    # 22 - 10 - 10 = 2 people in no group would be recoverable, so a is hidden; a lone hidden
    # group is never left on its own, so b goes too (the rule errs on the safe side).
    out = suppress({"a": 10, "b": 10}, 22)
    assert out.suppressed_groups == {"a", "b"}
    assert not out.total_suppressed


def test_empty_group_alone_needs_no_secondary_suppression() -> None:
    # Working out that a group has nobody in it discloses nothing about anyone.
    out = suppress({"a": 0, "b": 10, "c": 12}, 22)
    assert out.suppressed_groups == {"a"}


def test_no_groups() -> None:
    assert suppress({}, 12).total_suppressed is False
    assert suppress({}, 2).total_suppressed is True


def test_custom_threshold() -> None:
    out = suppress({"a": 8, "b": 12, "c": 40}, 60, threshold=10)
    assert out.suppressed_groups == {"a", "b"}


@pytest.mark.parametrize(
    ("counts", "total", "threshold"),
    [({"a": 5}, 4, 5), ({"a": -1}, 3, 5), ({"a": 1.5}, 3, 5), ({"a": 1}, 3, 0)],
)
def test_bad_input_rejected(counts: dict[str, float], total: int, threshold: int) -> None:
    with pytest.raises(ValueError):
        suppress(counts, total, threshold=threshold)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(
    counts=st.dictionaries(
        st.text("abcdefgh", min_size=1, max_size=2), st.integers(0, 30), max_size=8
    ),
    unassigned=st.one_of(st.just(0), st.integers(0, 12)),
    threshold=st.integers(1, 10),
)
def test_no_suppressed_count_can_be_recovered(
    counts: dict[str, int], unassigned: int, threshold: int
) -> None:
    total = sum(counts.values()) + unassigned
    out = suppress(counts, total, threshold=threshold)
    hidden = out.suppressed_groups
    shown = set(counts) - hidden

    # Primary suppression.
    assert {g for g, n in counts.items() if n < threshold} <= hidden
    if total < threshold:
        assert out.total_suppressed
    # Only real groups are hidden.
    assert hidden <= set(counts)

    if not out.total_suppressed:
        # What a reader can recover by subtraction covers nobody or enough people.
        remainder = total - sum(counts[g] for g in shown)
        assert remainder == 0 or remainder >= threshold
        # A single hidden group would be exposed, unless it is known to be empty.
        if len(hidden) == 1:
            assert counts[next(iter(hidden))] == 0
    elif not hidden:
        # A hidden total must not be the plain sum of the shown groups.
        assert unassigned > 0 or not counts


@settings(max_examples=200, deadline=None)
@given(
    counts=st.dictionaries(st.text("abcdef", min_size=1, max_size=2), st.integers(0, 30)),
    threshold=st.integers(1, 10),
)
def test_groups_that_are_shown_stay_large(counts: dict[str, int], threshold: int) -> None:
    out = suppress(counts, sum(counts.values()), threshold=threshold)
    assert all(n >= threshold for g, n in counts.items() if g not in out.suppressed_groups)
