"""Reading the CSV files staff import (a roster, answers from before): one set of checks.

Staff make these files in a spreadsheet, so every problem is a `FILE:LINE: message` that
says what is wrong and what to write instead. The roster import (`bot.intake.roster`) and the
answers import (`bot.intake.answers`) both read their files here; each passes its own
columns, header example and column-name hints, and raises its own error (a `CsvError`).
This module imports nothing from the project, so either can use it without a cycle.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CsvError",
    "CsvProblem",
    "csv_records",
    "header_problems",
    "layout_problems",
    "read_csv_text",
]


@dataclass(frozen=True)
class CsvProblem:
    """One thing wrong with an imported file, at the file's own 1-based line (header = 1)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CsvError(Exception):
    """The file cannot be imported; `problems` lists every reason, not just the first."""

    def __init__(self, problems: Sequence[CsvProblem]) -> None:
        """Keep every problem, and show them one per line as the exception's text."""
        self.problems: list[CsvProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def read_csv_text(path: Path, name: str, header_example: str) -> str:
    """The file as text, or a CsvError saying why it is not a UTF-8 CSV file."""

    def fail(message: str, line: int = 1) -> CsvError:
        return CsvError([CsvProblem(name, line, message)])

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail("there is no such file; check the file name and folder") from None
    except IsADirectoryError:
        raise fail("this is a folder, not a CSV file") from None
    except OSError as error:
        raise fail(f"the file cannot be read: {error.strerror or error}") from None
    save_as = 'in your spreadsheet choose Save As (or Download) > "CSV UTF-8" and import that file'
    if data.startswith(b"PK\x03\x04"):
        raise fail(f"this is a spreadsheet file (.xlsx or .ods), not a CSV file; {save_as}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise fail(f'this file is saved as UTF-16 ("Unicode text"), not CSV UTF-8; {save_as}')
    if b"\x00" in data:
        raise fail(
            "this looks like a binary file, not a CSV text file; check you chose the right file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise fail(
            'the file is not UTF-8 text (plain "CSV" from Excel uses another encoding); ' + save_as,
            line,
        ) from None
    if not text.strip():
        raise fail(f"the file is empty; the first line must be the header, e.g. {header_example}")
    return text


def _delimiter(text: str, columns: Sequence[str]) -> str:
    """Comma, or the semicolon/tab some spreadsheets write, judged by the header line."""
    first = text.splitlines()[0]

    def known(separator: str) -> int:
        return sum(cell.strip().strip('"').lower() in columns for cell in first.split(separator))

    return max((",", ";", "\t"), key=known)  # max keeps the first (the comma) on a tie


def csv_records(text: str, name: str, columns: Sequence[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, cells) for every CSV record, the header included.

    The line is where the record starts, counted from `line_num`, so a quoted value running
    over several lines shifts the numbers of the rows after it exactly as an editor shows them.
    A record that cannot be read raises CsvError at its line.
    """
    delimiter = _delimiter(text, columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    previous = 0
    while True:
        start = previous + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "end of data" in str(error) or "EOF" in str(error):
                message = (
                    'a double quote (") that starts a value on this line is never closed, so '
                    "the rest of the file would be one value; close the quote or remove it"
                )
            else:
                message = (
                    f"this line cannot be read as CSV ({error}); wrap a value that contains "
                    "commas, quotes or line breaks in double quotes, and write a quote inside "
                    'it twice ("")'
                )
            raise CsvError([CsvProblem(name, start, message)]) from None
        previous = reader.line_num
        yield start, cells


def _suggest(column: str, known: Sequence[str], hints: Mapping[str, str]) -> str:
    """A '(did you mean ...?)' for an unknown column: from `hints`, else the closest known one."""
    hint = hints.get(column) or next(iter(difflib.get_close_matches(column, known, 1)), None)
    return f" (did you mean '{hint}'?)" if hint else ""


def header_problems(
    columns: Sequence[str], known: Sequence[str], hints: Mapping[str, str], example: str
) -> list[str]:
    """What is wrong with a header of any import: empty, unknown or repeated column names.

    `columns` are the header's cells already made column names ('' for blank cells); each
    import adds its own check of which columns it needs.
    """
    problems: list[str] = []
    if not any(columns):
        problems.append(f"the first line is empty; it must be the header, e.g. {example}")
    unknown = [column for column in columns if column and column not in known]
    if unknown:
        listed = ", ".join(f"'{column}'{_suggest(column, known, hints)}" for column in unknown)
        problems.append(
            f"unknown column(s) {listed} in the header; the columns are {', '.join(known)}: "
            "rename or delete the others (the first line must be the header)"
        )
    for column in known:
        if columns.count(column) > 1:
            positions = [str(i + 1) for i, c in enumerate(columns) if c == column]
            problems.append(
                f"column '{column}' appears more than once in the header "
                f"(columns {', '.join(positions)}); keep one"
            )
    return problems


def layout_problems(cells: list[str], columns: list[str], known: Sequence[str]) -> list[str]:
    """Values in no column: more cells than the header has, or under a blank header cell."""
    problems = []
    extra = [cell for cell in cells[len(columns) :] if cell.strip()]
    if extra:
        problems.append(
            f"this row has {len(cells)} values but the header names {len(columns)} columns; "
            "wrap a value that contains a comma in double quotes, or remove the extra values"
        )
    for position, (column, cell) in enumerate(zip(columns, cells, strict=False), start=1):
        if not column and cell.strip():
            problems.append(
                f"column {position} has a value but no name in the header; "
                f"name the column ({', '.join(known)}) or delete the value"
            )
    return problems
