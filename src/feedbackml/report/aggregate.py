"""One streaming pass over a scored file into per (group, wave) cell tallies, evidence-word counters and a
bounded pool of sample comments.

Everything the report shows is a sum of cells, so privacy can be decided per cell afterwards and only the
cells that stay visible feed words and samples. Memory depends on the number of cells, never on the rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedbackml.io import InputError, Row, describe_columns, file_format, iter_rows, read_header, shown_name
from feedbackml.labels import BARRIER_OF_CAUSE, BARRIERS, CAUSES, SENTIMENTS
from feedbackml.report.samples import Pool, Sample, clean, dedup_key, offer, spread_rank, uncertainty
from feedbackml.report.tally import EXPECTED, Scored, Tally, total

__all__ = ["BLANK", "SCORED_COLUMNS", "Aggregates", "Cell", "Pair", "Sample", "Tally", "collect", "dedup_key", "total"]

BLANK = "(blank)"
STATUSES = ("ok", "empty", "error")
# Columns 'feedbackml score' appends that the report reads (the sentiment probabilities it does not need).
SCORED_COLUMNS: tuple[str, ...] = (
    "status",
    "barriers",
    *(f"p_{label}" for label in BARRIERS),
    "sentiment",
    "needs_review",
    "evidence",
    "model_version",
)
_MAX_SHOWN_VALUE = 20  # longer cell values may be comment text: never echo them
_MAX_MODEL_VERSIONS = 20
_POOL_TEXT_CHARS = 1000
_MAX_DEPARTMENT_CHARS = 40  # a sample is shown shortened; keep enough that redaction sees whole numbers

# Columns read when present: files of older versions, or of models without causes, lack them.
OPTIONAL_COLUMNS: tuple[str, ...] = ("causes", "about", "p_negative", *(f"p_{cause}" for cause in CAUSES))

Cell = tuple[str, str]  # (group, wave)
Pair = tuple[str, str, str]  # (writer's group, the department the comment is about, wave)


@dataclass
class Aggregates:
    """What the pass over the file collected."""

    path: str
    cells: dict[Cell, Tally] = field(default_factory=dict)
    # per cell, per barrier: in how many comments each word was evidence for that barrier
    words: dict[Cell, list[Counter[str]]] = field(default_factory=dict)
    cause_words: dict[Cell, list[Counter[str]]] = field(default_factory=dict)  # the same per cause
    # per cell, per barrier: min-heap of (probability, -line, Sample) holding the most probable comments
    pools: dict[Cell, list[Pool]] = field(default_factory=dict)
    # per cell, per cause: the same for comments carrying that cause
    cause_pools: dict[Cell, list[Pool]] = field(default_factory=dict)
    # the internal-customer map: one tally per (writer's group, about department, wave)
    pairs: dict[Pair, Tally] = field(default_factory=dict)
    # per (writer's group, about department): a reproducible spread of its comments, for drill-down
    pair_pools: dict[tuple[str, str], Pool] = field(default_factory=dict)
    # per cell: the flagged (needs_review) comments closest to a coin flip
    review_pools: dict[Cell, Pool] = field(default_factory=dict)
    model_versions: Counter[str] = field(default_factory=Counter)
    words_pruned: bool = False
    has_causes: bool = False  # the file has the causes column (a model with a cause head scored it)
    wave_sequence: list[str] = field(default_factory=list)  # surveys given as files, in the order given
    has_about: bool = False


def _short(value: Any) -> str:
    text = str(value)
    return f"'{text}'" if len(text) <= _MAX_SHOWN_VALUE and text.isprintable() else "a value"


def check_columns(
    path: str | os.PathLike[str],
    needed: list[str],
    *,
    encoding: str,
    sheet: str | None,
    header_row: int,
) -> None:
    """Fail before the pass when a flat file's header lacks a column (JSONL is checked row by row)."""
    header = read_header(path, encoding=encoding, sheet=sheet, header_row=header_row)
    if header is None:
        return
    missing = [name for name in needed if name not in header]
    if missing:
        raise InputError(path, _missing_message(missing, describe_columns(path, header)))


