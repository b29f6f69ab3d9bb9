"""CSV/TSV, Excel and Parquet: flat files with a header row. Rows stream one at a time; a row that cannot be read
is a ``Row`` with ``problem`` set, and only a file that cannot be read at all raises ``InputError``."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
import os
from collections.abc import Iterator
from typing import Any

from feedbackml.io.core import MAX_LISTED_HEADER, InputError, Row, open_text

_HEADER_PEEK_ROWS = 50


# --- CSV / TSV -----------------------------------------------------------------------------------------


def _has_undecodable(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


def _encoding_hint(encoding: str) -> str:
    if encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
        return "; exports from Chinese Excel are often GB18030: try --encoding gb18030"
    return ""


def csv_header(path: str | os.PathLike[str], reader: Any, encoding: str) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(path, "is empty (expected a header row)") from None
    except csv.Error as error:
        raise InputError(path, f"is not readable as CSV: {error}", line=1) from None
    header = [name.strip() for name in header]
    if any(_has_undecodable(name) for name in header):
        raise InputError(
            path, f"header is not valid {encoding} (expected {encoding} text{_encoding_hint(encoding)})", line=1
        )
    _check_header_names(path, header, line=1)
    return header


def _check_header_names(path: str | os.PathLike[str], header: list[str], line: int) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise InputError(
                path,
                f"header cell {position} is empty (expected a name for every column; merged or blank header "
                "cells, or a title above the header: use --header-row)",
                line=line,
            )
        if name in seen:
            shown = f"'{name}'" if len(name) <= MAX_LISTED_HEADER else f"in cell {position}"
            raise InputError(path, f"column name {shown} appears twice (expected unique names)", line=line)
        seen.add(name)


def iter_csv(path: str | os.PathLike[str], *, delimiter: str, encoding: str) -> Iterator[Row]:
    name = str(path)
    with open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = csv_header(path, reader, encoding)
        last_line = reader.line_num
        while True:
            start_line = last_line + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                last_line = reader.line_num
                yield Row(name, start_line, None, f"is not readable as CSV: {error}")
                continue
            last_line = reader.line_num
            if not any(field.strip() for field in fields):
                continue
            if any(_has_undecodable(field) for field in fields):
                yield Row(
                    name,
                    start_line,
                    None,
                    f"is not valid {encoding} (expected {encoding} text{_encoding_hint(encoding)})",
                )
                continue
            if len(fields) != len(header):
                yield Row(
                    name,
                    start_line,
                    None,
                    f"has {len(fields)} fields (expected {len(header)}, as in the header; an unquoted "
                    f"'{delimiter}' or line break inside a comment?)",
                )
                continue
            yield Row(name, start_line, dict(zip(header, fields, strict=True)))


# --- Excel ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def open_sheet(path: str | os.PathLike[str], sheet: str | None) -> Iterator[Any]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged or mislabelled files
        raise InputError(path, f"is not a readable .xlsx workbook ({type(error).__name__})") from None
    try:
        if sheet is None:
            yield workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            yield workbook[sheet]
        else:
            raise InputError(path, f"has no sheet '{sheet}' (expected one of: {', '.join(workbook.sheetnames)})")
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    """Flat files carry text: render Excel numbers and dates the way the sheet shows them."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()  # a date cell: openpyxl hands it over as midnight
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def xlsx_header(
    path: str | os.PathLike[str], worksheet: Any, header_row: int
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    if header_row < 1:
        raise InputError(path, f"header row must be 1 or more (got {header_row})")
    rows = worksheet.iter_rows(min_row=header_row, values_only=True)
    first = next(rows, None)
    if first is None:
        raise InputError(path, f"sheet '{worksheet.title}' has no row {header_row} (expected a header row)")
    header = [_cell_text(value).strip() for value in first]
    while header and not header[-1]:
        header.pop()  # formatted but unused columns at the right edge
    if not header:
        raise InputError(path, f"sheet '{worksheet.title}' row {header_row} is empty (expected a header row)")
    # A title merged over the header row leaves one name for many columns: look at the rows below to tell.
    peeked = list(itertools.islice(rows, _HEADER_PEEK_ROWS))
    used_width = max((_used_width(values) for values in peeked), default=0)
    if used_width > len(header):
        raise InputError(
            path,
            f"header names {len(header)} column(s) but the rows below use {used_width} (expected a name for every "
            "column; merged or blank header cells, or a title above the header: use --header-row)",
            line=header_row,
        )
    _check_header_names(path, header, line=header_row)
    return header, itertools.chain(peeked, rows)


def _used_width(values: tuple[Any, ...]) -> int:
    cells = [_cell_text(value).strip() for value in values]
    while cells and not cells[-1]:
        cells.pop()
    return len(cells)


def iter_xlsx(path: str | os.PathLike[str], *, sheet: str | None, header_row: int) -> Iterator[Row]:
    name = str(path)
    with open_sheet(path, sheet) as worksheet:
        header, rows = xlsx_header(path, worksheet, header_row)
        width = len(header)
        for row_number, values in enumerate(rows, start=header_row + 1):
            cells = [_cell_text(value) for value in values]
            if not any(cell.strip() for cell in cells):
                continue
            if any(cell.strip() for cell in cells[width:]):
                yield Row(name, row_number, None, f"has values beyond column {width} (expected a header for each)")
                continue
            cells += [""] * (width - len(cells))
            yield Row(name, row_number, dict(zip(header, cells[:width], strict=True)))


# --- Parquet -------------------------------------------------------------------------------------------


def open_parquet(path: str | os.PathLike[str]) -> Any:
    """A Parquet file opened for its schema and metadata (rows are read by ``iter_rows``)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ... for non-Parquet files
        raise InputError(path, f"is not a readable Parquet file ({type(error).__name__})") from None


def iter_parquet(path: str | os.PathLike[str], batch_rows: int = 8192) -> Iterator[Row]:
    name = str(path)
    row_number = 0
    for batch in open_parquet(path).iter_batches(batch_size=batch_rows):
        for record in batch.to_pylist():
            row_number += 1
            yield Row(name, row_number, record)


def sheets_with_column(path: str | os.PathLike[str], column: str, header_row: int = 1) -> list[str]:
    """The sheets of a workbook whose header row holds ``column``: when the first sheet is a notes page, the
    message can say which ``--sheet`` to pass. Reads only header rows."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return []
    try:
        found = []
        for worksheet in workbook.worksheets:
            row = next(worksheet.iter_rows(min_row=header_row, max_row=header_row, values_only=True), ())
            if column in [_cell_text(value).strip() for value in row]:
                found.append(worksheet.title)
        return found
    finally:
        workbook.close()
