"""Participants from the web: a CSV upload, or one person typed into a form, both stored
by the same all-or-nothing roster import as `groundswell participants import`.

Why one person goes through a one-row CSV: every rule (E.164 phones, known time zones,
language codes, addresses already taken, groups by name) then holds on the web exactly as
on the command line, with the same messages.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from werkzeug.utils import secure_filename

from bot.intake.roster import COLUMNS, ImportResult, import_participants
from bot.settings import Settings
from survey_flows.model import Flow

#: Largest CSV accepted from the browser (about 50,000 rows).
MAX_UPLOAD = 5 * 1024 * 1024


def import_bytes(
    sessions: sessionmaker[Session],
    data: bytes,
    filename: str,
    flow: Flow,
    settings: Settings,
    now: datetime,
    actor: str,
) -> ImportResult:
    """Import an uploaded CSV file; RosterError lists every problem by line, storing nothing."""
    name = secure_filename(filename) or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="groundswell-import-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return import_participants(sessions, path, flow, settings, now, actor=f"{actor} (web)")


def import_one(
    sessions: sessionmaker[Session],
    values: Mapping[str, str],
    flow: Flow,
    settings: Settings,
    now: datetime,
    actor: str,
) -> ImportResult:
    """Import one person from form values (the roster's columns); RosterError if any is bad."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerow([values.get(column, "").strip() for column in COLUMNS])
    return import_bytes(
        sessions, buffer.getvalue().encode("utf-8"), "form.csv", flow, settings, now, actor
    )
