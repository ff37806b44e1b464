"""`chunks` slices lookups into IN lists the databases accept; `among` looks values up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.bulk import among, chunks
from storage.database import transaction
from storage.models import Group


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=50))
def test_chunks_keep_every_item_once_in_order_and_within_size(items: list[int], size: int) -> None:
    parts = list(chunks(items, size))
    assert [x for part in parts for x in part] == items
    assert all(1 <= len(part) <= size for part in parts)
    assert len(parts) == -(-len(items) // size)


def test_among_finds_exactly_the_values_listed(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add_all(Group(name=f"G{n}") for n in range(30))
    with transaction(sessions) as session:
        ids = sorted(session.scalars(select(Group.id)))
        wanted = ids[::3]
        found = session.scalars(select(Group.id).where(among(session, Group.id, wanted)))
        assert sorted(found) == wanted
        assert list(session.scalars(select(Group.id).where(among(session, Group.id, [])))) == []
