"""Looking up participants and groups."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.bulk import chunks
from storage.database import dialect_insert
from storage.models import ChannelAddress, Group, Participant
from storage.pseudonyms import new_pseudonym

__all__ = ["find_by_address", "fresh_pseudonyms", "get_or_create_group", "new_pseudonym"]

#: Pseudonyms looked up per query (the size of IN lists).
_BATCH = 500


def find_by_address(session: Session, channel: str, address: str) -> Participant | None:
    """The participant reachable at (`channel`, `address`), or None for an unknown sender."""
    return session.scalars(
        select(Participant)
        .join(ChannelAddress, ChannelAddress.participant_id == Participant.id)
        .where(ChannelAddress.channel == channel, ChannelAddress.address == address)
    ).one_or_none()


def get_or_create_group(session: Session, name: str) -> Group:
    """The group called `name`, created if missing.

    Uses INSERT .. ON CONFLICT DO NOTHING, so two processes creating the same group at once
    both end up with the one row instead of one of them failing on the unique name.
    """
    insert = dialect_insert(session)
    session.execute(
        insert(Group).values(name=name).on_conflict_do_nothing(index_elements=[Group.name])
    )
    return session.scalars(select(Group).where(Group.name == name)).one()


def fresh_pseudonyms(session: Session, count: int) -> list[str]:
    """`count` distinct pseudonyms that no participant has yet."""
    chosen: set[str] = set()
    while len(chosen) < count:
        batch = sorted({new_pseudonym() for _ in range(count - len(chosen))} - chosen)
        taken: set[str] = set()
        for chunk in chunks(batch, _BATCH):
            taken.update(
                session.scalars(
                    select(Participant.pseudonym).where(Participant.pseudonym.in_(chunk))
                )
            )
        chosen.update(set(batch) - taken)
    return sorted(chosen)