def _missing_message(missing: list[str], described: str) -> str:
    names = ", ".join(f"'{shown_name(name)}'" for name in missing)
    return f"has no column {names} (expected the output of 'feedbackml score' with the columns you named; {described})"


class Collector:
    """Feeds rows into ``Aggregates``; bounded by cells x barriers x (samples + word cap)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        text_col: str,
        group_col: str | None,
        wave_col: str | None,
        samples_per_barrier: int,
        word_cap: int = 4000,
    ) -> None:
        self.path = str(path)
        self.text_col = text_col
        self.group_col = group_col
        self.wave_col = wave_col
        self.samples = samples_per_barrier
        self.word_cap = word_cap
        self.needed = [text_col, *SCORED_COLUMNS] + [name for name in (group_col, wave_col) if name]
        self.result = Aggregates(self.path)
        self.file_wave = ""  # the wave of every row of the file being read, when each file is one survey

    def _fail(self, row: Row, message: str) -> InputError:
        return InputError(self.path, message, line=row.line)

    def add(self, row: Row) -> None:
        if row.problem is not None or row.data is None:
            raise self._fail(row, row.problem or "cannot be read")
        data = row.data
        status = self._status(row, data.get("status"), "status" in data)
        # A row score could not read may lack its input fields; it still counts, in the "(blank)" group.
        missing = [name for name in self.needed if name not in data] if status == "ok" else []
        if missing:
            raise self._fail(row, _missing_message(missing, "this record lacks it"))
        group = _key(data.get(self.group_col)) if self.group_col else ""
        wave = _key(data.get(self.wave_col)) if self.wave_col else self.file_wave
        cell = (group, wave)
        tally = self.result.cells.get(cell)
        if tally is None:
            tally = self.result.cells[cell] = Tally()
        if status != "ok":
            tally.n += 1
            tally.empty += status == "empty"
            tally.error += status == "error"
            return
        barriers = self._barriers(row, data["barriers"])
        probabilities = [self._probability(row, data, f"p_{label}") for label in BARRIERS]
        sentiment = self._label(row, data["sentiment"], "sentiment", SENTIMENTS)
        review = self._boolean(row, data["needs_review"], "needs_review")
        evidence = self._evidence(row, data["evidence"])
        causes = self._causes(row, data.get("causes")) if "causes" in data else []
        about = self._about(data.get("about"), group) if "about" in data else []
        self.result.has_causes |= "causes" in data
        self.result.has_about |= "about" in data
        extra = [self._optional_probability(row, data, f"p_{key}") for key in EXPECTED[len(BARRIERS) :]]
        # a cause's probability is conditional on its barrier (the head learns causes under a present barrier):
        # the chance that the comment carries the cause is the product
        for offset, cause in enumerate(CAUSES, start=1):
            if extra[offset] is not None:
                extra[offset] = extra[offset] * probabilities[BARRIERS.index(BARRIER_OF_CAUSE[cause])]  # type: ignore[operator]
        version = data["model_version"]
        if version not in (None, ""):
            self._model_version(str(version))
        scored = Scored(tuple(barriers), sentiment, review, tuple(causes), (*probabilities, *extra))
        tally.record(scored)
        for department in about:
            key = (group, department, wave)
            pair = self.result.pairs.get(key)
            if pair is None:
                pair = self.result.pairs[key] = Tally()
            pair.record(scored)
        self._collect_words(self.result.words, BARRIERS, cell, barriers, evidence)
        self._collect_words(self.result.cause_words, CAUSES, cell, causes, evidence)
        text = clean(data[self.text_col]) if data[self.text_col] is not None else ""
        if not text:
            return
        for store, labels, ranks in (
            (self.result.pools, barriers, probabilities),
            (self.result.cause_pools, causes, [p if p is not None else 0.0 for p in extra[1:]]),
        ):
            if labels:
                pools = store.setdefault(cell, [[] for _ in ranks])
                for index in labels:
                    offer(pools[index], ranks[index], row.line, text, self.samples)
        for department in about:
            pool = self.result.pair_pools.setdefault((group, department), [])
            offer(pool, spread_rank(text), row.line, text, self.samples, shown=extra[0] or 0.0)
        if review:
            pool = self.result.review_pools.setdefault(cell, [])
            offer(pool, uncertainty(probabilities), row.line, text, self.samples * 4)

    # --- values ----------------------------------------------------------------------------------------

    def _status(self, row: Row, value: Any, present: bool) -> str:
        if not present:
            raise self._fail(row, _missing_message(["status"], "this record lacks it"))
        text = value.strip() if isinstance(value, str) else ""
        if text in ("ok", "empty"):
            return text
        if text.startswith("error"):
            return "error"
        raise self._fail(row, f"column 'status' holds {_short(value)} (expected ok, empty or 'error: …')")

    def _barriers(self, row: Row, value: Any) -> list[int]:
        if value is None:
            names: list[str] = []
        elif isinstance(value, str):
            names = [name.strip() for name in value.split("|") if name.strip()]
        elif isinstance(value, list) and all(isinstance(name, str) for name in value):
            names = value
        else:
            raise self._fail(row, "column 'barriers' is not text (expected labels joined by '|')")
        indices = []
        for name in names:
            if name not in BARRIERS:
                raise self._fail(
                    row, f"column 'barriers' holds {_short(name)} (expected labels from {', '.join(BARRIERS)})"
                )
            indices.append(BARRIERS.index(name))
        return sorted(set(indices))

    def _causes(self, row: Row, value: Any) -> list[int]:
        names = [name.strip() for name in value.split("|") if name.strip()] if isinstance(value, str) else value
        if value is None:
            names = []
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise self._fail(row, "column 'causes' is not text (expected cause codes joined by '|')")
        indices = set()
        for name in names:
            if name not in CAUSES:
                raise self._fail(row, f"column 'causes' holds {_short(name)} (expected codes of labels.md §3)")
            indices.add(CAUSES.index(name))
        return sorted(indices)

    def _about(self, value: Any, group: str) -> list[str]:
        """Departments named; the writer's own group is never its own target (score already drops it)."""
        if isinstance(value, list):
            names = [str(name) for name in value]
        elif isinstance(value, str):
            names = value.split("|")
        else:
            names = []
        found: list[str] = []
        for name in names:
            name = name.strip()
            if name and name != group and name not in found:
                found.append(name[:_MAX_DEPARTMENT_CHARS])
        return found

    def _optional_probability(self, row: Row, data: dict[str, Any], column: str) -> float | None:
        value = data.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self._probability(row, data, column)

    def _probability(self, row: Row, data: dict[str, Any], column: str) -> float:
        value = data[column]
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not 0.0 <= number <= 1.0:  # also rejects NaN
            raise self._fail(row, f"column '{column}' holds {_short(value)} (expected a probability from 0 to 1)")
        return number

    def _label(self, row: Row, value: Any, column: str, allowed: tuple[str, ...]) -> int:
        text = value.strip() if isinstance(value, str) else value
        if text not in allowed:
            raise self._fail(row, f"column '{column}' holds {_short(value)} (expected one of {', '.join(allowed)})")
        return allowed.index(text)

    def _boolean(self, row: Row, value: Any, column: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self._fail(row, f"column '{column}' holds {_short(value)} (expected true or false)")

    def _evidence(self, row: Row, value: Any) -> list[tuple[str, str]]:
        """(word, label) pairs for barriers and causes; evidence for the sentiment is not used by the report."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return []
        items = value
        if isinstance(value, str):
            try:
                items = json.loads(value)
            except json.JSONDecodeError:
                items = None
        expected = 'a JSON list of {"word", "start", "end", "label", "weight"}'
        if not isinstance(items, list):
            raise self._fail(row, f"column 'evidence' is not valid (expected {expected})")
        found = []
        for item in items:
            if not (
                isinstance(item, dict) and isinstance(item.get("word"), str) and isinstance(item.get("label"), str)
            ):
                raise self._fail(row, f"column 'evidence' has an item without word and label (expected {expected})")
            if item["label"] in BARRIERS or item["label"] in CAUSES:
                found.append((item["word"], item["label"]))
        return found

    def _model_version(self, version: str) -> None:
        versions = self.result.model_versions
        if version in versions or len(versions) < _MAX_MODEL_VERSIONS:
            versions[version] += 1

    # --- bounded collections ----------------------------------------------------------------------------

    def _collect_words(
        self,
        store: dict[Cell, list[Counter[str]]],
        names: tuple[str, ...],
        cell: Cell,
        predicted: list[int],
        evidence: list[tuple[str, str]],
    ) -> None:
        """Count, per label of ``names`` predicted for the comment, the words that were its evidence."""
        pairs = {(word, names.index(label)) for word, label in evidence if label in names}
        if not pairs:
            return
        counters = store.get(cell)
        if counters is None:
            counters = store[cell] = [Counter() for _ in names]
        for word, index in pairs:  # a word counts once per comment and label
            if index not in predicted:
                continue
            counter = counters[index]
            counter[word] += 1
            if len(counter) > self.word_cap:
                # Keep the frequent half: top words stay exact in practice, the long tail is dropped.
                kept = counter.most_common(self.word_cap // 2)
                counter.clear()
                counter.update(dict(kept))
                self.result.words_pruned = True


def _key(value: Any) -> str:
    """A group or wave name; blank cells form their own group. A date (an Excel date cell, or its text as a CSV
    export writes it, with a midnight time) is its day: 2024-12-31, not 2024-12-31T00:00:00."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return BLANK
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    midnight = _MIDNIGHT.fullmatch(text)
    return (midnight.group(1) if midnight else text) or BLANK


_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]00:00(?::00(?:\.0+)?)?")


