"""The labelled-record schema and its parser, shared by validate, split, agreement and (later) training."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from feedbackml.io import InputError, Row, describe_columns, iter_rows, read_header, shown_name
from feedbackml.labels import (
    BARRIER_OF_CAUSE,
    BARRIERS,
    CAUSES,
    SENTIMENTS,
    canonical_barriers,
    canonical_causes,
    label_code,
)

Severity = Literal["error", "warning"]
FLAT_LABEL_SEPARATOR = "|"


@dataclass(frozen=True)
class Problem:
    """One finding about an input, printed as ``FILE:LINE: severity: message (expected …)``."""

    path: str
    line: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        location = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{location}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Columns:
    """Which input column holds which field (``--text-col 评论内容`` and friends)."""

    id: str = "id"
    text: str = "text"
    barriers: str = "barriers"
    sentiment: str = "sentiment"
    source: str = "source"
    department: str = "department"
    causes: str = "causes"
    about: str = "about"

    def known(self) -> set[str]:
        return {
            self.id,
            self.text,
            self.barriers,
            self.sentiment,
            self.source,
            self.department,
            self.causes,
            self.about,
        }


@dataclass(frozen=True)
class LabelledRecord:
    """A comment with its gold labels; ``path``/``line`` say where it was read and take no part in equality."""

    id: str
    text: str
    barriers: tuple[str, ...]
    sentiment: str
    source: str | None = None
    department: str | None = None
    causes: tuple[str, ...] | None = None  # None: not labelled with causes (labels.md §3); () with no barrier
    about: tuple[str, ...] = ()  # the other departments the text names (§4)
    slice: str | None = None  # the corpus slice it was written for (data/README.md)
    pair: str | None = None  # contrastive slice: the id of the record that differs by one label
    path: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        """The corpus JSONL form, keys in schema order, optional keys only when set."""
        record: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "barriers": list(self.barriers),
            "sentiment": self.sentiment,
        }
        if self.source is not None:
            record["source"] = self.source
        if self.department is not None:
            record["department"] = self.department
        if self.causes is not None:
            record["causes"] = list(self.causes)
        if self.about:
            record["about"] = list(self.about)
        if self.slice is not None:
            record["slice"] = self.slice
        if self.pair is not None:
            record["pair"] = self.pair
        return record


def _optional_string(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else None


def parse_barriers(value: Any, column: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Barriers from a JSON list or a flat ``subjective|objective`` cell; returns (labels, error)."""
    if value is None:
        return None, f"field '{column}' is missing (expected a list of zero or more of: {', '.join(BARRIERS)})"
    labels, error = _label_list(value, column, BARRIERS)
    return (None, error) if error else (tuple(canonical_barriers(labels)), None)


