"""Files that hold personal data (the SQLite database, exports, reports) are readable by
their owner only: created with mode 0600, and tightened to 0600 if they already exist."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TextIO

PRIVATE = 0o600


def open_private(path: str | os.PathLike[str]) -> TextIO:
    """Open `path` for writing text (truncating it), readable and writable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(descriptor, PRIVATE)  # O_CREAT's mode applies only to a new file
    except OSError:
        os.close(descriptor)
        raise
    return open(descriptor, "w", encoding="utf-8", newline="")


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` with mode 0600."""
    with open_private(path) as handle:
        handle.write(text)


def make_private_database(path: Path) -> None:
    """Create the SQLite database file with mode 0600 before SQLite opens it (SQLite gives
    its -wal and -shm files the database file's mode), or tighten an existing one (and its
    -wal and -shm) that this user owns and others could read."""
    if not path.parent.is_dir():
        return  # SQLite will say it cannot open the file
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = each.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            each.chmod(PRIVATE)
