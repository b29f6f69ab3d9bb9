"""Reading survey exports (CSV/TSV, Excel, JSONL, Parquet) row by row, and writing outputs atomically.

Readers stream: they yield one ``Row`` at a time and never hold the file in memory. A row that cannot be read
(broken JSON, bytes that are not UTF-8, a ragged CSV line) is yielded with ``problem`` set, so callers can report
it in place and go on; only problems that make the whole file unreadable raise ``InputError``. No message ever
contains the text of a comment.

``core`` holds the errors and ``Row``; ``jsonl`` and ``tables`` the readers; ``writing`` atomic writes and
spreadsheet-safe cells. Import from here.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from feedbackml.io.core import (
    SUPPORTED_SUFFIXES,
    InputError,
    OutputError,
    Row,
    describe_columns,
    file_format,
    open_text,
    shown_name,
    sniff_encoding,
)
from feedbackml.io.jsonl import iter_jsonl
from feedbackml.io.tables import (
    csv_header,
    iter_csv,
    iter_parquet,
    iter_xlsx,
    open_parquet,
    open_sheet,
    sheets_with_column,
    xlsx_header,
)
from feedbackml.io.writing import atomic_path, current_umask, spreadsheet_safe, sweep_temporaries, write_jsonl


def iter_rows(
    path: str | os.PathLike[str],
    *,
    encoding: str = "utf-8",
    sheet: str | None = None,
    header_row: int = 1,
) -> Iterator[Row]:
    """Yield the rows of any supported file. Blank lines and blank rows carry nothing and are skipped.

    ``encoding`` applies to CSV/TSV (exports from Chinese Excel are often ``gb18030``); JSONL is always UTF-8.
    ``sheet`` and ``header_row`` apply to Excel, where titles or merged cells often sit above the real header.
    """
    kind = file_format(path)
    if not Path(path).is_file():
        raise InputError(path, "no such file")
    if kind == "jsonl":
        yield from iter_jsonl(path)
    elif kind in ("csv", "tsv"):
        yield from iter_csv(path, delimiter="\t" if kind == "tsv" else ",", encoding=encoding)
    elif kind == "xlsx":
        yield from iter_xlsx(path, sheet=sheet, header_row=header_row)
    else:
        yield from iter_parquet(path)


def read_header(
    path: str | os.PathLike[str], *, encoding: str = "utf-8", sheet: str | None = None, header_row: int = 1
) -> list[str] | None:
    """Column names of a flat file (CSV, Excel, Parquet) without reading its rows; None for JSONL."""
    kind = file_format(path)
    if not Path(path).is_file():
        raise InputError(path, "no such file")
    if kind == "jsonl":
        return None
    if kind == "parquet":
        return list(open_parquet(path).schema_arrow.names)
    if kind == "xlsx":
        with open_sheet(path, sheet) as worksheet:
            return xlsx_header(path, worksheet, header_row)[0]
    with open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter="\t" if kind == "tsv" else ",")
        return csv_header(path, reader, encoding)


__all__ = [
    "SUPPORTED_SUFFIXES",
    "InputError",
    "OutputError",
    "Row",
    "atomic_path",
    "current_umask",
    "describe_columns",
    "file_format",
    "iter_rows",
    "open_parquet",
    "read_header",
    "sheets_with_column",
    "shown_name",
    "sniff_encoding",
    "spreadsheet_safe",
    "sweep_temporaries",
    "write_jsonl",
]
