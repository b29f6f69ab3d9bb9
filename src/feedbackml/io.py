"""Reading survey exports (CSV/TSV, Excel, JSONL, Parquet) row by row, and writing outputs atomically.

Readers stream: they yield one ``Row`` at a time and never hold the file in memory. A row that cannot be read
(broken JSON, bytes that are not UTF-8, a ragged CSV line) is yielded with ``problem`` set, so callers can report
it in place and go on; only problems that make the whole file unreadable raise ``InputError``. No message ever
contains the text of a comment.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".xlsx", ".xlsm", ".parquet", ".pq")
_HEADER_PEEK_ROWS = 50
_MAX_LISTED_HEADER = 20  # longer "column names" are probably a data row: never echo them


class InputError(Exception):
    """An input file that cannot be read at all. ``str()`` is ``FILE[:LINE]: message``."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        location = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{location}: {message}")


@dataclass(frozen=True)
class Row:
    """One record of an input file. ``line`` is the physical line (JSONL, CSV), the sheet row (Excel) or the
    1-based row number (Parquet), i.e. what a person would look up in that file."""

    path: str
    line: int
    data: dict[str, Any] | None
    problem: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def file_format(path: str | os.PathLike[str]) -> str:
    """The reader a path's suffix selects; raises InputError naming the supported suffixes otherwise."""
    suffix = Path(path).suffix.lower()
    formats = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".xlsx": "xlsx",
        ".xlsm": "xlsx",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if suffix not in formats:
        raise InputError(
            path, f"unsupported file type '{suffix or '(none)'}' (expected one of {', '.join(SUPPORTED_SUFFIXES)})"
        )
    return formats[suffix]


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
        yield from _iter_jsonl(path)
    elif kind in ("csv", "tsv"):
        yield from _iter_csv(path, delimiter="\t" if kind == "tsv" else ",", encoding=encoding)
    elif kind == "xlsx":
        yield from _iter_xlsx(path, sheet=sheet, header_row=header_row)
    else:
        yield from _iter_parquet(path)


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
        with _open_sheet(path, sheet) as worksheet:
            return _xlsx_header(path, worksheet, header_row)[0]
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter="\t" if kind == "tsv" else ",")
        return _csv_header(path, reader, encoding)


def describe_columns(path: str | os.PathLike[str], header: list[str]) -> str:
    """A safe description of a header for error messages: names only if they look like names."""
    if header and all(len(name) <= _MAX_LISTED_HEADER for name in header):
        return "the file has: " + ", ".join(f"'{name}'" for name in header)
    return f"the file's first row has {len(header)} cells that do not look like column names"


# --- JSONL ---------------------------------------------------------------------------------------------


def _iter_jsonl(path: str | os.PathLike[str]) -> Iterator[Row]:
    name = str(path)
    with _open_binary(path) as handle:
        for line_number, raw in enumerate(handle, start=1):
            if line_number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield Row(name, line_number, None, f"is not valid UTF-8 at byte {error.start} (expected UTF-8 text)")
                continue
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield Row(
                    name,
                    line_number,
                    None,
                    f"is not valid JSON: {error.msg.removesuffix(' at')} at column {error.colno} "
                    "(expected one JSON object per line)",
                )
                continue
            if not isinstance(value, dict):
                yield Row(name, line_number, None, f"holds a JSON {_json_type(value)} (expected a JSON object)")
                continue
            yield Row(name, line_number, value)


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


# --- CSV / TSV -----------------------------------------------------------------------------------------


def _has_undecodable(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


def _encoding_hint(encoding: str) -> str:
    if encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
        return "; exports from Chinese Excel are often GB18030: try --encoding gb18030"
    return ""


def _csv_header(path: str | os.PathLike[str], reader: Any, encoding: str) -> list[str]:
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
            shown = f"'{name}'" if len(name) <= _MAX_LISTED_HEADER else f"in cell {position}"
            raise InputError(path, f"column name {shown} appears twice (expected unique names)", line=line)
        seen.add(name)


def _iter_csv(path: str | os.PathLike[str], *, delimiter: str, encoding: str) -> Iterator[Row]:
    name = str(path)
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = _csv_header(path, reader, encoding)
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
def _open_sheet(path: str | os.PathLike[str], sheet: str | None) -> Iterator[Any]:
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
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _xlsx_header(
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


def _iter_xlsx(path: str | os.PathLike[str], *, sheet: str | None, header_row: int) -> Iterator[Row]:
    name = str(path)
    with _open_sheet(path, sheet) as worksheet:
        header, rows = _xlsx_header(path, worksheet, header_row)
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


def _iter_parquet(path: str | os.PathLike[str], batch_rows: int = 8192) -> Iterator[Row]:
    name = str(path)
    row_number = 0
    for batch in open_parquet(path).iter_batches(batch_size=batch_rows):
        for record in batch.to_pylist():
            row_number += 1
            yield Row(name, row_number, record)


# --- opening and writing -------------------------------------------------------------------------------


def _open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    try:
        return Path(path).open("rb")
    except OSError as error:
        raise InputError(path, f"cannot be opened: {error.strerror}") from None


def _open_text(path: str | os.PathLike[str], encoding: str) -> TextIO:
    if encoding.lower().replace("-", "").replace("_", "") == "utf8":
        encoding = "utf-8-sig"  # tolerate the BOM Excel writes
    try:
        return Path(path).open(encoding=encoding, errors="surrogateescape", newline="")
    except LookupError:
        raise InputError(path, f"unknown encoding '{encoding}' (expected e.g. utf-8 or gb18030)") from None
    except OSError as error:
        raise InputError(path, f"cannot be opened: {error.strerror}") from None


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``destination``; it replaces ``destination`` only if the block succeeds,
    so readers never see a half-written file and a crash leaves the old file intact."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(descriptor)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        with temporary_path.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary_path.replace(destination)
    finally:
        temporary_path.unlink(missing_ok=True)


def write_jsonl(destination: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSONL atomically; returns the number written."""
    count = 0
    with atomic_path(destination) as temporary, temporary.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
