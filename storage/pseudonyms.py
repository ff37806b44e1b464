"""Pseudonyms: the only participant identifier staff normally see."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: pseudonyms get read aloud and copied by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX = "P-"
LENGTH = 6


def new_pseudonym() -> str:
    """A random pseudonym such as `P-7KQ2XM` (31**6, about 887 million, possibilities)."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
