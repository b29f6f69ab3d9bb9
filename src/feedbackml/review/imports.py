"""Labels back from a labelling tool into the corpus schema, every problem as ``FILE:LINE: error: …``.

Reads what each tool exports: Label Studio's JSON export (tasks with ``annotations``), Argilla v2 records
(``Record.to_dict`` / ``records.to_list(flatten=False)``, with ``responses``) and the CSV of ``review export``
filled in a spreadsheet. Every record goes through the corpus parser, so the same rules (and Chinese label
names) apply as to ``data validate``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from feedbackml.data.records import Columns, LabelledRecord, Problem, parse_record
from feedbackml.io import InputError, Row, iter_rows, write_jsonl
from feedbackml.review.tasks import NO_BARRIER

SourceFormat = Literal["auto", "label-studio", "argilla", "csv"]
_COLUMNS = Columns()


@dataclass
class ImportResult:
    records: list[LabelledRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unlabelled: int = 0  # tasks nobody answered (or only cancelled / discarded): skipped, not an error


def json_items(path: Path) -> Iterator[tuple[int, Any]]:
    """The elements of a top-level JSON array with the line each starts on (json alone gives no positions)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, f"is not UTF-8 text (byte {error.start}; expected a JSON export)") from None
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip())
    if not text[position : position + 1] == "[":
        raise InputError(path, "is not a JSON array (expected the list of tasks or records the tool exported)")
    position += 1
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text):
            raise InputError(path, "ends inside the array (expected a closing ']')", line=text.count("\n") + 1)
        if text[position] == "]":
            return
        line = text.count("\n", 0, position) + 1
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise InputError(path, f"is not valid JSON ({error.msg})", line=error.lineno) from None
        yield line, item


def _answer(record_data: dict[str, Any], barriers: list[str] | None, causes: list[str], sentiment: Any) -> None:
    """Fill the corpus fields; ``none`` alone means no barrier (left for the parser to reject when mixed)."""
    if barriers is not None:
        record_data["barriers"] = [] if barriers == [NO_BARRIER] else barriers
    record_data["causes"] = causes
    if sentiment is not None:
        record_data["sentiment"] = sentiment


def _checked(path: Path, line: int, data: dict[str, Any], result: ImportResult) -> None:
    if NO_BARRIER in data.get("barriers", []):
        result.problems.append(
            Problem(str(path), line, "error", f"field 'barriers' has '{NO_BARRIER}' beside a barrier (expected one)")
        )
        return
    record, problems = parse_record(Row(str(path), line, data), _COLUMNS)
    result.problems.extend(problems)
    if record is not None:
        result.records.append(record)


def _label_studio(path: Path, items: list[tuple[int, Any]], id_prefix: str, result: ImportResult) -> None:
    for line, task in items:
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            result.problems.append(Problem(str(path), line, "error", "is not a task (expected an object with 'data')"))
            continue
        done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        if not done:
            result.unlabelled += 1
            continue
        truth = [a for a in done if a.get("ground_truth")]
        chosen = (truth or sorted(done, key=lambda a: str(a.get("updated_at") or a.get("created_at") or "")))[-1]
        answers: dict[str, list[str]] = {}
        for item in chosen.get("result") or []:
            if isinstance(item, dict) and item.get("type") == "choices":
                answers[str(item.get("from_name"))] = list((item.get("value") or {}).get("choices") or [])
        data = _base(task["data"].get("feedback_id", task.get("id")), task["data"], id_prefix)
        sentiment = answers.get("sentiment", [None])
        _answer(data, answers.get("barriers"), answers.get("causes", []), sentiment[0] if len(sentiment) == 1 else None)
        _checked(path, line, data, result)


def _base(identifier: Any, fields: dict[str, Any], id_prefix: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": f"{id_prefix}{identifier}", "text": fields.get("text")}
    if isinstance(fields.get("department"), str):
        data["department"] = fields["department"]
    return data


def _argilla(path: Path, items: list[tuple[int, Any]], id_prefix: str, result: ImportResult) -> None:
    for line, record in items:
        if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
            result.problems.append(Problem(str(path), line, "error", "is not a record (expected 'fields')"))
            continue
        answers: dict[str, Any] = {}
        for question, responses in (record.get("responses") or {}).items():
            values = [
                r.get("value")
                for r in responses or []
                if isinstance(r, dict) and r.get("status", "submitted") == "submitted"
            ]
            distinct = {json.dumps(value, sort_keys=True) for value in values}
            if len(distinct) > 1:
                result.problems.append(
                    Problem(
                        str(path),
                        line,
                        "error",
                        f"responses to '{question}' disagree (expected one answer; adjudicate in Argilla first)",
                    )
                )
                break
            if values:
                answers[question] = values[0]
        else:
            if not answers:
                result.unlabelled += 1
                continue
            fields = {**record["fields"], **(record.get("metadata") or {})}
            data = _base(record.get("id"), fields, id_prefix)
            barriers = answers.get("barriers")
            _answer(
                data,
                barriers if barriers is None else list(barriers),
                list(answers.get("causes") or []),
                answers.get("sentiment"),
            )
            _checked(path, line, data, result)


def _csv(path: Path, id_prefix: str, result: ImportResult) -> None:
    for row in iter_rows(path):
        if row.data is None:
            result.problems.append(Problem(row.path, row.line, "error", row.problem or "is unreadable"))
            continue
        cells = {key: (value.strip() if isinstance(value, str) else value) for key, value in row.data.items()}
        if not cells.get("sentiment"):
            result.unlabelled += 1
            continue
        data = _base(cells.get("id"), cells, id_prefix)
        if not cells.get("barriers"):
            result.problems.append(
                Problem(row.path, row.line, "error", f"field 'barriers' is empty (expected '{NO_BARRIER}' or barriers)")
            )
            continue
        split = [part.strip() for part in str(cells["barriers"]).split("|") if part.strip()]
        causes = [part.strip() for part in str(cells.get("causes") or "").split("|") if part.strip()]
        _answer(data, split, causes, cells["sentiment"])
        _checked(Path(row.path), row.line, data, result)


def detect_format(path: Path, items: list[tuple[int, Any]] | None = None) -> str:
    """csv by suffix; for JSON, the first element (of ``items`` when already read) says which tool wrote it."""
    if path.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    for _, item in items if items is not None else json_items(path):
        if isinstance(item, dict) and "fields" in item:
            return "argilla"
        if isinstance(item, dict) and "data" in item:
            return "label-studio"
        break
    raise InputError(path, "is neither a Label Studio nor an Argilla export (expected --format to say which)")


def import_labels(
    export: str | os.PathLike[str], *, source_format: SourceFormat = "auto", id_prefix: str = ""
) -> ImportResult:
    """Parse a tool's export into corpus records; problems are collected, not raised. The file is read once."""
    path = Path(export)
    if not path.is_file():
        raise InputError(path, "no such file")
    result = ImportResult()
    if source_format == "csv" or (source_format == "auto" and path.suffix.lower() in (".csv", ".tsv")):
        _csv(path, id_prefix, result)
        return result
    items = list(json_items(path))
    kind = detect_format(path, items) if source_format == "auto" else source_format
    (_argilla if kind == "argilla" else _label_studio)(path, items, id_prefix, result)
    return result


def write_records(result: ImportResult, out: str | os.PathLike[str]) -> int:
    return write_jsonl(out, (record.to_json() for record in result.records))
