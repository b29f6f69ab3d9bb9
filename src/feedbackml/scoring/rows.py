"""Rows in, rows out: each input row checked and prepared (status, redaction), chunks of rows, and the output
record of a row with the predicted columns appended. Nothing here runs a model."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from feedbackml.about import Organisation, detect_about
from feedbackml.io import (
    InputError,
    Row,
    describe_columns,
    file_format,
    iter_rows,
    open_parquet,
    read_header,
    sheets_with_column,
    shown_name,
)
from feedbackml.labels import BARRIERS, SENTIMENTS
from feedbackml.model import Prediction
from feedbackml.scoring.options import ADDED_COLUMNS, ScoreOptions, ScoreSummary
from feedbackml.text import normalize, redact


@dataclass(frozen=True)
class Prepared:
    """One input row, checked: ``text`` is what the model scores (None when the row has a status already)."""

    row: Row
    text: str | None
    status: str
    output_text: Any = None  # the text column's value in the output (redacted on request)


def prepare(row: Row, options: ScoreOptions) -> Prepared:
    if row.problem is not None or row.data is None:
        return Prepared(row, None, f"error: row {row.line} {row.problem or 'could not be read'}")
    if options.text_col not in row.data:
        return Prepared(row, None, f"error: no '{options.text_col}' field (expected the comment text)")
    value = row.data[options.text_col]
    if value is None or (isinstance(value, str) and not normalize(value).strip()):
        return Prepared(row, None, "empty", value)
    if not isinstance(value, str):
        return Prepared(row, None, f"error: field '{options.text_col}' is not text (expected a string)", value)
    text = redact(value) if options.redact else value
    return Prepared(row, text, "ok", text)


def about_of(prepared: Prepared, options: ScoreOptions, org: Organisation | None) -> list[str]:
    """The other departments a scorable row names, its ``--group-col`` value being the writer's own. Detected on
    the text as read, before ``--redact``: a mask can hide a department (@采购部小王), and only department names
    leave this function, never the text."""
    if prepared.status != "ok" or prepared.row.data is None:
        return []
    data = prepared.row.data
    own = data.get(options.group_col) if options.group_col else None
    return detect_about(data[options.text_col], None if own is None else str(own), org)


def added_values(
    prepared: Prepared, prediction: Prediction | None, version: str, about: Sequence[str] = ()
) -> dict[str, Any]:
    """The appended columns of one row, typed (floats, bools); writers turn them into their format."""
    values: dict[str, Any] = dict.fromkeys(ADDED_COLUMNS)
    values.update(source_line=prepared.row.line, status=prepared.status, model_version=version)
    if prediction is None:
        values.update(barriers="", causes="", about="", sentiment="", evidence="[]")
        return values
    values["barriers"] = "|".join(prediction.barriers)
    values["causes"] = "|".join(prediction.causes)
    values["about"] = "|".join(about)
    for label in BARRIERS:
        values[f"p_{label}"] = prediction.barrier_probs[label]
    values["sentiment"] = prediction.sentiment
    for label in SENTIMENTS:
        values[f"p_{label}"] = prediction.sentiment_probs[label]
    for cause, probability in prediction.cause_probs.items():
        values[f"p_{cause}"] = probability
    values["needs_review"] = prediction.needs_review
    values["uncertainty"] = prediction.uncertainty
    values["evidence"] = json.dumps(prediction.evidence_json(), ensure_ascii=False)
    return values


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def input_columns(options: ScoreOptions) -> tuple[list[str], Any]:
    """The input's columns in order and, for Parquet, its schema. JSONL has no header: its columns are the union
    of every object's keys in first-seen order, found in a pass before any chunk is written, so a key that first
    appears on line 100,000 still gets its column in every chunk (memory: the keys, not the rows)."""
    header = read_header(options.input, encoding=options.encoding, sheet=options.sheet, header_row=options.header_row)
    schema = None
    if header is None:
        seen: dict[str, None] = {}
        for row in iter_rows(options.input):
            if row.data is not None:
                seen.update(dict.fromkeys(row.data))
        header = list(seen)
    elif file_format(options.input) == "parquet":
        schema = open_parquet(options.input).schema_arrow
    return header, schema


def check_columns(options: ScoreOptions, header: list[str]) -> None:
    is_jsonl = file_format(options.input) == "jsonl"
    for flag, column in (
        ("--text-col", options.text_col),
        ("--id-col", options.id_col),
        ("--group-col", options.group_col),
        ("--wave-col", options.wave_col),
    ):
        if column and column not in header and not (is_jsonl and not header):
            hint = ""
            if file_format(options.input) == "xlsx" and options.sheet is None:
                sheets = sheets_with_column(options.input, column, options.header_row)
                if sheets and len(sheets[0]) <= 31 and sheets[0].isprintable():
                    hint = f"; sheet '{sheets[0]}' has it: add --sheet '{sheets[0]}'"
            described = describe_columns(options.input, header)
            raise InputError(options.input, f"has no column '{shown_name(column)}' ({flag}; {described}{hint})")
    if clash := sorted(set(header) & set(ADDED_COLUMNS)):
        raise InputError(
            options.input,
            f"already has column(s) {', '.join(clash)}, which score adds (expected an unscored file; rename them)",
        )


def estimate_rows(options: ScoreOptions) -> int | None:
    """A quick row count for the progress bar's ETA: Parquet metadata, else newlines (an upper bound for CSV with
    line breaks inside comments)."""
    kind = file_format(options.input)
    if kind == "parquet":
        return int(open_parquet(options.input).metadata.num_rows)
    if kind == "xlsx":
        return None
    count = 0
    with options.input.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
    return max(count - (1 if kind in ("csv", "tsv") else 0), 0)


def build_records(
    prepared: list[Prepared],
    predictions: dict[int, Prediction],
    options: ScoreOptions,
    version: str,
    org: Organisation | None = None,
) -> list[dict[str, Any]]:
    records = []
    for position, item in enumerate(prepared):
        record: dict[str, Any] = dict(item.row.data or {})
        about = about_of(item, options, org)  # from the row as read, not the (redacted) output text
        if item.output_text is not None or options.text_col in record:
            record[options.text_col] = item.output_text if item.status == "ok" else record.get(options.text_col)
        record.update(added_values(item, predictions.get(position), version, about))
        records.append(record)
    return records


def count_statuses(summary: ScoreSummary, prepared: list[Prepared]) -> None:
    for item in prepared:
        summary.rows += 1
        if item.status == "ok":
            summary.ok += 1
        elif item.status == "empty":
            summary.empty += 1
        else:
            summary.errors += 1
        key = item.status.split(":", 1)[0]
        summary.statuses[key] = summary.statuses.get(key, 0) + 1


def chunk_work(prepared: list[Prepared], positions: list[int], options: ScoreOptions) -> tuple[list[str], list[bool]]:
    """The texts of a chunk to score, and which of them get evidence."""
    texts = [prepared[position].text or "" for position in positions]
    return texts, [options.wants_evidence(prepared[position].row.line) for position in positions]


def input_chunks(options: ScoreOptions) -> Iterator[tuple[int, list[Prepared]]]:
    rows = iter_rows(options.input, encoding=options.encoding, sheet=options.sheet, header_row=options.header_row)
    for index, chunk in enumerate(_chunks(rows, options.chunk_rows)):
        yield index, [prepare(row, options) for row in chunk]
