"""What every reader and writer shares: the errors, ``Row``, the format a suffix selects, and opening files with
errors that name the file and never its contents."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".xlsx", ".xlsm", ".parquet", ".pq")
MAX_LISTED_HEADER = 20  # longer "column names" are probably a data row: never echo them
_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class InputError(Exception):
    """An input file that cannot be read at all. ``str()`` is ``FILE[:LINE]: message``."""

    def __init__(self, path: str | os.PathLike[str], message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        location = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{location}: {message}")


class OutputError(InputError):
    """An output that cannot be written (read-only folder, disk full, a folder in the way, another run on it).
    A kind of ``InputError`` so every command reports both the same way: one line, exit 1."""


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
    if suffix not in _FORMATS:
        raise InputError(
            path, f"unsupported file type '{suffix or '(none)'}' (expected one of {', '.join(SUPPORTED_SUFFIXES)})"
        )
    return _FORMATS[suffix]


def shown_name(name: str) -> str:
    """A column name as a message shows it: characters that print as nothing or as a blank (CR, NBSP, zero-width
    space) escaped, so a header cell 'comment\\r' does not look like the 'comment' that was asked for."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in name)


def describe_columns(path: str | os.PathLike[str], header: list[str]) -> str:
    """A safe description of a header for error messages: names only if they look like names."""
    if header and all(len(name) <= MAX_LISTED_HEADER for name in header):
        return "the file has: " + ", ".join(f"'{shown_name(name)}'" for name in header)
    return f"the file's first row has {len(header)} cells that do not look like column names"


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    try:
        return Path(path).open("rb")
    except OSError as error:
        raise InputError(path, f"cannot be opened: {error.strerror}") from None


SNIFF_BYTES = 256 * 1024


def sniff_encoding(path: str | os.PathLike[str]) -> str:
    """``utf-8``, or ``gb18030`` when the start of the file is not UTF-8 (many undecodable bytes, not one stray
    byte) but decodes cleanly as GB18030 — what Chinese Excel writes for "CSV". Reads the first 256 KiB."""
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return "utf-8"  # the reader that follows reports the problem
    text = head.decode("utf-8", errors="replace")
    wide = sum(1 for char in text if ord(char) > 127)
    if not wide or text.count("\ufffd") <= max(2, wide // 20):
        return "utf-8"
    cut = len(head) if len(head) < SNIFF_BYTES else len(head) - 4  # a character may straddle the cut
    for end in range(len(head), cut - 1, -1):
        try:
            head[:end].decode("gb18030")
        except UnicodeDecodeError:
            continue
        return "gb18030"
    return "utf-8"


def open_text(path: str | os.PathLike[str], encoding: str) -> TextIO:
    if encoding == "auto":
        encoding = sniff_encoding(path)
    if encoding.lower().replace("-", "").replace("_", "") == "utf8":
        encoding = "utf-8-sig"  # tolerate the BOM Excel writes
    try:
        return Path(path).open(encoding=encoding, errors="surrogateescape", newline="")
    except LookupError:
        raise InputError(path, f"unknown encoding '{encoding}' (expected e.g. utf-8 or gb18030)") from None
    except OSError as error:
        raise InputError(path, f"cannot be opened: {error.strerror}") from None
