"""`chunks` slices lookups into IN lists the databases accept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storage.bulk import chunks


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=50))
def test_chunks_keep_every_item_once_in_order_and_within_size(items: list[int], size: int) -> None:
    parts = list(chunks(items, size))
    assert [x for part in parts for x in part] == items
    assert all(1 <= len(part) <= size for part in parts)
    assert len(parts) == -(-len(items) // size)
