"""Labelling tasks from a scored file: the most uncertain comments, with the model's labels as pre-annotations.

Three formats, each as its tool documents it: Label Studio tasks (``data`` + ``predictions`` with ``choices``
results, and the labelling config they refer to), Argilla v2 records (``fields``, ``metadata``, ``suggestions``,
as ``argilla.Record.to_dict`` writes them) and a flat CSV for a spreadsheet.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

from feedbackml.io import InputError, Row, atomic_path, iter_rows, read_header, shown_name
from feedbackml.labels import BARRIER_NAMES_ZH, BARRIERS, CAUSE_NAMES_ZH, CAUSES, SENTIMENT_NAMES_ZH, SENTIMENTS
from feedbackml.text import redact

TaskFormat = Literal["label-studio", "argilla", "csv"]
TASK_FORMATS: tuple[str, ...] = ("label-studio", "argilla", "csv")
# A labelling tool cannot tell "no barrier" from "not answered" in an empty multi-choice: the labeller picks this.
NO_BARRIER = "none"
BARRIER_CHOICES: tuple[str, ...] = (*BARRIERS, NO_BARRIER)
QUESTIONS = ("barriers", "causes", "sentiment")
CSV_COLUMNS = (
    "id",
    "text",
    "barriers",
    "causes",
    "sentiment",
    "predicted_barriers",
    "predicted_causes",
    "predicted_sentiment",
    "uncertainty",
    "model_version",
    "source_line",
)
_NEEDED = ("status", "barriers", "causes", "sentiment", "uncertainty", "model_version", "source_line")


@dataclass(frozen=True)
class Candidate:
    """One scored comment that may become a task."""

    id: str
    text: str
    barriers: tuple[str, ...]
    causes: tuple[str, ...]
    sentiment: str
    probabilities: dict[str, float]
    uncertainty: float
    model_version: str
    source_line: int
    department: str | None


def _split(cell: Any) -> tuple[str, ...]:
    return tuple(part for part in str(cell or "").split("|") if part)


def _number(row: Row, column: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(row.path, f"column '{column}' is not a number (expected one)", line=row.line) from None


def read_candidates(
    path: str | os.PathLike[str], *, text_col: str, id_col: str | None = None, group_col: str | None = None
) -> list[Candidate]:
    """The rows of a scored file that the model answered (status ok); others (empty, unreadable) are skipped."""
    header = read_header(path)
    if header is not None:
        for column in (text_col, *_NEEDED, *(c for c in (id_col, group_col) if c)):
            if column not in header:
                raise InputError(
                    path,
                    f"has no column '{shown_name(column)}' (expected a file written by 'feedbackml score'; --text-col "
                    "names the comment column)",
                )
    found = []
    for row in iter_rows(path):
        if row.data is None:
            raise InputError(row.path, row.problem or "is unreadable", line=row.line)
        data = row.data
        if str(data.get("status", "")) != "ok":
            continue
        text = data.get(text_col)
        if not isinstance(text, str) or not text.strip():
            raise InputError(row.path, f"column '{text_col}' is empty (expected the comment text)", line=row.line)
        line = int(_number(row, "source_line", data.get("source_line")))
        found.append(
            Candidate(
                id=str(data[id_col]) if id_col else f"line-{line}",
                text=text,
                barriers=_split(data.get("barriers")),
                causes=_split(data.get("causes")),
                sentiment=str(data.get("sentiment")),
                probabilities={
                    key[2:]: _number(row, key, value)
                    for key, value in data.items()
                    if key.startswith("p_") and value not in (None, "")
                },
                uncertainty=_number(row, "uncertainty", data.get("uncertainty")),
                model_version=str(data.get("model_version")),
                source_line=line,
                department=str(data[group_col]) if group_col and data.get(group_col) not in (None, "") else None,
            )
        )
    return found


def most_uncertain(candidates: list[Candidate], top: int) -> list[Candidate]:
    """The ``top`` highest uncertainty scores, ties in file order."""
    order = sorted(range(len(candidates)), key=lambda index: (-candidates[index].uncertainty, index))
    return [candidates[index] for index in order[:top]]


def _barrier_answer(candidate: Candidate) -> list[str]:
    return list(candidate.barriers) or [NO_BARRIER]


def label_studio_task(candidate: Candidate, text: str) -> dict[str, Any]:
    """A Label Studio task: the comment in ``data``, the model's labels as a prediction (pre-annotation)."""

    def choices(name: str, values: list[str]) -> dict[str, Any]:
        return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": values}}

    result = [choices("barriers", _barrier_answer(candidate)), choices("sentiment", [candidate.sentiment])]
    if candidate.causes:
        result.insert(1, choices("causes", list(candidate.causes)))
    data: dict[str, Any] = {
        "text": text,
        "feedback_id": candidate.id,
        "source_line": candidate.source_line,
        "uncertainty": candidate.uncertainty,
    }
    if candidate.department is not None:
        data["department"] = candidate.department
    return {
        "data": data,
        "predictions": [
            {"model_version": candidate.model_version, "score": round(1.0 - candidate.uncertainty, 4), "result": result}
        ],
    }