def survey_labels(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """One wave name per file when each file is one survey: the file name without its suffix (the whole name
    when two files share a stem); refuses two files of the same name."""
    stems = [Path(path).stem for path in paths]
    labels = [Path(path).name if stems.count(stem) > 1 else stem for path, stem in zip(paths, stems, strict=True)]
    for path, label in zip(paths, labels, strict=True):
        if labels.count(label) > 1:
            raise InputError(path, f"has the same name as another scored file (expected one name per survey: {label})")
    return labels


def collect(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    text_col: str,
    group_col: str | None,
    wave_col: str | None,
    samples_per_barrier: int,
    encoding: str = "utf-8",
    sheet: str | None = None,
    header_row: int = 1,
) -> Aggregates:
    """Read the scored files once each and return their aggregates; raises InputError naming file, line and
    column. Several files without ``wave_col`` are several surveys: each is a wave, in the order given."""
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    collector = Collector(
        files[0], text_col=text_col, group_col=group_col, wave_col=wave_col, samples_per_barrier=samples_per_barrier
    )
    labels = survey_labels(files) if len(files) > 1 and wave_col is None else [""] * len(files)
    for path in files:
        file_format(path)
        if not Path(path).is_file():
            raise InputError(path, "no such file")
        check_columns(path, collector.needed, encoding=encoding, sheet=sheet, header_row=header_row)
    collector.result.wave_sequence = [label for label in labels if label]
    for path, label in zip(files, labels, strict=True):
        collector.path, collector.file_wave = str(path), label
        for row in iter_rows(path, encoding=encoding, sheet=sheet, header_row=header_row):
            collector.add(row)
    return collector.result
