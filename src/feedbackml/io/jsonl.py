"""JSONL, one object per line. Whatever a line holds, it becomes either a ``Row`` with its object or a ``Row`` with
a ``problem`` saying what was expected: a hostile line (a lone surrogate escape, arrays nested 100,000 deep, a
5,000-digit number) must not abort a run that has a million good lines, nor reach a writer that cannot encode it.
Problems name the line and what was wrong, never the line's text."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from feedbackml.io.core import MAX_LISTED_HEADER, Row, open_binary

# Survey exports are flat; a few levels of metadata are plenty, and anything deeper is refused before the
# recursive code downstream (JSON and Parquet writers) could hit Python's recursion limit.
MAX_DEPTH = 64


def iter_jsonl(path: str | os.PathLike[str]) -> Iterator[Row]:
    name = str(path)
    with open_binary(path) as handle:
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
            value, problem = _parse(line)
            if problem is None and not isinstance(value, dict):
                problem = f"holds a JSON {_json_type(value)} (expected a JSON object)"
            if problem is None:
                problem = _unwritable(value)
            if problem is not None:
                yield Row(name, line_number, None, problem)
                continue
            yield Row(name, line_number, value)


def _parse(line: str) -> tuple[Any, str | None]:
    """The line's value, or why it has none. Only the kind of failure is reported: messages of other errors could
    quote the line."""
    try:
        return json.loads(line), None
    except json.JSONDecodeError as error:
        return None, (
            f"is not valid JSON: {error.msg.removesuffix(' at')} at column {error.colno} "
            "(expected one JSON object per line)"
        )
    except RecursionError:
        return None, f"nests arrays or objects too deeply to read (expected at most {MAX_DEPTH} levels)"
    except ValueError:  # int() refuses very long digit strings (CVE-2020-10735)
        limit = sys.get_int_max_str_digits()
        return None, f"holds a number with more than {limit:,} digits (expected numbers of at most {limit:,} digits)"


def _unwritable(value: Any) -> str | None:
    """Why a parsed object cannot go to an output, or None: nesting past ``MAX_DEPTH``, or a lone surrogate escape
    (``"\\ud800"`` parses, but is no character and cannot be encoded as UTF-8). Iterative: nothing here recurses."""
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                where = f" in field '{field}'" if field is not None else " in a field name"
                return f"holds a lone surrogate escape (\\ud800-\\udfff){where} (expected valid Unicode text)"
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"nests arrays or objects more than {MAX_DEPTH} levels deep (expected at most {MAX_DEPTH})"
            if isinstance(item, list):
                stack.extend((child, depth + 1, field) for child in item)
                continue
            for key, child in item.items():
                if not _encodable(key):
                    return _unwritable(key)
                shown = field if field is not None else (key if len(key) <= MAX_LISTED_HEADER else "(long name)")
                stack.append((child, depth + 1, shown))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