def parse_causes(value: Any, barriers: tuple[str, ...], column: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Causes (labels.md §3) from a list or a flat ``a|b`` cell, checked against the record's barriers: each cause
    under a barrier the record carries, each barrier with at least one cause. None when the field is absent."""
    if value is None or value == "":
        return (None, None) if value is None or not barriers else ((), None)
    labels, error = _label_list(value, column, CAUSES)
    if error:
        return None, error
    for code in labels:
        if BARRIER_OF_CAUSE[code] not in barriers:
            return (
                None,
                f"field '{column}' has cause '{code}' of barrier '{BARRIER_OF_CAUSE[code]}', which the record lacks",
            )
    for barrier in barriers:
        if not any(BARRIER_OF_CAUSE[code] == barrier for code in labels):
            return None, f"field '{column}' has no cause for barrier '{barrier}' (expected at least one, labels.md §3)"
    return tuple(canonical_causes(labels)), None


def _label_list(value: Any, column: str, allowed: tuple[str, ...]) -> tuple[list[str], str | None]:
    if isinstance(value, str):
        labels = [label_code(part) for part in value.split(FLAT_LABEL_SEPARATOR) if part.strip()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        labels = [label_code(item) for item in value]
    else:
        return [], (
            f"field '{column}' holds a {type(value).__name__} (expected a list of labels, or "
            f"'{FLAT_LABEL_SEPARATOR}'-separated labels in a flat file)"
        )
    for label in labels:
        if label not in allowed:
            return [], (
                f"field '{column}' has unknown label '{label[:40]}' (expected any of: {', '.join(allowed)}, or their "
                "Chinese names)"
            )
    if len(set(labels)) != len(labels):
        return [], f"field '{column}' lists a label twice (expected each label at most once)"
    return labels, None


def parse_record(row: Row, columns: Columns) -> tuple[LabelledRecord | None, list[Problem]]:
    """Check one row against the schema. Every message names the field and what was expected, never the text."""
    if row.data is None:
        return None, [Problem(row.path, row.line, "error", row.problem or "is unreadable")]
    data, problems = row.data, []

    def error(message: str) -> None:
        problems.append(Problem(row.path, row.line, "error", message))

    record_id = data.get(columns.id)
    if isinstance(record_id, int) and not isinstance(record_id, bool):
        record_id = str(record_id)
    if record_id is None:
        error(f"field '{columns.id}' is missing (expected a unique string id)")
    elif not isinstance(record_id, str):
        error(f"field '{columns.id}' holds a {type(record_id).__name__} (expected a string)")
    elif not record_id.strip():
        error(f"field '{columns.id}' is empty (expected a unique string id)")

    text = data.get(columns.text)
    if text is None:
        error(f"field '{columns.text}' is missing (expected the comment text)")
    elif not isinstance(text, str):
        error(f"field '{columns.text}' holds a {type(text).__name__} (expected a string)")
    elif not text.strip():
        error(f"field '{columns.text}' is empty or whitespace only (expected the comment text)")

    barriers, barrier_error = parse_barriers(data.get(columns.barriers), columns.barriers)
    if barrier_error:
        error(barrier_error)

    sentiment = data.get(columns.sentiment)
    if isinstance(sentiment, str):
        sentiment = label_code(sentiment)  # 负面 / 中性 / 正面 too
    if sentiment is None:
        error(f"field '{columns.sentiment}' is missing (expected one of: {', '.join(SENTIMENTS)})")
    elif not isinstance(sentiment, str) or sentiment.strip() not in SENTIMENTS:
        shown = f"'{sentiment[:40]}'" if isinstance(sentiment, str) else f"a {type(sentiment).__name__}"
        error(f"field '{columns.sentiment}' is {shown} (expected one of: {', '.join(SENTIMENTS)})")

    causes: tuple[str, ...] | None = None
    if barriers is not None:
        causes, cause_error = parse_causes(data.get(columns.causes), barriers, columns.causes)
        if cause_error:
            error(cause_error)
    about = data.get(columns.about)
    if about is not None and not (isinstance(about, list) and all(isinstance(item, str) for item in about)):
        error(f"field '{columns.about}' holds a {type(about).__name__} (expected a list of department names)")
    for optional in (columns.source, columns.department, "slice", "pair"):
        value = data.get(optional)
        if value is not None and not isinstance(value, str):
            error(f"field '{optional}' holds a {type(value).__name__} (expected a string or nothing)")

    if problems:
        return None, problems
    record = LabelledRecord(
        id=cast(str, record_id).strip(),
        text=cast(str, text),
        barriers=cast(tuple[str, ...], barriers),
        sentiment=cast(str, sentiment).strip(),
        source=_optional_string(data.get(columns.source)),
        department=_optional_string(data.get(columns.department)),
        causes=causes,
        about=tuple(item.strip() for item in about or () if item.strip()),
        slice=_optional_string(data.get("slice")),
        pair=_optional_string(data.get("pair")),
        path=row.path,
        line=row.line,
    )
    return record, []


def check_columns(path: str | os.PathLike[str], columns: Columns, **read_options: Any) -> None:
    """Fail early, naming the file, when a flat file lacks a required column."""
    header = read_header(path, **read_options)
    if header is None:
        return
    for role, name in (
        ("text", columns.text),
        ("id", columns.id),
        ("barriers", columns.barriers),
        ("sentiment", columns.sentiment),
    ):
        if name not in header:
            raise InputError(
                path,
                f"missing column '{shown_name(name)}' (expected it to hold the {role}; use --{role}-col to name "
                f"another column; {describe_columns(path, header)})",
            )


def read_labelled(
    paths: Iterable[str | os.PathLike[str]], columns: Columns | None = None, **read_options: Any
) -> Iterator[tuple[LabelledRecord | None, list[Problem]]]:
    """Parse every row of every file; yields (record or None, problems) so callers decide how strict to be."""
    columns = columns or Columns()
    for path in paths:
        check_columns(path, columns, **read_options)
        for row in iter_rows(path, **read_options):
            yield parse_record(row, columns)


def load_labelled(
    paths: Iterable[str | os.PathLike[str]], columns: Columns | None = None, **read_options: Any
) -> list[LabelledRecord]:
    """All records of clean files; raises InputError on the first problem (use validate for the full list)."""
    records = []
    for record, problems in read_labelled(paths, columns, **read_options):
        if problems:
            first = problems[0]
            raise InputError(
                first.path, first.message + " (run 'feedbackml data validate' for all problems)", line=first.line
            )
        records.append(cast(LabelledRecord, record))
    return records