def label_studio_config() -> str:
    """The labelling interface the tasks refer to (paste it under Settings → Labeling Interface)."""

    def choice(code: str, name: str) -> str:
        return f"    <Choice value={quoteattr(code)} hint={quoteattr(name)}/>"

    barrier_names = {**BARRIER_NAMES_ZH, NO_BARRIER: "无障碍"}
    return "\n".join(
        [
            "<View>",
            '  <Text name="text" value="$text"/>',
            '  <Header value="Barriers 障碍 (none = 无障碍)"/>',
            '  <Choices name="barriers" toName="text" choice="multiple" required="true">',
            *(choice(code, barrier_names[code]) for code in BARRIER_CHOICES),
            "  </Choices>",
            '  <Header value="Causes 原因 (at least one under each barrier)"/>',
            '  <Choices name="causes" toName="text" choice="multiple">',
            *(choice(code, CAUSE_NAMES_ZH[code]) for code in CAUSES),
            "  </Choices>",
            '  <Header value="Sentiment 情感"/>',
            '  <Choices name="sentiment" toName="text" choice="single" required="true">',
            *(choice(code, SENTIMENT_NAMES_ZH[code]) for code in SENTIMENTS),
            "  </Choices>",
            "</View>",
            "",
        ]
    )


def _barrier_score(probabilities: dict[str, float], code: str) -> float:
    if code == NO_BARRIER:
        return round(1.0 - max(probabilities.get(barrier, 0.0) for barrier in BARRIERS), 4)
    return probabilities[code]


def argilla_record(candidate: Candidate, text: str) -> dict[str, Any]:
    """An Argilla v2 record as ``argilla.Record.to_dict`` writes it (``Record.from_dict`` reads it back)."""
    probabilities = candidate.probabilities
    barriers = _barrier_answer(candidate)
    suggestions: dict[str, Any] = {
        "barriers": {
            "value": barriers,
            "score": [_barrier_score(probabilities, code) for code in barriers],
            "agent": candidate.model_version,
        },
        "sentiment": {
            "value": candidate.sentiment,
            "score": probabilities.get(candidate.sentiment),
            "agent": candidate.model_version,
        },
    }
    if candidate.causes:
        suggestions["causes"] = {
            "value": list(candidate.causes),
            # a model without a cause head leaves p_<cause> blank: no score then (Argilla wants all or none)
            "score": [probabilities[code] for code in candidate.causes]
            if all(code in probabilities for code in candidate.causes)
            else None,
            "agent": candidate.model_version,
        }
    metadata: dict[str, Any] = {"uncertainty": candidate.uncertainty, "source_line": candidate.source_line}
    if candidate.department is not None:
        metadata["department"] = candidate.department
    return {"id": candidate.id, "fields": {"text": text}, "metadata": metadata, "suggestions": suggestions}


def argilla_settings() -> dict[str, Any]:
    """The dataset the records fit: what ``argilla.Settings`` needs (see the README's snippet)."""
    return {
        "fields": [{"name": "text", "type": "text"}],
        "questions": [
            {"name": "barriers", "type": "multi_label_selection", "labels": list(BARRIER_CHOICES), "required": True},
            {"name": "causes", "type": "multi_label_selection", "labels": list(CAUSES), "required": False},
            {"name": "sentiment", "type": "label_selection", "labels": list(SENTIMENTS), "required": True},
        ],
        "metadata": [
            {"name": "uncertainty", "type": "float"},
            {"name": "source_line", "type": "integer"},
            {"name": "department", "type": "terms"},
        ],
    }


def export_tasks(
    scored: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    task_format: TaskFormat,
    top: int,
    text_col: str = "text",
    id_col: str | None = None,
    group_col: str | None = None,
    redact_text: bool = False,
) -> list[Path]:
    """Write the ``top`` most uncertain answered comments of ``scored`` as tasks; returns the files written (the
    tasks, and for the two tools the setup file beside them). Refuses to overwrite the scored file."""
    if task_format not in TASK_FORMATS:
        raise ValueError(f"format must be one of {', '.join(TASK_FORMATS)}")
    out = Path(out)
    if out.resolve() == Path(scored).resolve():
        raise InputError(out, "is the scored file itself (expected a new file for the tasks)")
    chosen = most_uncertain(read_candidates(scored, text_col=text_col, id_col=id_col, group_col=group_col), top)
    texts = [redact(candidate.text) if redact_text else candidate.text for candidate in chosen]
    written = [out]
    if task_format == "csv":
        with atomic_path(out) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            for candidate, text in zip(chosen, texts, strict=True):
                writer.writerow(
                    [
                        candidate.id,
                        text,
                        "",
                        "",
                        "",
                        "|".join(_barrier_answer(candidate)),
                        "|".join(candidate.causes),
                        candidate.sentiment,
                        candidate.uncertainty,
                        candidate.model_version,
                        candidate.source_line,
                    ]
                )
        return written
    if task_format == "label-studio":
        payload: list[dict[str, Any]] = [label_studio_task(c, t) for c, t in zip(chosen, texts, strict=True)]
        setup, setup_text = out.with_suffix(".label-config.xml"), label_studio_config()
    else:
        payload = [argilla_record(c, t) for c, t in zip(chosen, texts, strict=True)]
        setup, setup_text = out.with_suffix(".argilla-settings.json"), json.dumps(argilla_settings(), indent=2) + "\n"
    with atomic_path(out) as temporary:
        temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    with atomic_path(setup) as temporary:
        temporary.write_text(setup_text, encoding="utf-8")
    return [*written, setup]
